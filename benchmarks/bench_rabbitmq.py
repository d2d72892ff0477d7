"""RabbitMQ throughput: Consumer+Application over RabbitMQBroker vs a raw aio-pika loop.

Each side pre-loads ``n`` ~100-byte persistent JSON messages into its own fresh durable
queue, then consumes them with ``basic.qos(prefetch_count=concurrency)``, ``json.loads``
each body and ``basic.ack`` each delivery (one ack per message, no ``multiple``: what
the adapter does). Only the consume phase is timed: from starting to consume until
the last message is handled.

``raw`` is the strict baseline: a callback on aio-pika's underlying aiormq channel
(what the adapter consumes from), acks coalesced the way the adapter coalesces them
(one ``basic.ack(multiple=True)`` per loop iteration, per-message in meaning).
``raw_aio_pika`` is the loop most users write (``queue.consume`` and
``await message.ack()`` per message), reported for reference.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any, Final

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from aiormq.abc import DeliveredMessage
from pamqp.commands import Basic

from svcgen_runtime.application import Application
from svcgen_runtime.brokers.rabbitmq import RabbitMQBroker
from svcgen_runtime.consumer import Consumer
from svcgen_runtime.message import InboundMessage

URL: Final = "amqp://guest:guest@127.0.0.1:5672/"
PRELOAD_WINDOW: Final = 1000


def _body(i: int) -> bytes:
    doc: dict[str, Any] = {"id": i, "kind": "order.created", "sku": f"SKU-{i:06d}"}
    raw = json.dumps(doc).encode()
    doc["pad"] = "x" * max(0, 100 - len(raw) - 10)
    return json.dumps(doc).encode()


async def _fresh_queue(channel: AbstractChannel, prefix: str, n: int) -> str:
    """Declare a durable queue and fill it with ``n`` confirmed persistent messages."""
    name = f"svcgen-bench.{prefix}-{secrets.token_hex(6)}"
    await channel.declare_queue(name, durable=True)
    exchange = channel.default_exchange
    for start in range(0, n, PRELOAD_WINDOW):
        await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(
                        _body(i), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                    ),
                    name,
                )
                for i in range(start, min(n, start + PRELOAD_WINDOW))
            )
        )
    return name


async def consume_runtime(source: str, n: int, concurrency: int) -> float:
    """Consume ``n`` messages from ``source`` through Consumer + Application."""
    broker = RabbitMQBroker("bench", URL)
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
        source=source,
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
    if consumer.stats.acked != n:
        raise RuntimeError(f"runtime acked {consumer.stats.acked} of {n}")
    return n / elapsed


async def consume_raw_aio_pika(
    connection: aio_pika.abc.AbstractConnection, source: str, n: int, concurrency: int
) -> float:
    """aio-pika's consumer callback: decode, then ack each message."""
    consume = await connection.channel()
    await consume.set_qos(prefetch_count=concurrency)
    queue = await consume.get_queue(source, ensure=False)
    handled = 0
    done = asyncio.Event()

    async def on_message(message: AbstractIncomingMessage) -> None:
        nonlocal handled
        json.loads(message.body)
        await message.ack()
        handled += 1
        if handled == n:
            done.set()

    started = time.perf_counter()
    tag = await queue.consume(on_message)
    await done.wait()
    elapsed = time.perf_counter() - started
    await queue.cancel(tag)
    await consume.close()
    return n / elapsed


async def consume_raw(
    connection: aio_pika.abc.AbstractConnection,
    source: str,
    n: int,
    concurrency: int,
    *,
    timeouts: bool = True,
) -> float:
    """The same loop on the aiormq channel under aio-pika, acks coalesced as the
    adapter does: the tags handled in one loop iteration go out as one
    ``basic.ack(multiple=True)`` (here every delivery is handled at once and in
    order, so the tags are always contiguous)."""
    consume = await connection.channel()
    await consume.set_qos(prefetch_count=concurrency)
    raw = await consume.get_underlay_channel()
    handled = 0
    done = asyncio.Event()
    pending: list[int] = []

    async def flush() -> None:
        tags = pending.copy()
        pending.clear()
        await raw.basic_ack(max(tags), multiple=len(tags) > 1, wait=False)

    flushes: set[asyncio.Task[None]] = set()

    async def handle(payload: Any) -> None:
        return None

    async def on_message(message: DeliveredMessage) -> None:
        nonlocal handled
        if timeouts:
            async with asyncio.timeout(30.0):
                await handle(json.loads(message.body))
        else:
            await handle(json.loads(message.body))
        delivery = message.delivery
        assert isinstance(delivery, Basic.Deliver)
        if not pending:
            task = asyncio.create_task(flush())
            flushes.add(task)
            task.add_done_callback(flushes.discard)
        pending.append(delivery.delivery_tag or 0)
        handled += 1
        if handled == n:
            done.set()

    started = time.perf_counter()
    ok = await raw.basic_consume(source, on_message)
    await done.wait()
    elapsed = time.perf_counter() - started
    await asyncio.gather(*flushes)
    await raw.basic_cancel(ok.consumer_tag or "")
    await consume.close()
    return n / elapsed


async def _one(
    connection: aio_pika.abc.AbstractConnection,
    channel: AbstractChannel,
    side: str,
    n: int,
    concurrency: int,
) -> tuple[float, float]:
    """One side once: (messages per second, CPU microseconds of this process per message)."""
    source = await _fresh_queue(channel, side, n)
    try:
        cpu = time.process_time()
        if side == "runtime":
            rate = await consume_runtime(source, n, concurrency)
        elif side == "raw":
            rate = await consume_raw(connection, source, n, concurrency)
        elif side == "raw_bare":
            rate = await consume_raw(connection, source, n, concurrency, timeouts=False)
        else:
            rate = await consume_raw_aio_pika(connection, source, n, concurrency)
        return rate, (time.process_time() - cpu) / n * 1e6
    finally:
        await channel.queue_delete(source)


async def run(n: int, concurrency: int, *, rounds: int = 1) -> dict[str, float]:
    """Messages per second: ``runtime``, ``raw`` (the baseline) and ``raw_aio_pika``.

    With ``rounds`` > 1 the sides alternate and each reports its best round (this
    machine's other load makes single runs noisy). ``<side>_cpu_us`` is the lowest
    CPU time of this process per message, which the load disturbs less.
    """
    connection = await aio_pika.connect(URL)
    result: dict[str, float] = {}
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for _ in range(rounds):
            for side in ("raw", "raw_aio_pika", "runtime", "raw_bare"):
                rate, cpu = await _one(connection, channel, side, n, concurrency)
                result[side] = max(result.get(side, 0.0), rate)
                key = f"{side}_cpu_us"
                result[key] = min(result.get(key, cpu), cpu)
    return result


def main() -> None:
    n, concurrency, rounds = 50_000, 64, 3
    result = asyncio.run(run(n, concurrency, rounds=rounds))
    runtime, raw, naive = result["runtime"], result["raw"], result["raw_aio_pika"]
    print(
        f"rabbitmq n={n} concurrency={concurrency} best of {rounds}: "
        f"runtime {runtime:.0f} msg/s, raw {raw:.0f} msg/s, ratio {runtime / raw:.2f}; "
        f"CPU per message runtime {result['runtime_cpu_us']:.0f} us, "
        f"raw {result['raw_cpu_us']:.0f} us "
        f"(ratio {result['raw_cpu_us'] / result['runtime_cpu_us']:.2f}); "
        f"per-message-ack aio-pika loop {naive:.0f} msg/s"
    )


if __name__ == "__main__":
    main()
