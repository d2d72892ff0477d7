"""The paced publisher of the latency benchmark, run as its own process.

    python -m benchmarks.latency_publish KIND TARGET RATE SECONDS

It must not share the consumer's event loop (a consumer that is late would make the
publisher late too and hide its own delay), so ``benchmarks/latency.py`` starts it as a
subprocess once the consumer side is ready. Message ``i`` is due at ``start + i / RATE``
(absolute deadlines: a late send does not shift the ones after it, so the rate does not
drift); each body starts with ``time.monotonic_ns()`` taken just before the send, which
the handler in the other process subtracts from its own ``time.monotonic_ns()``
(CLOCK_MONOTONIC is one clock for the whole machine on Linux). Each kind publishes with
its raw client the plain way: no batching, no confirm awaited per message (Kafka
``acks=1``, ``linger_ms=0``; RabbitMQ persistent messages on a channel without
confirms; NATS a core publish into the stream's subject; Redis one XADD; MQTT QoS 1).
Prints ``published N late_ms_max`` on stdout when done.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Final

BODY_SIZE: Final = 100
URLS: Final = {
    "kafka": "127.0.0.1:9092",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/",
    "nats": "nats://127.0.0.1:4222",
    "redis": "redis://127.0.0.1:6379/0",
    "mqtt": "mqtt://127.0.0.1:1883",
}


def body(seq: int) -> bytes:
    """``<19-digit monotonic ns> <8-digit seq> `` padded to ``BODY_SIZE`` bytes."""
    head = b"%019d %08d " % (time.monotonic_ns(), seq)
    return head + b"x" * (BODY_SIZE - len(head))


def parse(data: bytes) -> tuple[int, int]:
    """(send time in monotonic ns, sequence number) of a ``body``."""
    return int(data[:19]), int(data[20:28])


Send = Callable[[bytes], Awaitable[None]]


async def _paced(send: Send, rate: float, seconds: float) -> tuple[int, float]:
    total = int(rate * seconds)
    start = time.monotonic()
    late = 0.0
    for seq in range(total):
        due = start + seq / rate
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        else:
            late = max(late, -wait)
        await send(body(seq))
    return total, late * 1000


async def publish(
    kind: str, target: str, rate: float, seconds: float
) -> tuple[int, float]:
    """Publish ``rate * seconds`` messages to ``target``; (count, worst lateness ms)."""
    if kind == "redis":
        from redis.asyncio import Redis

        client = Redis.from_url(URLS[kind])

        async def send_redis(data: bytes) -> None:
            await client.xadd(target, {"body": data})

        try:
            return await _paced(send_redis, rate, seconds)
        finally:
            await client.aclose()
    if kind == "nats":
        import nats

        nc = await nats.connect(URLS[kind])

        async def send_nats(data: bytes) -> None:
            await nc.publish(target, data)

        try:
            return await _paced(send_nats, rate, seconds)
        finally:
            await nc.drain()
    if kind == "kafka":
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=URLS[kind], acks=1, linger_ms=0)
        await producer.start()

        async def send_kafka(data: bytes) -> None:
            await producer.send(target, data)  # the delivery future is not awaited

        try:
            return await _paced(send_kafka, rate, seconds)
        finally:
            await producer.stop()
    if kind == "rabbitmq":
        import aio_pika

        connection = await aio_pika.connect(URLS[kind])
        channel = await connection.channel(publisher_confirms=False)

        async def send_rabbitmq(data: bytes) -> None:
            message = aio_pika.Message(
                data, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
            )
            await channel.default_exchange.publish(message, target)

        try:
            return await _paced(send_rabbitmq, rate, seconds)
        finally:
            await connection.close()
    if kind == "mqtt":
        import secrets

        from benchmarks.bench_mqtt import _Raw

        pub = _Raw(f"latency-pub-{secrets.token_hex(4)}")
        await pub.connect("127.0.0.1", 1883, clean=True, expiry=0)

        async def send_mqtt(data: bytes) -> None:
            pub.client.publish(target, data, qos=1)

        try:
            result = await _paced(send_mqtt, rate, seconds)
            deadline = time.monotonic() + 10
            while pub.pubacks < result[0] and time.monotonic() < deadline:
                pub.acked.clear()
                try:
                    await asyncio.wait_for(pub.acked.wait(), 1)
                except TimeoutError:
                    pass
            return result
        finally:
            await pub.disconnect()
    raise SystemExit(f"latency_publish: unknown broker kind {kind!r}")


def main() -> None:
    kind, target, rate, seconds = sys.argv[1:5]
    count, late = asyncio.run(publish(kind, target, float(rate), float(seconds)))
    print(f"published {count} {late:.3f}", flush=True)


if __name__ == "__main__":
    main()
