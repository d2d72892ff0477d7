"""The RabbitMQ adapter against the real server on 127.0.0.1:5672, through Consumer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aio_pika
import pytest

from svcgen_runtime.application import Application
from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.rabbitmq import RabbitMQBroker, delay_bucket_ms
from svcgen_runtime.consumer import Consumer
from svcgen_runtime.errors import BrokerError, ConfigurationError
from svcgen_runtime.message import ATTEMPT_HEADER, KEY_HEADER, InboundMessage
from svcgen_runtime.outcome import Ack, Nack, Outcome, Retry
from svcgen_runtime.retry import RetryPolicy
from tests.contract.harness_rabbitmq import URL, Harness, rabbitmqctl
from tests.support import until as wait_for

pytestmark = pytest.mark.broker

Handler = Callable[[bytes, InboundMessage], Awaitable[Outcome | None]]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        await h.cleanup()


@pytest.fixture
async def amqp() -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A plain aio-pika channel for looking at queues behind the adapter's back."""
    connection = await aio_pika.connect(URL, timeout=5.0)
    async with connection:
        yield await connection.channel()


def consumer(
    h: Harness,
    broker: RabbitMQBroker,
    source: str,
    handler: Handler,
    *,
    quorum: bool = False,
    **kwargs: Any,
) -> Consumer[bytes]:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=5, initial=0.05, jitter=False))
    return Consumer(
        name="c",
        broker=broker,
        source=source,
        handler=handler,
        options={"quorum": quorum},
        timeout=10.0,
        **kwargs,
    )


@dataclass
class Run:
    """A running Application; ``exit_code`` is set once it has stopped."""

    app: Application
    exit_code: int | None = None


@asynccontextmanager
async def running(
    broker: RabbitMQBroker, *consumers: Consumer[bytes], drain: float = 5.0
) -> AsyncIterator[Run]:
    app = Application(
        name="t",
        brokers=[broker],
        consumers=consumers,
        handle_signals=False,
        drain_timeout=drain,
    )
    task = asyncio.create_task(app.serve())
    started = asyncio.create_task(app.wait_started())
    done, _ = await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        started.cancel()
        raise AssertionError(f"the application did not start: exit {task.result()}")
    run = Run(app)
    try:
        yield run
    finally:
        if not task.done():
            app.shutdown()
        run.exit_code = await task


async def queue_depth(channel: aio_pika.abc.AbstractChannel, name: str) -> int:
    """Messages ready in ``name`` (passive declare: the queue must exist)."""
    queue = await channel.declare_queue(name, passive=True)
    count = queue.declaration_result.message_count
    assert count is not None
    return count


async def get_all(
    channel: aio_pika.abc.AbstractChannel, name: str, expected: int
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Take ``expected`` messages from ``name`` with basic.get, waiting up to 10 s."""
    queue = await channel.declare_queue(name, passive=True)
    out: list[aio_pika.abc.AbstractIncomingMessage] = []
    deadline = time.monotonic() + 10.0
    while len(out) < expected and time.monotonic() < deadline:
        msg = await queue.get(fail=False, timeout=5.0)
        if msg is None:
            await asyncio.sleep(0.05)
            continue
        await msg.ack()
        out.append(msg)
    return out


# -- pure -------------------------------------------------------------------------


def test_delay_buckets_round_up_and_stay_within_a_second() -> None:
    for after in (0.0, 0.001, 0.05, 0.1, 0.25, 1.0, 1.2345, 9.99, 10.2, 59.9, 61.3):
        ms = delay_bucket_ms(after)
        assert ms >= after * 1000
        assert ms - after * 1000 <= 1000
    assert delay_bucket_ms(0.25) == 300
    assert delay_bucket_ms(12.1) == 12_500
    assert delay_bucket_ms(61.3) == 62_000
    # Jittered backoffs land in few queues, not one queue per message.
    assert len({delay_bucket_ms(x / 1000) for x in range(0, 1000)}) == 10


# -- outcomes -----------------------------------------------------------------------


async def test_ack_consumes_everything_and_leaves_nothing_unacked(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel
) -> None:
    broker = harness.broker()
    source = harness.source("ack")
    seen: list[InboundMessage] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        seen.append(msg)
        return Ack()

    c = consumer(harness, broker, source, handle, concurrency=4)
    async with running(broker, c) as run:
        for i in range(50):
            await broker.publish(source, f"m{i}".encode(), key=f"k{i % 3}")
        await wait_for(lambda: c.stats.acked == 50)
    assert run.exit_code == 0
    assert sorted(m.body for m in seen) == sorted(f"m{i}".encode() for i in range(50))
    first = seen[0]
    assert first.delivery_count == 1
    assert first.key in {"k0", "k1", "k2"}
    assert KEY_HEADER not in first.headers
    assert first.source == source
    assert first.timestamp is not None and abs(first.timestamp - time.time()) < 60
    assert isinstance(first.position["delivery_tag"], int)
    assert len({m.id for m in seen}) == 50
    assert c.stats.peak_in_flight <= 4
    # A channel close would requeue any delivery left unacked: the queue is empty.
    assert await queue_depth(amqp, source) == 0


@pytest.mark.parametrize("quorum", [False, True], ids=["classic", "quorum"])
async def test_requeue_increments_delivery_count(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel, quorum: bool
) -> None:
    broker = harness.broker()
    source = harness.source("requeue")
    counts: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        counts.append(msg.delivery_count)
        return Nack(requeue=True) if msg.delivery_count < 3 else Ack()

    c = consumer(harness, broker, source, handle, quorum=quorum)
    async with running(broker, c):
        await broker.publish(source, b"again", headers={"trace": "t-1"})
        await wait_for(lambda: c.stats.acked == 1)
    assert counts == [1, 2, 3]
    assert c.stats.requeued == 2
    assert await queue_depth(amqp, source) == 0
    if quorum:
        queue = await amqp.declare_queue(source, passive=True)
        assert queue.declaration_result.message_count == 0


async def test_quorum_source_is_a_quorum_queue_and_counts_redeliveries(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel
) -> None:
    """A quorum queue counts a returned delivery; a classic one cannot.

    Before RabbitMQ 4.3 every return counts (measured on 3.10.8); from 4.3 the
    release's ``basic.nack`` is not a failure and is not counted.
    """
    broker = harness.broker()
    source = harness.source("quorum")
    version = await rabbitmqctl("version")
    major, minor = (int(part) for part in version.strip().split(".")[:2])
    counts_release = (major, minor) < (4, 3)
    counts: list[int] = []
    gate = asyncio.Event()

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        counts.append(msg.delivery_count)
        if len(counts) == 1:
            await gate.wait()  # held until the forced shutdown cancels it
        return Ack()

    c1 = consumer(harness, broker, source, handle, quorum=True)
    async with running(broker, c1, drain=0.2) as run:
        await broker.publish(source, b"q")
        await wait_for(lambda: len(counts) == 1)
    assert run.exit_code == 1
    assert c1.stats.released == 1 and c1.stats.acked == 0

    listing = await rabbitmqctl("list_queues", "--no-table-headers", "name", "type")
    assert f"{source}\tquorum" in listing.splitlines()
    broker2 = harness.broker("second")
    c2 = consumer(harness, broker2, source, handle, quorum=True)
    async with running(broker2, c2):
        await wait_for(lambda: c2.stats.acked == 1)
    assert counts == [1, 2 if counts_release else 1]


async def test_retry_after_is_not_early_and_not_late(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel
) -> None:
    broker = harness.broker()
    source = harness.source("retry")
    arrivals: dict[bytes, list[tuple[float, int]]] = {b"slow": [], b"fast": []}
    delays = {b"slow": 2.5, b"fast": 0.6}

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        arrivals[body].append((time.monotonic(), msg.delivery_count))
        if msg.delivery_count == 1:
            return Retry(after=delays[body])
        return Ack()

    c = consumer(harness, broker, source, handle, concurrency=2)
    async with running(broker, c):
        await broker.publish(source, b"slow")
        await broker.publish(source, b"fast")
        await wait_for(lambda: c.stats.acked == 2)
    for body, after in delays.items():
        (t1, n1), (t2, n2) = arrivals[body]
        assert (n1, n2) == (1, 2)
        waited = t2 - t1
        assert after <= waited <= after + 1.0, (body, waited)
    # No head-of-line blocking: the short delay came back before the long one.
    assert arrivals[b"fast"][1][0] < arrivals[b"slow"][1][0]
    assert await queue_depth(amqp, source) == 0
    assert await queue_depth(amqp, f"{source}.delay.{delay_bucket_ms(0.6)}") == 0
    queue = await amqp.declare_queue(f"{source}.delay.2500", passive=True)
    assert queue.declaration_result.message_count == 0


async def test_retry_delays_survive_the_consumer_going_away(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel
) -> None:
    """The delay lives in the broker: a retried message comes back to a new consumer."""
    broker = harness.broker()
    source = harness.source("retry-durable")
    counts: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        counts.append(msg.delivery_count)
        return Retry(after=1.0) if msg.delivery_count == 1 else Ack()

    c1 = consumer(harness, broker, source, handle)
    async with running(broker, c1):
        await broker.publish(source, b"r")
        await wait_for(lambda: c1.stats.retried == 1)
    assert await queue_depth(amqp, source) == 0
    assert await queue_depth(amqp, f"{source}.delay.1000") == 1
    broker2 = harness.broker("second")
    c2 = consumer(harness, broker2, source, handle)
    async with running(broker2, c2):
        await wait_for(lambda: c2.stats.acked == 1)
    assert counts == [1, 2]


async def test_nack_without_requeue_dead_letters_with_headers(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel
) -> None:
    broker = harness.broker()
    source = harness.source("dlq")
    dlq = f"{source}.dlq"

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        return Nack(requeue=False)

    c = consumer(harness, broker, source, handle)
    async with running(broker, c):
        await broker.publish(source, b"bad", key="k-7", headers={"trace": "abc"})
        await wait_for(lambda: c.stats.dead_lettered == 1)
    [dead] = await get_all(amqp, dlq, 1)
    assert dead.body == b"bad"
    headers = dead.headers
    assert headers["x-svcgen-original-source"] == source
    assert headers["x-svcgen-consumer"] == "c"
    assert headers["x-svcgen-reason"] == "rejected"
    assert headers["x-svcgen-attempts"] == "1"
    assert headers["trace"] == "abc"
    assert headers[KEY_HEADER] == "k-7"
    assert await queue_depth(amqp, source) == 0


@pytest.mark.parametrize("quorum", [False, True], ids=["classic", "quorum"])
async def test_exhausted_retries_dead_letter_after_max_attempts(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel, quorum: bool
) -> None:
    broker = harness.broker()
    source = harness.source("exhaust")
    counts: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        counts.append(msg.delivery_count)
        raise ValueError(f"boom {msg.delivery_count}")

    c = consumer(
        harness,
        broker,
        source,
        handle,
        quorum=quorum,
        retry=RetryPolicy(max_attempts=3, initial=0.1, jitter=False),
    )
    async with running(broker, c):
        await broker.publish(source, b"doomed")
        await wait_for(lambda: c.stats.dead_lettered == 1)
    assert counts == [1, 2, 3]
    [dead] = await get_all(amqp, f"{source}.dlq", 1)
    assert dead.headers["x-svcgen-attempts"] == "3"
    assert dead.headers["x-svcgen-error-type"] == "ValueError"
    assert dead.headers["x-svcgen-error-message"] == "boom 3"
    assert dead.headers["x-svcgen-reason"] == "exhausted"
    assert "x-death" not in dead.headers
    assert await queue_depth(amqp, source) == 0


async def test_forced_shutdown_releases_in_flight_messages(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel
) -> None:
    broker = harness.broker()
    source = harness.source("release")
    started = asyncio.Event()

    async def stuck(body: bytes, msg: InboundMessage) -> Outcome:
        started.set()
        await asyncio.sleep(60)
        return Ack()

    c = consumer(harness, broker, source, stuck, concurrency=3)
    async with running(broker, c, drain=0.3) as run:
        for i in range(3):
            await broker.publish(source, f"s{i}".encode())
        await wait_for(lambda: c.stats.in_flight == 3)
    assert run.exit_code == 1
    assert c.stats.acked == 0 and c.stats.released == 3
    assert await queue_depth(amqp, source) == 3
    redelivered = await get_all(amqp, source, 3)
    assert sorted(m.body for m in redelivered) == [b"s0", b"s1", b"s2"]
    assert all(m.redelivered for m in redelivered)


async def test_prefetch_bounds_unacked_deliveries_by_concurrency(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel
) -> None:
    broker = harness.broker()
    source = harness.source("prefetch")
    gate = asyncio.Event()

    async def slow(body: bytes, msg: InboundMessage) -> Outcome:
        await gate.wait()
        return Ack()

    c = consumer(harness, broker, source, slow, concurrency=2)
    async with running(broker, c):
        for i in range(10):
            await broker.publish(source, f"p{i}".encode())
        await wait_for(lambda: c.stats.in_flight == 2)
        await asyncio.sleep(0.3)
        # The broker holds back everything beyond the prefetch of 2.
        assert await queue_depth(amqp, source) == 8
        assert c.stats.received == 2
        gate.set()
        await wait_for(lambda: c.stats.acked == 10)
    assert c.stats.peak_in_flight == 2


async def test_coalesced_acks_never_cover_a_message_still_in_flight(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel
) -> None:
    """``basic.ack(multiple)`` stops below the oldest unsettled delivery, and the acks
    above it still go out at once (held back, they would use up the prefetch)."""
    broker = harness.broker()
    source = harness.source("coalesce")
    gate = asyncio.Event()

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        if body == b"slow":
            await gate.wait()
        return Ack()

    # Queued up front, so deliveries arrive together and acks batch up.
    await amqp.declare_queue(source, durable=True)
    await broker.connect()
    await broker.publish(source, b"slow")
    await asyncio.gather(*(broker.publish(source, f"f{i}".encode()) for i in range(40)))
    c = consumer(harness, broker, source, handle, concurrency=4)
    async with running(broker, c, drain=0.3) as run:
        await wait_for(lambda: c.stats.acked == 40)
        await asyncio.sleep(0.2)
        listing = await rabbitmqctl(
            "list_queues", "--no-table-headers", "name", "messages_unacknowledged"
        )
        unacked = dict(line.split("\t") for line in listing.splitlines())
        assert unacked[source] == "1"
    assert run.exit_code == 1
    assert c.stats.released == 1
    [again] = await get_all(amqp, source, 1)
    assert again.body == b"slow" and again.redelivered


# -- topology and errors -------------------------------------------------------------


async def test_subscribe_declares_source_and_dead_letter_idempotently(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel
) -> None:
    broker = harness.broker()
    source = harness.source("declare")
    spec = SubscriptionSpec(
        consumer="c", source=source, group="g", dead_letter=f"{source}.dlq"
    )
    await broker.connect()
    try:
        for _ in range(2):
            sub = await broker.subscribe(spec)
            await sub.close()
        assert await queue_depth(amqp, source) == 0
        assert await queue_depth(amqp, f"{source}.dlq") == 0
        # A quorum consumer on a classic queue is a configuration error, said plainly.
        with pytest.raises(ConfigurationError, match="options\\['quorum'\\]"):
            await broker.subscribe(
                SubscriptionSpec(
                    consumer="c", source=source, group="g", options={"quorum": True}
                )
            )
        # The broker is still usable afterwards.
        await broker.publish(source, b"still fine")
        assert await queue_depth(amqp, source) == 1
    finally:
        await broker.close()


async def test_publish_to_a_missing_queue_raises_instead_of_dropping(
    harness: Harness,
) -> None:
    broker = harness.broker()
    await broker.connect()
    try:
        with pytest.raises(BrokerError, match="does not exist"):
            await broker.publish(harness.source("nowhere"), b"lost?")
        assert broker.connected
    finally:
        await broker.close()
    assert not broker.connected


async def test_republished_copies_keep_id_key_and_headers(
    harness: Harness,
) -> None:
    broker = harness.broker()
    source = harness.source("copy")
    seen: list[InboundMessage] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        seen.append(msg)
        return Retry(after=0.0) if msg.delivery_count == 1 else Ack()

    c = consumer(harness, broker, source, handle)
    async with running(broker, c):
        await broker.publish(source, b"same", key="kk", headers={"h": "v"})
        await wait_for(lambda: c.stats.acked == 1)
    first, second = seen
    assert second.id == first.id
    assert second.key == "kk"
    assert second.headers["h"] == "v"
    assert second.headers[ATTEMPT_HEADER] == "2"
    assert not any(name.startswith("x-death") for name in second.headers)


async def test_deleted_source_queue_is_declared_again_and_consumed(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel
) -> None:
    """The broker cancels a consumer whose queue is deleted; it subscribes again."""
    broker = harness.broker()
    source = harness.source("deleted")
    bodies: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        bodies.append(body)
        return Ack()

    c = consumer(harness, broker, source, handle)
    async with running(broker, c):
        await broker.publish(source, b"before")
        await wait_for(lambda: c.stats.acked == 1)
        await amqp.queue_delete(source)
        await wait_for(lambda: not c.consuming, timeout=5.0)
        await wait_for(lambda: c.consuming, timeout=10.0)
        await broker.publish(source, b"after")
        await wait_for(lambda: c.stats.acked == 2)
    assert bodies == [b"before", b"after"]


async def test_deleted_delay_and_dead_letter_queues_are_declared_again(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel
) -> None:
    broker = harness.broker()
    source = harness.source("redeclare")
    bucket = f"{source}.delay.{delay_bucket_ms(0.3)}"

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        return Retry(after=0.3) if msg.delivery_count == 1 else Nack(requeue=False)

    c = consumer(harness, broker, source, handle)
    async with running(broker, c):
        await broker.publish(source, b"one")
        await wait_for(lambda: c.stats.dead_lettered == 1)
        await amqp.queue_delete(bucket)
        await amqp.queue_delete(f"{source}.dlq")
        await broker.publish(source, b"two")
        await wait_for(lambda: c.stats.dead_lettered == 2)
    assert c.stats.settle_failures == 0
    [dead] = await get_all(amqp, f"{source}.dlq", 1)
    assert dead.body == b"two"
    assert dead.headers["x-svcgen-attempts"] == "2"


# -- reconnect --------------------------------------------------------------------------


async def test_server_side_cut_resumes_and_loses_nothing(
    harness: Harness, amqp: aio_pika.abc.AbstractChannel
) -> None:
    broker = harness.broker()
    source = harness.source("cut")
    bodies: list[bytes] = []
    hold = asyncio.Event()

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        if body == b"held" and msg.delivery_count == 1 and not hold.is_set():
            await hold.wait()  # in flight across the cut: its ack must not happen
        bodies.append(body)
        return Ack()

    c = consumer(harness, broker, source, handle, concurrency=4)
    async with running(broker, c) as run:
        await broker.publish(source, b"held")
        for i in range(20):
            await broker.publish(source, f"a{i}".encode())
        await wait_for(lambda: c.stats.acked == 20)
        await harness.cut_connections()
        await wait_for(lambda: not c.consuming, timeout=5.0)
        hold.set()  # the held handler finishes; its ack belongs to the dead channel
        await wait_for(lambda: c.stats.settle_failures == 1, timeout=5.0)
        for i in range(20):
            await broker.publish(source, f"b{i}".encode())  # reconnects by itself
        await wait_for(lambda: run.app.ready, timeout=10.0)
        await wait_for(lambda: c.stats.acked == 41, timeout=10.0)
    expected = {b"held", *(f"a{i}".encode() for i in range(20))}
    expected |= {f"b{i}".encode() for i in range(20)}
    assert set(bodies) == expected
    # "held" ran twice: once on the dead channel (ack refused), once redelivered.
    assert bodies.count(b"held") == 2
    assert await queue_depth(amqp, source) == 0
