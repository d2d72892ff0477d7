"""Tasks and schedules on real brokers: delay, keys, a crash mid-task, a drain, three replicas."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import math
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from svcgen_runtime import Application, InboundMessage, RetryPolicy
from svcgen_runtime.idempotency import RedisIdempotency
from svcgen_runtime.schedules import FIRE_HEADER, SCHEDULE_HEADER, Schedule, guard_runs
from svcgen_runtime.tasks import Task, task_worker
from tests.brokers.test_redis import xrange
from tests.contract.conftest import make_harness
from tests.contract.harness import Harness, unique
from tests.contract.worker import is_ready, lines, spawn
from tests.support import until

pytestmark = pytest.mark.broker

REDIS_URL = "redis://127.0.0.1:6379/0"
BACKENDS = ["redis", "nats", "rabbitmq"]


def encode(args: dict[str, Any]) -> bytes:
    return json.dumps(args).encode()


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    harness = make_harness(request.param)
    try:
        yield harness
    finally:
        await harness.cleanup()


@contextlib.asynccontextmanager
async def key_store() -> AsyncIterator[RedisIdempotency]:
    store = RedisIdempotency(url=REDIS_URL, prefix=f"{unique('svcgen-test-idem')}:")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def test_delay_and_idempotency_key(backend: Harness) -> None:
    queue = backend.source("tasks")
    runs: list[tuple[float, dict[str, Any]]] = []

    async def handle(args: dict[str, Any], msg: InboundMessage) -> None:
        runs.append((time.monotonic(), args))

    async with key_store() as store:
        broker = backend.broker("tasks")
        task: Task[dict[str, Any]] = Task(
            name="send_receipt",
            broker=broker,
            encode=encode,
            idempotency=store,
            queue=queue,
        )
        worker = task_worker(
            name="send_receipt",
            broker=broker,
            handler=handle,
            decode=json.loads,
            queue=queue,
            group=unique("g"),
            ack_wait=backend.ack_wait(),
            options=dict(backend.consumer_options()),
        )
        app = Application(
            name="t", brokers=[broker], consumers=[worker], handle_signals=False
        )
        serving = asyncio.create_task(app.serve())
        await app.wait_started()
        try:
            t0 = time.monotonic()
            assert await task.enqueue({"n": 1}, delay=1.0, key="order-1") is True
            assert await task.enqueue({"n": 2}, delay=1.0, key="order-1") is False
            assert await task.enqueue({"n": 3}) is True
            await until(lambda: len(runs) >= 2, 20, "both tasks")
            await asyncio.sleep(0.5)
        finally:
            app.shutdown()
            assert await serving == 0
    by_n = {args["n"]: at for at, args in runs}
    assert sorted(by_n) == [1, 3]
    assert by_n[1] - t0 >= 1.0
    assert by_n[3] - t0 < 1.0
    assert worker.stats.acked == 2


async def test_a_worker_crash_mid_task_runs_it_again_once(
    backend: Harness, tmp_path: Path
) -> None:
    queue, group = backend.source("tasks"), unique("g")
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    proc = spawn(backend.kind, queue, group, first, concurrency=2, handler_seconds=30)
    try:
        await until(lambda: is_ready(first), 60, "the first worker")
        async with key_store() as store:
            pub = backend.broker("enqueue")
            await pub.connect()
            # the worker logs the body as the task's id
            task: Task[str] = Task(
                name="report",
                broker=pub,
                encode=str.encode,
                idempotency=store,
                queue=queue,
            )
            await task.enqueue("task-1", key="report-1")
            await pub.close()
        await until(
            lambda: lines(first, "start") == ["task-1"], 30, "the task to start"
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    proc2 = spawn(
        backend.kind, queue, group, second, concurrency=2, handler_seconds=0.2
    )
    try:
        await until(
            lambda: lines(second, "done") == ["task-1"],
            60 + backend.ack_wait(),
            "the task to run again",
        )
        await asyncio.sleep(backend.ack_wait() + 1.0)
        assert lines(second, "start") == ["task-1"]  # again, and only once
        assert lines(first, "done") == []
    finally:
        proc2.send_signal(signal.SIGTERM)
        proc2.wait(timeout=30)


async def test_sigterm_lets_running_tasks_finish(
    backend: Harness, tmp_path: Path
) -> None:
    queue, group = backend.source("tasks"), unique("g")
    out = tmp_path / "worker.log"
    proc = spawn(backend.kind, queue, group, out, concurrency=2, handler_seconds=1.0)
    try:
        await until(lambda: is_ready(out), 60, "the worker")
        pub = backend.broker("enqueue")
        await pub.connect()
        for i in range(2):
            await pub.publish(queue, f"task-{i}".encode())
        await pub.close()
        await until(lambda: len(lines(out, "start")) == 2, 30, "both tasks running")
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 0
    assert sorted(lines(out, "done")) == ["task-0", "task-1"]


async def test_three_replicas_on_redis_fire_each_time_exactly_once() -> None:
    harness = make_harness("redis")
    queue = harness.source("tick")
    runs: list[str] = []

    async def handle(args: dict[str, Any], msg: InboundMessage) -> None:
        runs.append(msg.headers[FIRE_HEADER])

    async with key_store() as store:
        apps = []
        group = unique("g")
        for i in range(3):
            broker = harness.broker(f"replica-{i}")
            task: Task[dict[str, Any]] = Task(
                name="tick_task",
                broker=broker,
                encode=encode,
                idempotency=store,
                queue=queue,
            )
            sched = Schedule(name="tick", task=task, args=lambda when: {}, every=0.25)
            worker = task_worker(
                name="tick_task",
                broker=broker,
                handler=handle,
                decode=json.loads,
                queue=queue,
                group=group,
                retry=RetryPolicy(max_attempts=3, initial=0.05),
                ack_wait=harness.ack_wait(),
                options=dict(harness.consumer_options()),
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
        serving = [asyncio.create_task(a.serve()) for a in apps]
        try:
            await asyncio.sleep(6.0)  # 24 fire times
        finally:
            for a in apps:
                a.shutdown()
            codes = await asyncio.gather(*serving)
    await harness.cleanup()
    assert codes == [0, 0, 0]
    assert len(runs) >= 20, runs
    assert len(runs) == len(set(runs)), sorted(runs)
    fires = sorted(dt.datetime.fromisoformat(r).timestamp() for r in runs)
    assert all(round(b - a, 3) == 0.25 for a, b in itertools.pairwise(fires))


async def test_redis_guard_spans_replicas_and_frees_only_its_own_lock() -> None:
    """guard_runs with two replicas' own connections to Redis: a fire is skipped while
    another replica runs the schedule; a run that outlived its lock does not free
    the lock a later run took."""
    async with key_store() as a, key_store() as b:
        b.prefix = a.prefix  # two replicas, one key space
        started = {f: asyncio.Event() for f in ("f1", "f3", "f5")}
        finish = {f: asyncio.Event() for f in ("f1", "f3", "f5")}
        ran: list[str] = []

        async def slow(args: dict[str, Any], msg: InboundMessage) -> None:
            name = msg.headers[FIRE_HEADER]
            ran.append(name)
            started[name].set()
            await finish[name].wait()

        def fire(name: str) -> InboundMessage:
            return InboundMessage(
                id=name,
                source="tasks.t",
                body=b"{}",
                headers={SCHEDULE_HEADER: "report", FIRE_HEADER: name},
            )

        on_a = guard_runs(slow, store=a, ttl=0.5)
        on_b = guard_runs(slow, store=b, ttl=0.5)
        first = asyncio.ensure_future(on_a({}, fire("f1")))
        await started["f1"].wait()
        assert await on_b({}, fire("f2")) is None  # f1 still runs on replica a
        await asyncio.sleep(0.7)  # f1 outlives its lock's ttl
        third = asyncio.ensure_future(on_b({}, fire("f3")))
        await started["f3"].wait()
        finish["f1"].set()
        await first  # f1 ends and must not free f3's lock
        assert await on_a({}, fire("f4")) is None  # f3 still holds it
        finish["f3"].set()
        await third
        finish["f5"].set()
        await on_a({}, fire("f5"))  # free again
        assert ran == ["f1", "f3", "f5"]


async def test_redis_restart_fires_the_latest_missed_time_once() -> None:
    harness = make_harness("redis")
    queue = harness.source("hourly")
    async with key_store() as store:
        broker = harness.broker("tasks")
        await broker.connect()
        try:
            now = time.time()
            hour = math.floor(now / 3600) * 3600
            await store.raise_mark("schedule-fired:hourly", hour - 3 * 3600, 60)
            fired = []
            for _ in range(2):  # two replicas starting one after the other
                task: Task[dict[str, Any]] = Task(
                    name="t",
                    broker=broker,
                    encode=encode,
                    idempotency=store,
                    queue=queue,
                )
                s = Schedule(
                    name="hourly", task=task, args=lambda w: {}, cron="0 * * * *"
                )
                await s.start()
                await asyncio.sleep(0.3)
                await s.close()
                fired.append(s.fired)
            assert fired == [1, 0]
            assert await store.mark("schedule-fired:hourly") == hour
            admin = Redis.from_url(REDIS_URL)
            try:
                entries = await xrange(admin, queue)
            finally:
                await admin.aclose()
            [(_, fields)] = entries
            when = fields[b"h:" + FIRE_HEADER.encode()].decode()
            assert dt.datetime.fromisoformat(when).timestamp() == hour
        finally:
            await broker.close()
            await harness.cleanup()
