"""``SVCGEN_WORKERS=2``: one generated service process runs two workers (issue 15,
point 4), on real brokers.

The service of ``test_replicas`` (one consumer logging the start and finish of each
message id with its process id) starts as ONE process with ``SVCGEN_WORKERS=2`` and a
fixed health port, which both workers bind (``SO_REUSEPORT``; without it the second
worker could not start and the service would exit 3). Messages are published; once
both workers have finished a share of them, one worker is SIGKILLed with handlers in
flight. Then:

- the parent starts a replacement worker (a third process id appears in the logs);
- lost = 0, by id: the killed worker's in-flight messages are redelivered;
- ``/healthz`` answers on the shared port;
- SIGTERM to the parent drains both workers and the parent exits 0, its workers gone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import urllib.request
from pathlib import Path
from typing import Final

import pytest

from tests.support import free_port

from .kinds import Target, target
from .service import Service, children, generate
from .test_replicas import publish

MESSAGES: Final = 1_500
CONCURRENCY: Final = 8
SLEEP: Final = 0.02
WAIT: Final = 45.0
SHARE: Final = 0.15
KINDS: Final = ("redis", "nats", "rabbitmq")
"""Brokers that redeliver a dead worker's messages within seconds with the tuned
options of ``kinds.TUNING`` (Kafka needs a session timeout and a rebalance; the
replica test covers that)."""


def _healthz(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        return int(r.status)


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


@pytest.mark.broker
@pytest.mark.slow
@pytest.mark.xdist_group("heavy")
@pytest.mark.parametrize("kind", KINDS)
async def test_two_workers_share_the_work_and_a_dead_one_is_replaced(
    kind: str, tmp_path: Path
) -> None:
    t: Target = target(kind)
    service: Service | None = None
    publishing: asyncio.Task[float] | None = None
    try:
        service = svc = await asyncio.to_thread(
            generate, tmp_path, t, concurrency=CONCURRENCY, sleep=SLEEP, buffered=False
        )
        port = free_port()
        parent = svc.start(SVCGEN_WORKERS="2", HEALTH_PORT=str(port))
        await svc.wait(
            "two workers started",
            lambda: parent.err.read_text().count(": started in") >= 2,
            WAIT,
        )
        workers = children(parent.proc.pid)
        assert len(workers) == 2, workers
        assert await asyncio.to_thread(_healthz, port) == 200
        publishing = asyncio.create_task(publish(t, MESSAGES))

        def shared() -> bool:
            finished = {pid: len(done) for pid, (_, done) in parent.by_pid.items()}
            total = sum(finished.values())
            return (
                total >= 300
                and set(finished) == workers
                and all(n >= SHARE * total for n in finished.values())
            )

        await svc.wait("both workers taking a share", shared, WAIT)
        victim = max(workers, key=lambda pid: len(parent.by_pid[pid][0]))

        def busy() -> bool:
            started, finished = parent.by_pid[victim]
            return len(started - finished) >= 2

        await svc.wait("handlers in flight in the worker to kill", busy, WAIT)
        started, finished = parent.by_pid[victim]
        in_flight = started - finished
        os.kill(victim, signal.SIGKILL)
        await svc.wait(
            "a replacement worker",
            lambda: len(children(parent.proc.pid) - workers) == 1,
            WAIT,
        )
        replacement = (children(parent.proc.pid) - workers).pop()
        await publishing
        await svc.wait(
            "every message finished",
            lambda: len(parent.finished) == MESSAGES,
            WAIT + 30,
        )
        assert set(parent.finished) == set(range(MESSAGES))  # lost = 0
        again = {
            n
            for pid, (s, _) in parent.by_pid.items()
            if pid != victim
            for n in s
            if n in in_flight
        }
        assert again == in_flight, "the killed worker's messages were handled again"
        log = parent.err.read_text()
        assert f"(pid {victim}) died with status" in log
        assert log.count(": started in") == 3  # the replacement started its service

        parent.stopped_at = time.time()
        parent.proc.send_signal(signal.SIGTERM)
        status = await asyncio.to_thread(parent.proc.wait, WAIT)
        assert status == 0, parent.stderr()
        for pid in (*workers, replacement):
            assert not _alive(pid), f"worker {pid} outlived the parent"
    finally:
        if publishing is not None and not publishing.done():
            publishing.cancel()
        if service is not None:
            for replica in service.replicas:  # the workers too, should the test fail
                if replica.proc.poll() is None:
                    for pid in children(replica.proc.pid):
                        os.kill(pid, signal.SIGKILL)
            service.kill_all()
        await t.cleanup()
