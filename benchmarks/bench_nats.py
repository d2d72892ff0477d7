"""NATS JetStream throughput: Consumer+Application over NatsBroker vs a raw nats-py loop.

Both sides pre-load ``n`` ~100-byte JSON messages into a fresh stream, then read them
through a durable pull consumer with explicit acks (``max_ack_pending`` unlimited,
as the adapter sets it), ``json.loads`` each body and ack each message with a
fire-and-forget ``+ACK`` (flushed at the end), as the adapter does. Pull requests are
pipelined the way the adapter does it: credit for the free permits (at most
``concurrency``: the prefetch bound) stays outstanding, topped up when half a batch
is missing. Only the consume phase is timed (for the runtime:
start-up with its subscribe, the consume, and the drain that flushes the acks).

Sides reported by ``run``: ``runtime``; ``raw`` — the hand-written loop in the
runtime's shape (one reader, ``concurrency`` handler coroutines with a per-message
timeout); ``raw_inline`` — handling in the subscription callback itself, no pool;
``raw_fetch`` — nats-py's own ``PullSubscription.fetch(batch=concurrency)`` loop.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any, Final

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.client import JetStreamContext

from svcgen_runtime import Application, Consumer, InboundMessage
from svcgen_runtime.brokers.nats import NatsBroker, name_for

URL: Final = "nats://127.0.0.1:4222"
GROUP: Final = "bench"
WINDOW: Final = 1000


def _body(i: int) -> bytes:
    doc = {"id": i, "kind": "order.created", "sku": f"SKU-{i % 997:05d}", "qty": 1}
    raw = json.dumps(doc).encode()
    doc["pad"] = "x" * max(0, 100 - len(raw) - 10)
    return json.dumps(doc).encode()


async def _preload(js: JetStreamContext, subject: str, n: int) -> None:
    """Publish ``n`` messages, PubAcks awaited a window at a time."""
    for start in range(0, n, WINDOW):
        futures = [
            await js.publish_async(subject, _body(i))
            for i in range(start, min(n, start + WINDOW))
        ]
        await asyncio.gather(*futures)


async def _fresh(js: JetStreamContext, side: str, n: int) -> tuple[str, str]:
    subject = f"svcgen-bench.{side}-{secrets.token_hex(6)}"
    stream = name_for(subject)
    await js.add_stream(name=stream, subjects=[subject])
    await _preload(js, subject, n)
    return subject, stream


async def _runtime(js: JetStreamContext, n: int, concurrency: int) -> float:
    subject, stream = await _fresh(js, "runtime", n)
    broker = NatsBroker("bench", URL)
    handled = 0
    done = asyncio.Event()

    async def handle(payload: Any, msg: InboundMessage) -> None:
        nonlocal handled
        handled += 1
        if handled == n:
            done.set()

    consumer: Consumer[Any] = Consumer(
        name="bench",
        broker=broker,
        source=subject,
        group=GROUP,
        handler=handle,
        decode=json.loads,
        concurrency=concurrency,
        dead_letter=None,
    )
    app = Application(
        name="bench", brokers=[broker], consumers=[consumer], handle_signals=False
    )
    try:
        started = time.perf_counter()
        task = asyncio.create_task(app.serve())
        await done.wait()
        app.shutdown()  # the drain and close flush the last acks: timed too
        code = await task
        took = time.perf_counter() - started
        assert code == 0, code
        assert consumer.stats.acked == n, consumer.stats
        info = await js.consumer_info(stream, GROUP)
        assert info.num_pending == 0, info
    finally:
        await js.delete_stream(stream)
    return n / took


async def _raw(
    nc: Client, n: int, concurrency: int, *, pool: bool, timeouts: bool = True
) -> float:
    """The hand-written loop: pipelined pull requests on a private inbox; ``pool``
    runs handlers on ``concurrency`` worker coroutines, else in the callback."""
    js = nc.jetstream()
    subject, stream = await _fresh(js, "raw", n)
    config = ConsumerConfig(
        durable_name=GROUP,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=30,
        max_ack_pending=-1,
        max_deliver=-1,
        filter_subject=subject,
    )
    await js.add_consumer(stream, config)
    next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{GROUP}"
    inbox = nc.new_inbox()
    credit = 0
    free = concurrency
    handled = 0
    done = asyncio.Event()
    queue: asyncio.Queue[Msg] = asyncio.Queue()

    async def handle(payload: Any) -> None:
        return None

    async def pull() -> None:
        nonlocal credit
        need = free - queue.qsize() - credit
        if need > 0 and (not credit or need * 2 >= concurrency):
            credit += need
            request = {"batch": need, "expires": 1_000_000_000}
            await nc.publish(next_subject, json.dumps(request).encode(), reply=inbox)

    async def settle(msg: Msg) -> None:
        nonlocal handled
        await msg.ack()
        handled += 1
        if handled == n:
            done.set()

    async def on_msg(msg: Msg) -> None:
        nonlocal credit, free
        if not msg.reply:  # a pull request ended: drop its unfilled credit
            left = (msg.headers or {}).get("Nats-Pending-Messages")
            credit = max(0, credit - int(left)) if left else 0
        else:
            credit -= 1
            if pool:
                free -= 1
                queue.put_nowait(msg)
            else:
                await handle(json.loads(msg.data))
                await settle(msg)
        await pull()

    async def worker() -> None:
        nonlocal free
        while True:
            msg = await queue.get()
            if timeouts:
                async with asyncio.timeout(30.0):
                    await handle(json.loads(msg.data))
            else:
                await handle(json.loads(msg.data))
            await settle(msg)
            free += 1
            await pull()

    sub = await nc.subscribe(inbox, cb=on_msg)
    try:
        started = time.perf_counter()
        workers = [
            asyncio.create_task(worker()) for _ in range(concurrency if pool else 0)
        ]
        await pull()
        await done.wait()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await nc.flush()
        took = time.perf_counter() - started
        info = await js.consumer_info(stream, GROUP)
        assert info.num_pending == 0 and info.num_ack_pending == 0, info
    finally:
        await sub.unsubscribe()
        await js.delete_stream(stream)
    return n / took


async def _raw_fetch(nc: Client, n: int, concurrency: int) -> float:
    """nats-py's documented pull loop: ``fetch(batch)``, handle, ack, fetch again."""
    js = nc.jetstream()
    subject, stream = await _fresh(js, "fetch", n)
    config = ConsumerConfig(
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=30,
        max_ack_pending=-1,
        max_deliver=-1,
    )
    try:
        psub = await js.pull_subscribe(subject, GROUP, stream=stream, config=config)
        handled = 0
        started = time.perf_counter()
        while handled < n:
            try:
                msgs = await psub.fetch(batch=concurrency, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            for msg in msgs:
                json.loads(msg.data)
                await msg.ack()
                handled += 1
        await nc.flush()
        took = time.perf_counter() - started
        await psub.unsubscribe()
    finally:
        await js.delete_stream(stream)
    return n / took


async def run(n: int, concurrency: int, *, rounds: int = 1) -> dict[str, float]:
    """Messages per second through the runtime and through raw nats-py loops.

    With ``rounds`` > 1 the sides run interleaved and each keeps its best round,
    so both see the same machine load.
    """
    nc = await nats.connect(URL)
    js = nc.jetstream()
    best = {
        "runtime": 0.0,
        "raw": 0.0,
        "raw_bare": 0.0,
        "raw_inline": 0.0,
        "raw_fetch": 0.0,
    }
    try:
        for _ in range(rounds):
            for side, rate in (
                ("raw", await _raw(nc, n, concurrency, pool=True)),
                ("runtime", await _runtime(js, n, concurrency)),
                ("raw_bare", await _raw(nc, n, concurrency, pool=True, timeouts=False)),
                ("raw_inline", await _raw(nc, n, concurrency, pool=False)),
                ("raw_fetch", await _raw_fetch(nc, n, concurrency)),
            ):
                best[side] = max(best[side], rate)
    finally:
        await nc.close()
    return best


if __name__ == "__main__":
    r = asyncio.run(run(50_000, 64, rounds=3))
    print(
        f"nats n=50000 concurrency=64: runtime {r['runtime']:.0f} msg/s, "
        f"raw {r['raw']:.0f} msg/s, ratio {r['runtime'] / r['raw']:.2f} "
        f"(raw in-line, no pool: {r['raw_inline']:.0f} msg/s, ratio "
        f"{r['runtime'] / r['raw_inline']:.2f}; nats-py fetch loop: "
        f"{r['raw_fetch']:.0f} msg/s, ratio {r['runtime'] / r['raw_fetch']:.2f})"
    )
