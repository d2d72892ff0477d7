"""Kafka throughput: Consumer+Application over KafkaBroker against a raw aiokafka loop.

Both sides pre-load ``n`` ~100-byte JSON messages into their own fresh topic, then
consume, ``json.loads`` and mark done all ``n`` with ``concurrency`` handlers, committing
the highest contiguous done offset every 0.5 s (the adapter's default). Only the consume
phase is timed: from the first record received to the last one done (the group join,
which the test broker makes take seconds, is left out on both sides).

Run: ``bash scripts/kafka-up.sh && python -m benchmarks.bench_kafka``.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import secrets
import time
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from svcgen_runtime.application import Application
from svcgen_runtime.brokers.kafka import KafkaBroker
from svcgen_runtime.consumer import Consumer
from svcgen_runtime.message import InboundMessage

URL: Final = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
SESSION_TIMEOUT_MS: Final = 6000
COMMIT_INTERVAL: Final = 0.5


def _body(i: int) -> bytes:
    doc = {"id": i, "kind": "order.created", "amount": 1234, "note": "x" * 40}
    return json.dumps(doc).encode()


async def _preload(topic: str, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=URL, acks="all", linger_ms=5)
    await producer.start()
    try:
        acks = [await producer.send(topic, _body(i)) for i in range(n)]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def _topic(broker: KafkaBroker, prefix: str, n: int) -> str:
    topic = f"bench-{prefix}-{secrets.token_hex(4)}"
    await broker.ensure_topics([topic, f"{topic}.retry"])
    await _preload(topic, n)
    return topic


async def run_runtime(broker: KafkaBroker, n: int, concurrency: int) -> float:
    topic = await _topic(broker, "rt", n)
    first: list[float] = []
    last: list[float] = []
    done = 0
    finished = asyncio.Event()

    async def handle(payload: Any, msg: InboundMessage) -> None:
        nonlocal done
        if not first:
            first.append(time.perf_counter())
        done += 1
        if done == n:
            last.append(time.perf_counter())
            finished.set()

    consumer: Consumer[Any] = Consumer(
        name="bench",
        broker=broker,
        source=topic,
        group=f"{topic}-g",
        handler=handle,
        decode=json.loads,
        concurrency=concurrency,
        dead_letter=None,
        options={
            "session_timeout_ms": SESSION_TIMEOUT_MS,
            "commit_interval": COMMIT_INTERVAL,
        },
    )
    app = Application(
        name="bench", brokers=[broker], consumers=[consumer], handle_signals=False
    )
    task = asyncio.create_task(app.serve())
    try:
        await asyncio.wait_for(finished.wait(), 300)
        # The handler counts before its ack: wait for the loop to settle the last one.
        while consumer.stats.acked < n:
            await asyncio.sleep(0)
        last[0] = time.perf_counter()
    finally:
        app.shutdown()
        await task
        await broker.delete_topics([topic, f"{topic}.retry"])
    return n / (last[0] - first[0])


async def _handle(payload: Any) -> None:
    """The raw loops' handler: as trivial as the runtime side's."""


class _RawLoop:
    """Permits before fetches, a fixed pool of workers, contiguous commits."""

    def __init__(
        self, consumer: AIOKafkaConsumer, n: int, concurrency: int, timeouts: bool
    ) -> None:
        self.consumer = consumer
        self.timeouts = timeouts
        self.n = n
        self.idle = concurrency
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.taken: dict[TopicPartition, collections.deque[int]] = {}
        self.done: dict[TopicPartition, set[int]] = {}
        self.commit_to: dict[TopicPartition, int] = {}
        self.freed = asyncio.Event()
        self.dirty = asyncio.Event()
        self.finished = asyncio.Event()
        self.count = 0
        self.first = 0.0

    async def fetcher(self) -> None:
        while True:
            if self.idle <= 0:
                self.freed.clear()
                await self.freed.wait()
                continue
            batches = await self.consumer.getmany(
                timeout_ms=1000, max_records=self.idle
            )
            for tp, records in batches.items():
                self.taken.setdefault(tp, collections.deque()).extend(
                    r.offset for r in records
                )
                self.idle -= len(records)
                for rec in records:
                    self.queue.put_nowait((tp, rec))

    async def worker(self) -> None:
        while True:
            tp, rec = await self.queue.get()
            if not self.first:
                self.first = time.perf_counter()
            if self.timeouts:
                async with asyncio.timeout(30.0):
                    await _handle(json.loads(rec.value))
            else:
                await _handle(json.loads(rec.value))
            order = self.taken[tp]
            done = self.done.setdefault(tp, set())
            done.add(rec.offset)
            while order and order[0] in done:
                off = order.popleft()
                done.discard(off)
                self.commit_to[tp] = off + 1
                self.dirty.set()
            self.idle += 1
            self.freed.set()
            self.count += 1
            if self.count == self.n:
                self.finished.set()

    async def commit(self) -> None:
        await self.consumer.commit(
            {tp: OffsetAndMetadata(o, "") for tp, o in self.commit_to.items()}
        )

    async def committer(self) -> None:
        while True:
            await self.dirty.wait()
            await asyncio.sleep(COMMIT_INTERVAL)
            self.dirty.clear()
            await self.commit()


async def run_raw(
    broker: KafkaBroker, n: int, concurrency: int, *, timeouts: bool = True
) -> float:
    """The same shape by hand on aiokafka, with the adapter's fetch sizes; with
    ``timeouts`` each message is handled under its own ``asyncio.timeout``."""
    topic = await _topic(broker, "raw", n)
    fetch_bytes = min(max(concurrency * 16384, 65536), 1048576)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=URL,
        group_id=f"{topic}-g",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=SESSION_TIMEOUT_MS // 3,
        max_partition_fetch_bytes=fetch_bytes,
        fetch_max_bytes=4 * fetch_bytes,
    )
    await consumer.start()
    loop = _RawLoop(consumer, n, concurrency, timeouts)
    tasks = [asyncio.create_task(loop.worker()) for _ in range(concurrency)]
    tasks += [
        asyncio.create_task(loop.fetcher()),
        asyncio.create_task(loop.committer()),
    ]
    try:
        await asyncio.wait_for(loop.finished.wait(), 300)
        last = time.perf_counter()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await loop.commit()
        await consumer.stop()
        await broker.delete_topics([topic, f"{topic}.retry"])
    return n / (last - loop.first)


async def run(n: int, concurrency: int) -> dict[str, float]:
    """Messages per second through the runtime and through a raw aiokafka loop."""
    broker = KafkaBroker("bench", URL, session_timeout_ms=SESSION_TIMEOUT_MS)
    await broker.connect()
    try:
        raw = await run_raw(broker, n, concurrency)
        runtime = await run_runtime(broker, n, concurrency)
        raw_bare = await run_raw(broker, n, concurrency, timeouts=False)
    finally:
        await broker.close()
    return {"runtime": runtime, "raw": raw, "raw_bare": raw_bare}


async def _main(rounds: int = 3) -> None:
    results = [await run(50000, 64) for _ in range(rounds)]
    for r in results:
        print(
            f"kafka n=50000 concurrency=64: runtime {r['runtime']:,.0f} msg/s, "
            f"raw {r['raw']:,.0f} msg/s, ratio {r['runtime'] / r['raw']:.2f}"
        )
    runtime = sorted(r["runtime"] for r in results)[rounds // 2]
    raw = sorted(r["raw"] for r in results)[rounds // 2]
    print(
        f"median of {rounds}: runtime {runtime:,.0f}, raw {raw:,.0f}, ratio {runtime / raw:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(_main())
