"""Tasks and schedules on the memory broker: delay, idempotency keys, fire times, guards."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import math
import time
from typing import Any

import pytest

from svcgen_runtime import Application, InboundMessage, MemoryBroker, RetryPolicy
from svcgen_runtime.errors import ConfigurationError
from svcgen_runtime.idempotency import MemoryIdempotency
from svcgen_runtime.schedules import FIRE_HEADER, SCHEDULE_HEADER, Schedule, guard_runs
from svcgen_runtime.tasks import Task, task_worker
from svcgen_runtime.testing import run_service


def encode(args: dict[str, Any]) -> bytes:
    return json.dumps(args).encode()


def build(
    handler: Any, *, broker: MemoryBroker | None = None, **worker_kw: Any
) -> tuple[Application, Task[dict[str, Any]], MemoryBroker]:
    broker = broker or MemoryBroker("jobs")
    task: Task[dict[str, Any]] = Task(
        name="send_receipt",
        broker=broker,
        encode=encode,
        idempotency=MemoryIdempotency(),
    )
    worker_kw.setdefault("retry", RetryPolicy(max_attempts=3, initial=0.01, max=0.02))
    worker = task_worker(
        name="send_receipt",
        broker=broker,
        handler=handler,
        decode=json.loads,
        **worker_kw,
    )
    app = Application(
        name="t", brokers=[broker], consumers=[worker], handle_signals=False
    )
    return app, task, broker


async def test_enqueue_runs_the_worker_with_typed_args() -> None:
    got: list[dict[str, Any]] = []

    async def handle(args: dict[str, Any], msg: InboundMessage) -> None:
        got.append(args)
        assert msg.source == "tasks.send_receipt"

    app, task, _ = build(handle)
    async with run_service(app) as svc:
        assert await task.enqueue({"order": 1}) is True
        await svc.wait_idle()
    assert got == [{"order": 1}]


async def test_delay_is_honoured_and_the_wait_is_not_an_attempt() -> None:
    runs: list[float] = []

    async def handle(args: dict[str, Any], msg: InboundMessage) -> None:
        runs.append(time.monotonic())
        raise RuntimeError("always fails")

    app, task, broker = build(handle)
    async with run_service(app) as svc:
        t0 = time.monotonic()
        await task.enqueue({"order": 2}, delay=0.3)
        await svc.wait_idle()
        dead = svc.dead_letters("jobs", "tasks.send_receipt.dlq")
    assert len(runs) == 3  # max_attempts handler runs, the deferral not counted
    assert runs[0] - t0 >= 0.3
    assert svc.stats("send_receipt").deferred == 1
    # handler attempts: the early delivery that waited for the due time is not one
    assert dead[0].headers["x-svcgen-attempts"] == "3"
    assert broker.pending("tasks.send_receipt") == 0


async def test_repeated_key_within_the_window_runs_once() -> None:
    got: list[dict[str, Any]] = []

    async def handle(args: dict[str, Any], msg: InboundMessage) -> None:
        got.append(args)

    app, task, _ = build(handle)
    async with run_service(app) as svc:
        assert await task.enqueue({"n": 1}, key="order-1") is True
        assert await task.enqueue({"n": 2}, key="order-1") is False
        assert await task.enqueue({"n": 3}, key="order-2") is True
        await svc.wait_idle()
    assert sorted(a["n"] for a in got) == [1, 3]


async def test_key_without_a_store_is_a_clear_error() -> None:
    broker = MemoryBroker("jobs")
    task: Task[dict[str, Any]] = Task(name="t", broker=broker, encode=encode)
    with pytest.raises(ConfigurationError, match="no idempotency store"):
        await task.enqueue({}, key="k")


async def test_a_failed_publish_gives_the_key_back() -> None:
    broker = MemoryBroker("jobs")
    store = MemoryIdempotency()
    task: Task[dict[str, Any]] = Task(
        name="t", broker=broker, encode=encode, idempotency=store
    )

    async def refuse(*args: Any, **kw: Any) -> None:
        raise ConnectionError("down")

    broker.publish = refuse  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await task.enqueue({}, key="k")
    assert await store.claim("t:k", 60) is True


def test_every_fire_times_are_aligned_and_misfires_coalesce() -> None:
    broker = MemoryBroker("jobs")
    task: Task[dict[str, Any]] = Task(
        name="t", broker=broker, encode=encode, idempotency=MemoryIdempotency()
    )
    s = Schedule(name="tick", task=task, args=lambda when: {}, every=30)
    assert s.next_fire(1000.0) == 1020.0
    assert s.next_fire(1020.0) == 1050.0
    assert s.latest_fire(1000.0, 1019.0) is None
    assert s.latest_fire(1000.0, 1111.0) == 1110.0  # 1020..1110 missed: one fire
    assert s.key(1110.0) == "tick:1970-01-01T00:18:30+00:00"


def test_latest_fire_is_computed_back_from_now() -> None:
    task: Task[dict[str, Any]] = Task(
        name="t",
        broker=MemoryBroker("jobs"),
        encode=encode,
        idempotency=MemoryIdempotency(),
    )
    quick = Schedule(name="quick", task=task, args=lambda when: {}, every=0.25)
    month = 30 * 24 * 3600.0
    started = time.perf_counter()
    assert quick.latest_fire(1000.0, 1000.0 + month) == 1000.0 + month
    assert time.perf_counter() - started < 0.05  # not ten million steps
    hourly = Schedule(name="hourly", task=task, args=lambda when: {}, cron="0 * * * *")
    assert hourly.latest_fire(0.0, 7200.0) == 7200.0  # now is itself a fire time
    assert hourly.latest_fire(0.0, 7199.0) == 3600.0
    assert hourly.latest_fire(3600.0, 7199.0) is None


async def test_a_restart_fires_the_latest_missed_time_once() -> None:
    broker = MemoryBroker("jobs")
    store = MemoryIdempotency()  # as a shared server that outlives the service
    task: Task[dict[str, Any]] = Task(
        name="t", broker=broker, encode=encode, idempotency=store
    )
    # First start ever: nothing before the start is fired.
    s = Schedule(name="hourly", task=task, args=lambda when: {}, cron="0 * * * *")
    await s.start()
    await asyncio.sleep(0.1)
    await s.close()
    assert s.fired == 0 and broker.pending("tasks.t") == 0
    # The last fire was three hours and a half ago: the three missed ones coalesce.
    now = time.time()
    last = math.floor(now / 3600) * 3600 - 3 * 3600
    await store.raise_mark("schedule-fired:hourly", last, 3600)
    s = Schedule(name="hourly", task=task, args=lambda when: {}, cron="0 * * * *")
    await s.start()
    await asyncio.sleep(0.1)
    await s.close()
    assert s.fired == 1
    [msg] = broker.messages("tasks.t")
    fired = dt.datetime.fromisoformat(msg.headers[FIRE_HEADER]).timestamp()
    assert fired == math.floor(now / 3600) * 3600
    assert await store.mark("schedule-fired:hourly") == fired
    # Another replica starting now finds that fire done and adds nothing.
    s = Schedule(name="hourly", task=task, args=lambda when: {}, cron="0 * * * *")
    await s.start()
    await asyncio.sleep(0.1)
    await s.close()
    assert s.fired == 0 and len(broker.messages("tasks.t")) == 1


async def test_marks_only_grow_and_release_respects_the_owner() -> None:
    store = MemoryIdempotency()
    await store.raise_mark("m", 10.0, 60)
    await store.raise_mark("m", 5.0, 60)
    assert await store.mark("m") == 10.0
    assert await store.claim("lock", 60, owner="a")
    await store.release("lock", owner="b")  # not b's: kept
    assert not await store.claim("lock", 60, owner="b")
    await store.release("lock", owner="a")
    assert await store.claim("lock", 60, owner="b")


def test_cron_fire_times_follow_the_timezone() -> None:
    broker = MemoryBroker("jobs")
    task: Task[dict[str, Any]] = Task(
        name="t", broker=broker, encode=encode, idempotency=MemoryIdempotency()
    )
    s = Schedule(
        name="nightly",
        task=task,
        args=lambda when: {},
        cron="0 3 * * *",
        timezone="Europe/Berlin",
    )
    start = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC).timestamp()
    fire = dt.datetime.fromtimestamp(s.next_fire(start), dt.UTC)
    assert fire == dt.datetime(2026, 7, 2, 1, 0, tzinfo=dt.UTC)  # 03:00 CEST
    with pytest.raises(ConfigurationError, match="not a valid cron"):
        Schedule(name="bad", task=task, args=lambda when: {}, cron="61 * * * *")
    with pytest.raises(ConfigurationError, match="exactly one"):
        Schedule(name="bad", task=task, args=lambda when: {})


async def test_three_replicas_fire_each_time_exactly_once() -> None:
    broker = MemoryBroker("jobs")  # one broker and one key store: as a shared server
    store = MemoryIdempotency()
    runs: list[str] = []

    async def handle(args: dict[str, Any], msg: InboundMessage) -> None:
        runs.append(msg.headers[FIRE_HEADER])

    apps = []
    for i in range(3):
        task: Task[dict[str, Any]] = Task(
            name="tick_task", broker=broker, encode=encode, idempotency=store
        )
        sched = Schedule(
            name="tick",
            task=task,
            args=lambda when: {"at": when.isoformat()},
            every=0.2,  # a fire is skipped only if the loop stalls 0.2 s
        )
        worker = task_worker(
            name="tick_task",
            broker=broker,
            handler=handle,
            decode=json.loads,
            concurrency=2,
        )
        apps.append(
            Application(
                name=f"replica-{i}",
                brokers=[broker],
                consumers=[worker],
                components=[sched],
                handle_signals=False,
            )
        )
    tasks = [asyncio.create_task(a.serve()) for a in apps]
    await asyncio.sleep(4.6)
    for a in apps:
        a.shutdown()
    assert await asyncio.gather(*tasks) == [0, 0, 0]
    assert len(runs) >= 20
    assert len(runs) == len(set(runs))  # exactly one run per fire time
    fires = sorted(dt.datetime.fromisoformat(r).timestamp() for r in runs)
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(fires)]
    assert all(g == 0.2 for g in gaps), gaps  # and no fire time was skipped


async def test_guard_skips_a_fire_while_the_previous_run_is_going() -> None:
    store = MemoryIdempotency()
    started = asyncio.Event()
    release = asyncio.Event()
    ran: list[str] = []

    async def slow(args: dict[str, Any], msg: InboundMessage) -> None:
        ran.append(msg.headers[FIRE_HEADER])
        started.set()
        await release.wait()

    guarded = guard_runs(slow, store=store, ttl=60)

    def msg(fire: str) -> InboundMessage:
        return InboundMessage(
            id=fire,
            source="tasks.t",
            body=b"{}",
            headers={SCHEDULE_HEADER: "s", FIRE_HEADER: fire},
        )

    first = asyncio.ensure_future(guarded({}, msg("f1")))
    await started.wait()
    assert await guarded({}, msg("f2")) is None  # skipped: f1 still running
    again = asyncio.ensure_future(guarded({}, msg("f1")))  # a redelivery of f1 itself
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(first, again)
    assert ran == ["f1", "f1"]
    await guarded({}, msg("f3"))  # the lock is free again
    assert ran[-1] == "f3"
