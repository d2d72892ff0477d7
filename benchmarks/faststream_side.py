"""FastStream's subscriber on each broker: the column users compare svcgen with.

Issue 15's point 7. FastStream is never a dependency of svcgen: it is installed for the
benchmarks only, beside ``.venv`` (``benchmarks/requirements-faststream.txt`` has the
command); ``available()`` puts that folder on ``sys.path`` and says whether it imports.

``run(kind, n, concurrency, rounds=...)`` pre-loads ``n`` messages into a fresh source
with the same helpers as ``benchmarks/bench_<kind>.py`` (same bodies, same sizes),
consumes them with one FastStream subscriber whose handler ``json.loads`` the body, and
returns the best msg/s of ``rounds``, timed from the broker's start to the ``n``-th
handler call. Two variants per kind:

* ``defaults``: the subscriber as FastStream's documentation writes it, every setting
  at its default (as in the issue's reference table: Kafka auto-commits, RabbitMQ has
  no prefetch limit, NATS JetStream is a push consumer, messages handled one at a time);
* ``workers``: the same with ``max_workers=concurrency`` (FastStream's own concurrency
  knob, where the kind has it: not RabbitMQ, whose subscriber takes no such argument).

Deviations from the defaults, each one what the same work needs: the per-message log
lines are off (``logger=None``: at the default INFO level FastStream logs two lines per
message, which the runtime does not); Kafka reads from ``earliest`` (the default
``latest`` skips a pre-loaded topic); Redis's consumer group is created at ``0`` before
the subscriber starts (FastStream creates it at ``$``, after the pre-load); MQTT
subscribes at QoS 1 (default 0) in a shared subscription, as the runtime does, on the
private Mosquitto of ``bench_mqtt`` that queues without a limit; since FastStream
unsubscribes when it stops, its subscriber stays connected through the pre-load with
the handler held at a gate, and is timed from the gate's opening.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[1]
TARGET: Final = ROOT / ".venv" / "faststream"
INSTALL: Final = (
    ".venv/bin/python -m pip install --no-deps --require-hashes --target "
    ".venv/faststream -r benchmarks/requirements-faststream.txt"
)
VARIANTS: Final = ("defaults", "workers")
NO_WORKERS: Final = frozenset({"rabbitmq"})


def available() -> bool:
    """Whether FastStream imports (from ``.venv/faststream``, put on ``sys.path``)."""
    if TARGET.is_dir() and str(TARGET) not in sys.path:
        sys.path.append(str(TARGET))  # after .venv: the clients stay .venv's
    return importlib.util.find_spec("faststream") is not None


def _faststream(kind: str) -> Any:
    """FastStream's module for ``kind`` (imported by name: it has no place in the
    type-checked environment)."""
    return importlib.import_module(f"faststream.{kind}")


class _Count:
    def __init__(self, n: int) -> None:
        self.n = n
        self.handled = 0
        self.done = asyncio.Event()

    async def handle(self, body: Any) -> None:
        # FastStream's decoder already parsed a JSON body (its default); a Redis
        # stream entry arrives as its fields, the JSON still a string in ``body``.
        if isinstance(body, dict) and set(body) == {"body"}:
            body = body["body"]
        if isinstance(body, str | bytes):
            json.loads(body)
        self.handled += 1
        if self.handled == self.n:
            self.done.set()


async def _timed(broker: Any, count: _Count) -> float:
    started = time.perf_counter()
    await broker.start()
    try:
        await asyncio.wait_for(count.done.wait(), 300)
        return count.n / (time.perf_counter() - started)
    finally:
        await broker.stop()


def _workers(variant: str, concurrency: int) -> dict[str, int]:
    return {"max_workers": concurrency} if variant == "workers" else {}


async def _redis(n: int, concurrency: int, variant: str) -> float:
    fs = _faststream("redis")
    from redis.asyncio import Redis

    from benchmarks.bench_redis import GROUP, URL, _preload

    client = Redis.from_url(URL, protocol=2)
    source = f"svcgen-bench.faststream-{secrets.token_hex(6)}"
    try:
        await _preload(client, source, n)
        await client.xgroup_create(source, GROUP, "0", mkstream=True)
        broker = fs.RedisBroker(URL, logger=None)
        count = _Count(n)
        sub = fs.StreamSub(source, group=GROUP, consumer="faststream")
        broker.subscriber(stream=sub, **_workers(variant, concurrency))(count.handle)
        rate = await _timed(broker, count)
        pending = await client.xpending(source, GROUP)
        assert pending["pending"] == 0, pending
        return rate
    finally:
        await client.delete(source)
        await client.aclose()


async def _nats(n: int, concurrency: int, variant: str) -> float:
    import nats

    fs = _faststream("nats")

    from benchmarks.bench_nats import GROUP, URL, _fresh

    nc = await nats.connect(URL)
    js = nc.jetstream()
    subject, stream = await _fresh(js, "faststream", n)
    try:
        broker = fs.NatsBroker(URL, logger=None)
        count = _Count(n)
        broker.subscriber(
            subject,
            stream=fs.JStream(stream, declare=False),
            durable=GROUP,
            **_workers(variant, concurrency),
        )(count.handle)
        return await _timed(broker, count)
    finally:
        await js.delete_stream(stream)
        await nc.close()


async def _kafka(n: int, concurrency: int, variant: str) -> float:
    fs = _faststream("kafka")

    from benchmarks.bench_kafka import URL, _preload
    from svcgen_runtime.brokers.kafka import KafkaBroker

    admin = KafkaBroker("bench", URL)  # creates and deletes the topic
    await admin.connect()
    topic = f"bench-fs-{secrets.token_hex(4)}"
    try:
        await admin.ensure_topics([topic])
        await _preload(topic, n)
        broker = fs.KafkaBroker(URL, logger=None)
        count = _Count(n)
        # as bench_kafka: timed from the first record (the group join is left out)
        started: list[float] = []

        async def first(body: Any) -> None:
            if not started:
                started.append(time.perf_counter())
            await count.handle(body)

        broker.subscriber(
            topic,
            group_id=f"{topic}-g",
            auto_offset_reset="earliest",
            **_workers(variant, concurrency),
        )(first)
        await broker.start()
        try:
            await asyncio.wait_for(count.done.wait(), 300)
            return n / (time.perf_counter() - started[0])
        finally:
            await broker.stop()
    finally:
        await admin.delete_topics([topic])
        await admin.close()


async def _rabbitmq(n: int, concurrency: int, variant: str) -> float:
    import aio_pika

    fs = _faststream("rabbit")

    from benchmarks.bench_rabbitmq import URL, _fresh_queue

    connection = await aio_pika.connect(URL)
    channel = await connection.channel(publisher_confirms=True)
    source = await _fresh_queue(channel, "faststream", n)
    try:
        broker = fs.RabbitBroker(URL, logger=None)
        count = _Count(n)
        broker.subscriber(fs.RabbitQueue(source, durable=True))(count.handle)
        return await _timed(broker, count)
    finally:
        await channel.queue_delete(source)
        await connection.close()


async def _mqtt(n: int, concurrency: int, variant: str) -> float:
    fs = _faststream("mqtt")

    from benchmarks.bench_mqtt import GROUP, _preload, _server

    topic = f"svcgen-bench/faststream-{secrets.token_hex(6)}"
    async with _server() as (host, port):
        # FastStream unsubscribes when it stops, so a session cannot be filled while
        # it is away: the subscriber stays connected during the pre-load, its handler
        # held at a gate, and the clock starts when the gate opens.
        broker = fs.MQTTBroker(f"mqtt://{host}:{port}", logger=None)
        count = _Count(n)
        gate = asyncio.Event()

        async def gated(body: Any) -> None:
            await gate.wait()
            await count.handle(body)

        broker.subscriber(
            topic,
            qos=fs.QoS.AT_LEAST_ONCE,
            shared=GROUP,
            **_workers(variant, concurrency),
        )(gated)
        await broker.start()
        try:
            await _preload(host, port, topic, n)
            started = time.perf_counter()
            gate.set()
            await asyncio.wait_for(count.done.wait(), 300)
            return n / (time.perf_counter() - started)
        finally:
            await broker.stop()


async def run(
    kind: str, n: int, concurrency: int, *, variant: str = "defaults", rounds: int = 1
) -> float:
    """Best msg/s of ``rounds`` through FastStream's subscriber on ``kind``; 0 when
    the variant does not exist for the kind."""
    if variant == "workers" and kind in NO_WORKERS:
        return 0.0
    side = globals()[f"_{kind}"]
    best = 0.0
    for _ in range(rounds):
        best = max(best, await side(n, concurrency, variant))
    return best
