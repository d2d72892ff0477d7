"""Start-to-ready: from ``Application.serve()`` to the first ``/readyz`` 200.

Each run builds an Application with a ``HealthServer`` on a free port and ``n``
consumers (each on its own fresh source and group), starts ``serve()`` and polls
``/healthz`` and ``/readyz`` every 10 ms over real HTTP until ``/readyz`` says 200;
it reports the time to the first ``/healthz`` 200 (the probe listener starts first)
and to the first ``/readyz`` 200 (every consumer consuming: for Kafka, partitions
assigned in the source group and in the ``.retry`` group of each consumer). The
median of ``--runs`` runs per row; the table ends with the ratio of the 10-consumer
time to the 1-consumer time (issue 11 wants it within 1.5 on Kafka).

Kafka uses ``KafkaBroker``'s defaults, as a generated service does
(``session_timeout_ms`` 10000; the test broker, Tansu, takes about half a session
timeout to form a group), and deletes its topics afterwards.

Run: ``bash scripts/services-up && .venv/bin/python -m benchmarks.startup``
(``--brokers memory`` or ``--brokers kafka``, ``--consumers 1,10``, ``--runs 5``,
``--fresh-groups``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
from typing import Final

from svcgen_runtime.application import Application
from svcgen_runtime.brokers.base import Broker
from svcgen_runtime.brokers.memory import MemoryBroker
from svcgen_runtime.consumer import Consumer
from svcgen_runtime.health import HealthServer
from svcgen_runtime.message import InboundMessage

KAFKA_URL: Final = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
POLL: Final = 0.01


async def _status(port: int, path: str) -> int:
    """One GET over a fresh connection; 0 when nothing answers yet."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return 0
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        await writer.drain()
        line = await reader.readline()
        parts = line.split()
        return int(parts[1]) if len(parts) >= 2 else 0
    finally:
        writer.close()


async def _noop(body: bytes, msg: InboundMessage) -> None:
    return None


def _broker(kind: str) -> Broker:
    if kind == "memory":
        return MemoryBroker("bench")
    from svcgen_runtime.brokers.kafka import KafkaBroker

    return KafkaBroker("bench", KAFKA_URL)


async def _delete_topics(topics: list[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA_URL)
    await admin.start()
    try:
        await admin.delete_topics(topics)
    except Exception as exc:  # a leftover topic is not a failed measurement
        print(f"  (could not delete the benchmark's topics: {exc})")
    finally:
        await admin.close()


async def one_run(
    kind: str, consumers: int, *, fresh_groups: bool = False
) -> tuple[float, float]:
    """Seconds from ``serve()`` to the first /healthz 200 and to the first /readyz 200.

    The groups are ``c0``, ``c1``... as a redeployed service's are, or new ones
    (``fresh_groups``) as at a first deployment.
    """
    broker = _broker(kind)
    tag = secrets.token_hex(4)
    sources = [f"bench-start-{tag}-{i}" for i in range(consumers)]
    health = HealthServer(host="127.0.0.1", port=0)

    def group(source: str) -> str | None:
        return f"{source}-g" if fresh_groups else None

    app = Application(
        name="bench-startup",
        brokers=[broker],
        consumers=[
            Consumer(
                name=f"c{i}", broker=broker, source=s, group=group(s), handler=_noop
            )
            for i, s in enumerate(sources)
        ],
        http=health,
        handle_signals=False,
    )
    began = time.perf_counter()
    serving = asyncio.create_task(app.serve())
    alive: float | None = None
    try:
        while health._server is None:  # the listener binds at once
            if serving.done():
                raise RuntimeError(
                    f"the service did not start (exit {serving.result()})"
                )
            await asyncio.sleep(0)
        port = health.bound_port
        while True:
            if serving.done():
                raise RuntimeError(f"the service stopped (exit {serving.result()})")
            if alive is None and await _status(port, "/healthz") == 200:
                alive = time.perf_counter() - began
            if await _status(port, "/readyz") == 200:
                ready = time.perf_counter() - began
                break
            await asyncio.sleep(POLL)
    finally:
        app.shutdown()
        await serving
        if kind == "kafka":
            await _delete_topics(
                [t for s in sources for t in (s, f"{s}.retry", f"{s}.dlq")]
            )
    assert alive is not None
    return alive, ready


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--brokers", default="memory,kafka")
    parser.add_argument("--consumers", default="1,10")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--fresh-groups",
        action="store_true",
        help="new consumer groups each run (a first deployment), not c0, c1...",
    )
    args = parser.parse_args()
    counts = [int(c) for c in args.consumers.split(",")]
    print(
        "| broker | consumers | runs | /healthz 200 (median s) "
        "| /readyz 200 (median s) | min–max s |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for kind in args.brokers.split(","):
        medians: dict[int, float] = {}
        for n in counts:
            alive: list[float] = []
            ready: list[float] = []
            for _ in range(args.runs):
                a, r = await one_run(kind, n, fresh_groups=args.fresh_groups)
                alive.append(a)
                ready.append(r)
            medians[n] = statistics.median(ready)
            print(
                f"| {kind} | {n} | {args.runs} | {statistics.median(alive):.3f} "
                f"| {medians[n]:.3f} | {min(ready):.3f}–{max(ready):.3f} |",
                flush=True,
            )
        if len(counts) >= 2:
            lo, hi = min(counts), max(counts)
            print(
                f"| {kind} | ratio {hi}/{lo} | | | {medians[hi] / medians[lo]:.2f} | |",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
