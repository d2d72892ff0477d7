"""Throughput of the NATS JetStream adapter through the runtime vs. a raw nats-py loop."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig

from svcgen_runtime.application import Application
from svcgen_runtime.brokers.nats import NatsBroker, name_for
from svcgen_runtime.consumer import Consumer
from svcgen_runtime.message import InboundMessage

URL = "nats://127.0.0.1:4222"
PRELOAD_WINDOW = 1000


def _payload(i: int) -> bytes:
    body = {"id": i, "kind": "order.created", "amount": 1234, "pad": "x" * 40}
    return json.dumps(body).encode()


async def _preload(js: Any, subject: str, n: int) -> None:
    """Publish ``n`` ~100-byte JSON messages, PubAcks awaited in windows."""
    for start in range(0, n, PRELOAD_WINDOW):
        futures = [
            await js.publish_async(subject, _payload(i))
            for i in range(start, min(n, start + PRELOAD_WINDOW))
        ]
        await asyncio.gather(*futures)


async def run_runtime(n: int, concurrency: int) -> float:
    """Messages per second through Consumer + Application with ``decode=json.loads``."""
    subject = f"bench.runtime.{secrets.token_hex(4)}"
    broker = NatsBroker("bench", URL)
    await broker.connect()
    stream = await broker.declare(subject)
    nc = await nats.connect(URL)
    js = nc.jetstream()
    try:
        await _preload(js, subject, n)
        done = asyncio.Event()
        count = 0

        async def handle(payload: Any, msg: InboundMessage) -> None:
            nonlocal count
            count += 1
            if count >= n:
                done.set()

        consumer: Consumer[Any] = Consumer(
            name="bench",
            broker=broker,
            source=subject,
            handler=handle,
            decode=json.loads,
            concurrency=concurrency,
            dead_letter=None,
        )
        app = Application(
            name="bench", brokers=[broker], consumers=[consumer], handle_signals=False
        )
        started = time.perf_counter()
        task = asyncio.create_task(app.serve())
        await done.wait()
        elapsed = time.perf_counter() - started
        app.shutdown()
        await task
        if consumer.stats.acked < n:
            raise RuntimeError(f"runtime acked {consumer.stats.acked} of {n}")
        return n / elapsed
    finally:
        await js.delete_stream(stream)
        await nc.close()


async def run_raw(n: int, concurrency: int) -> float:
    """Messages per second through nats-py alone: the idiomatic pull-fetch-ack loop.

    Same prefetch (``max_ack_pending = batch = concurrency``), same decode, one ack
    per message published without waiting for the server, as the adapter does.
    """
    subject = f"bench.raw.{secrets.token_hex(4)}"
    stream = name_for(subject)
    nc = await nats.connect(URL)
    js = nc.jetstream()
    try:
        await js.add_stream(name=stream, subjects=[subject])
        await _preload(js, subject, n)
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            max_ack_pending=concurrency,
            max_deliver=-1,
            ack_wait=30,
        )
        psub = await js.pull_subscribe(subject, "bench", stream=stream, config=config)
        count = 0
        started = time.perf_counter()
        while count < n:
            try:
                msgs = await psub.fetch(batch=concurrency, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            for msg in msgs:
                json.loads(msg.data)
                await msg.ack()
                count += 1
        await nc.flush()
        elapsed = time.perf_counter() - started
        return n / elapsed
    finally:
        await js.delete_stream(stream)
        await nc.close()


async def run(n: int, concurrency: int) -> dict[str, float]:
    """``{"runtime": msgs/s, "raw": msgs/s}`` for ``n`` messages at ``concurrency``."""
    raw = await run_raw(n, concurrency)
    runtime = await run_runtime(n, concurrency)
    return {"runtime": runtime, "raw": raw}


if __name__ == "__main__":
    result = asyncio.run(run(50_000, 64))
    print(
        f"nats: runtime {result['runtime']:.0f} msg/s, raw {result['raw']:.0f} msg/s, "
        f"ratio {result['runtime'] / result['raw']:.2f}"
    )
