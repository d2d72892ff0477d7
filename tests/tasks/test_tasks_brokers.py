"""Tasks and schedules on real brokers: delay, keys, a crash mid-task, a drain, three replicas."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from svcgen_runtime import Application, InboundMessage, RetryPolicy
from svcgen_runtime.idempotency import RedisIdempotency
from svcgen_runtime.schedules import FIRE_HEADER, Schedule
from svcgen_runtime.tasks import Task, task_worker
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
