"""The raw-client consumers of the latency benchmark, one per broker kind.

Each is what a careful person writes on the client library the runtime's adapter uses,
with the runtime's default semantics for a generated consumer: one message in flight
(``concurrency: 1``), the handler awaited, then the message acknowledged, and the
next one read. ``start(source)`` returns once the consumer can receive (Kafka: its
partition assigned); ``stop()`` closes it and removes what it created. Nothing here
imports svcgen_runtime (``benchmarks/footprint_raw.py`` measures these consumers' memory),
except MQTT's, which borrows ``bench_mqtt``'s paho driver.

* Redis: a consumer group created at ``$``, ``XREADGROUP COUNT 1 BLOCK``, ``XACK``.
* NATS: a durable pull consumer (explicit acks), ``fetch(1)``, ``ack()``.
* Kafka: a group member with ``enable_auto_commit=False``, ``getone()``, the done
  offset committed every 0.5 s (the adapter's ``commit_interval``).
* RabbitMQ: a durable classic queue, ``basic.qos(prefetch_count=1)``, aio-pika's
  consume callback, ``ack()`` after the handler.
* MQTT: paho on the asyncio loop (``bench_mqtt._Raw``), a QoS 1 shared subscription
  in a persistent MQTT 5 session, Receive Maximum 1, PUBACK after the handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Final

from benchmarks.latency_publish import URLS

KAFKA_FETCH_MAX_WAIT_MS: list[int] = [500]
"""Both sides' ``fetch_max_wait_ms`` (``latency.py --kafka-fetch-max-wait-ms``);
500 is aiokafka's default and the runtime's."""
KAFKA_RETRY_MEMBER: list[bool] = [False]
"""The raw Kafka side also runs a second, idle group member long-polling a
``<source>.retry`` topic, as the runtime's consumer does for ``Retry(after)``
(``latency.py --kafka-raw-retry-member``)."""

Record = Callable[[bytes], Awaitable[None]]
GROUP: Final = "latency"


class RawSide:
    """A raw consumer of one kind; ``record`` is the handler, awaited per message."""

    def __init__(self, kind: str, record: Record) -> None:
        self.kind = kind
        self.record = record
        self._tasks: list[asyncio.Task[None]] = []
        self._close: list[Callable[[], Awaitable[Any]]] = []

    async def start(self, source: str) -> None:
        await getattr(self, f"_start_{self.kind}")(source)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for close in reversed(self._close):
            with contextlib.suppress(Exception):
                await close()

    def _spawn(self, loop: Awaitable[None]) -> None:
        self._tasks.append(asyncio.ensure_future(loop))

    async def _start_redis(self, source: str) -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(URLS["redis"], protocol=2)
        self._close += [client.aclose, lambda: client.delete(source)]
        await client.xgroup_create(source, GROUP, "$", mkstream=True)

        async def loop() -> None:
            while True:
                reply: Any = await client.xreadgroup(
                    GROUP, "raw", {source: ">"}, count=1, block=1000
                )
                for _stream, entries in reply or []:
                    for entry_id, fields in entries:
                        await self.record(fields[b"body"])
                        await client.xack(source, GROUP, entry_id)

        self._spawn(loop())

    async def _start_nats(self, source: str) -> None:
        import nats
        from nats.js.api import AckPolicy, ConsumerConfig

        nc = await nats.connect(URLS["nats"])
        js = nc.jetstream()
        stream = re.sub(r"[^A-Za-z0-9_-]", "_", source)
        self._close += [nc.close, lambda: js.delete_stream(stream)]
        await js.add_stream(name=stream, subjects=[source])
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30)
        psub = await js.pull_subscribe(source, GROUP, stream=stream, config=config)

        async def loop() -> None:
            while True:
                try:
                    msgs = await psub.fetch(1, timeout=5.0)
                except nats.errors.TimeoutError:
                    continue
                for msg in msgs:
                    await self.record(msg.data)
                    await msg.ack()

        self._spawn(loop())

    async def _idle_kafka_member(self, admin: Any, topic: str) -> None:
        """A member of its own group on ``topic``, which stays empty: what a retry
        topic's consumer costs the broker and the process while nothing is retried."""
        from aiokafka import AIOKafkaConsumer
        from aiokafka.admin import NewTopic

        await admin.create_topics([NewTopic(topic, 1, 1)])
        self._close.append(lambda: admin.delete_topics([topic]))
        idle = AIOKafkaConsumer(
            topic,
            bootstrap_servers=URLS["kafka"],
            group_id=f"{topic}-g",
            enable_auto_commit=False,
            fetch_max_wait_ms=500,  # the runtime's RETRY_FETCH_MAX_WAIT_MS
        )
        await idle.start()
        self._close.append(idle.stop)

        async def poll() -> None:
            while True:
                await idle.getmany(timeout_ms=1000)

        self._spawn(poll())

    async def _start_kafka(self, source: str) -> None:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic
        from aiokafka.structs import OffsetAndMetadata

        admin = AIOKafkaAdminClient(bootstrap_servers=URLS["kafka"])
        await admin.start()
        self._close += [admin.close, lambda: admin.delete_topics([source])]
        await admin.create_topics([NewTopic(source, 1, 1)])
        consumer = AIOKafkaConsumer(
            source,
            bootstrap_servers=URLS["kafka"],
            group_id=f"{source}-g",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=10000,
            fetch_max_wait_ms=KAFKA_FETCH_MAX_WAIT_MS[0],
        )
        await consumer.start()
        self._close.append(consumer.stop)
        if KAFKA_RETRY_MEMBER[0]:
            await self._idle_kafka_member(admin, f"{source}.retry")
        done: dict[Any, int] = {}

        async def loop() -> None:
            while True:
                record = await consumer.getone()
                await self.record(record.value or b"")
                done[(record.topic, record.partition)] = record.offset + 1

        async def committer() -> None:
            from aiokafka import TopicPartition

            committed: dict[Any, int] = {}
            while True:
                await asyncio.sleep(0.5)
                todo = {k: v for k, v in done.items() if committed.get(k) != v}
                if todo:
                    await consumer.commit(
                        {
                            TopicPartition(*k): OffsetAndMetadata(v, "")
                            for k, v in todo.items()
                        }
                    )
                    committed.update(todo)

        self._spawn(loop())
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        self._spawn(committer())

    async def _start_rabbitmq(self, source: str) -> None:
        import aio_pika
        from aio_pika.abc import AbstractIncomingMessage

        connection = await aio_pika.connect(URLS["rabbitmq"])
        self._close.append(connection.close)
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1)
        queue = await channel.declare_queue(source, durable=True)
        self._close.insert(1, lambda: queue.delete(if_unused=False, if_empty=False))

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self.record(message.body)
            await message.ack()

        await queue.consume(on_message)

    async def _start_mqtt(self, source: str) -> None:
        from benchmarks.bench_mqtt import _Raw

        cid = f"latency-raw-{secrets.token_hex(4)}"
        raw = _Raw(cid, manual_ack=True)
        buffer: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()

        def on_message(_c: Any, _u: Any, m: Any) -> None:
            raw.received += 1
            buffer.put_nowait((m.mid, m.payload))

        raw.client.on_message = on_message
        await raw.connect("127.0.0.1", 1883, clean=True, receive_max=1)
        raw.acked.clear()
        raw.client.subscribe(f"$share/{GROUP}/{source}", qos=1)
        await raw.acked.wait()

        async def close() -> None:
            await raw.disconnect()
            cleaner = _Raw(cid)  # forget the persistent session
            await cleaner.connect("127.0.0.1", 1883, clean=True, expiry=0)
            await cleaner.disconnect()

        self._close.append(close)

        async def worker() -> None:
            while True:
                mid, payload = await buffer.get()
                await self.record(payload)
                raw.client.ack(mid, 1)

        self._spawn(worker())
