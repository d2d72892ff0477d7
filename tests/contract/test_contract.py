"""One contract, every broker: the same scenarios through Consumer and Application.

Parametrized in conftest.py over the memory broker and the five real brokers on
loopback. Message ids are carried in the bodies and checked one by one, not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from svcgen_runtime import (
    Application,
    Consumer,
    InboundMessage,
    Nack,
    Publisher,
    Retry,
    RetryPolicy,
    metrics,
    tracing,
)
from svcgen_runtime import message as m
from svcgen_runtime.brokers.base import Broker
from svcgen_runtime.errors import BrokerError
from svcgen_runtime.outcome import Outcome
from tests.support import until, until_async

from .harness import Harness, unique
from .worker import is_ready, lines
from .worker import spawn as spawn_worker

pytestmark = pytest.mark.broker

FAST = RetryPolicy(max_attempts=3, initial=0.05, max=0.1)
Handler = Callable[[Any, InboundMessage], Awaitable[Outcome | None]]


class Scenario:
    """A running service with one consumer (and optionally a dead-letter reader)."""

    def __init__(self, harness: Harness, source: str) -> None:
        self.harness = harness
        self.source = source
        self.dead: list[InboundMessage] = []
        self.app: Application | None = None
        self.consumer: Consumer[Any] | None = None

    async def publish(
        self, broker: Broker, *bodies: bytes, key: str | None = None
    ) -> None:
        for body in bodies:
            await broker.publish(self.source, body, key=key)


@contextlib.asynccontextmanager
async def service(
    harness: Harness,
    source: str,
    handler: Handler,
    *,
    read_dead_letters: bool = False,
    group: str | None = None,
    **consumer_kw: Any,
) -> AsyncIterator[Scenario]:
    scenario = Scenario(harness, source)
    broker = harness.broker("svc")
    consumer_kw.setdefault("retry", FAST)
    consumer: Consumer[Any] = Consumer(
        name="contract",
        broker=broker,
        source=source,
        group=group or unique("g"),
        handler=handler,
        ack_wait=harness.ack_wait(),
        options=dict(harness.consumer_options()),
        **consumer_kw,
    )
    consumers: list[Consumer[Any]] = [consumer]
    if read_dead_letters:

        async def keep(body: bytes, msg: InboundMessage) -> None:
            scenario.dead.append(msg)

        consumers.append(
            Consumer(
                name="dlq_reader",
                broker=broker,
                source=f"{source}.dlq",
                group=unique("dlq"),
                handler=keep,
                dead_letter=None,
                ack_wait=harness.ack_wait(),
                options=dict(harness.consumer_options()),
            )
        )
    app = Application(
        name="contract",
        brokers=[broker],
        consumers=consumers,
        handle_signals=False,
        drain_timeout=10,
    )
    serving = asyncio.create_task(app.serve())
    started = asyncio.ensure_future(app.wait_started())
    done, _ = await asyncio.wait(
        {serving, started}, timeout=60, return_when=asyncio.FIRST_COMPLETED
    )
    if serving in done or not done:
        started.cancel()
        app.shutdown(force=True)
        raise AssertionError(f"the service did not start (status {await serving})")
    scenario.app, scenario.consumer = app, consumer
    try:
        yield scenario
    finally:
        app.shutdown()
        await serving


@contextlib.asynccontextmanager
async def publisher(harness: Harness) -> AsyncIterator[Broker]:
    broker = harness.broker("publisher")
    await broker.connect()
    try:
        yield broker
    finally:
        await broker.close()


# -- outcomes -----------------------------------------------------------------------


async def test_ack_settles_every_message_once(harness: Harness) -> None:
    source = harness.source("ack")
    group = unique("g")
    seen: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        seen.append(body)

    ids = [f"m-{i}".encode() for i in range(10)]
    async with (
        service(harness, source, handle, group=group) as svc,
        publisher(harness) as pub,
    ):
        await svc.publish(pub, *ids)
        await until(lambda: len(seen) >= 10, 20, "10 deliveries")
        assert svc.consumer is not None
        await until(
            lambda: svc.consumer is not None and svc.consumer.stats.acked == 10,
            10,
            "10 acks",
        )
    assert sorted(seen) == sorted(ids)
    # a new consumer of the same group gets nothing: the acks were kept
    again: list[bytes] = []

    async def handle_again(body: bytes, msg: InboundMessage) -> None:
        again.append(body)

    async with service(harness, source, handle_again, group=group):
        await asyncio.sleep(harness.ack_wait() + 1.0)
    assert again == []


async def test_nack_requeue_increments_delivery_count(harness: Harness) -> None:
    source = harness.source("requeue")
    counts: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        counts.append(msg.delivery_count)
        return Nack(requeue=True)  # the third requeue exceeds max_attempts

    async with (
        service(
            harness,
            source,
            handle,
            read_dead_letters=True,
            retry=RetryPolicy(max_attempts=3),
        ) as svc,
        publisher(harness) as pub,
    ):
        await svc.publish(pub, b"m-1")
        await until(lambda: len(svc.dead) == 1, 30, "the dead letter after 3 requeues")
    assert counts == [1, 2, 3]
    assert svc.dead[0].headers[m.DLQ_ATTEMPTS] == "3"


async def test_nack_without_requeue_dead_letters_at_once(harness: Harness) -> None:
    source = harness.source("reject")

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        return Nack(requeue=False)

    async with (
        service(harness, source, handle, read_dead_letters=True) as svc,
        publisher(harness) as pub,
    ):
        await svc.publish(pub, b"m-1")
        await until(lambda: len(svc.dead) == 1, 20, "the dead letter")
    dead = svc.dead[0]
    assert dead.body == b"m-1"
    assert dead.headers[m.DLQ_REASON] == "rejected"
    assert dead.headers[m.DLQ_SOURCE] == source
    assert dead.headers[m.DLQ_ATTEMPTS] == "1"


async def test_retry_after_is_never_early_and_within_one_second(
    harness: Harness,
) -> None:
    """From the handler returning ``Retry(after)`` to the handler starting on the
    redelivery, on one clock in one process: at least ``after``, every time. The
    delays carry fractions of a millisecond, so a delay truncated to whole ms (or a
    due time read from a clock floored to ms) shows up as an early run."""
    source = harness.source("retry")
    afters = [0.2005, 0.0507, 0.1009]  # one per retry of each message
    returned: dict[bytes, float] = {}
    gaps: list[tuple[bytes, int, float, float]] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        started = time.monotonic()
        attempt = msg.delivery_count
        if attempt > 1:
            after = afters[attempt - 2]
            gaps.append((body, attempt, after, started - returned[body]))
        if attempt > len(afters):
            return None
        returned[body] = time.monotonic()
        return Retry(after=afters[attempt - 1])

    bodies = [b"m-1", b"m-2", b"m-3"]
    policy = RetryPolicy(max_attempts=len(afters) + 1, initial=0.05, max=0.1)
    async with (
        service(harness, source, handle, retry=policy) as svc,
        publisher(harness) as pub,
    ):
        await svc.publish(pub, *bodies)
        want = len(bodies) * len(afters)
        await until(lambda: len(gaps) >= want, 60, "every retried delivery")
    early = [g for g in gaps if g[3] < g[2]]
    assert early == [], early
    late = [g for g in gaps if g[3] > g[2] + 1.0]
    assert late == [], late
    assert sorted((b, a) for b, a, _, _ in gaps) == [
        (b, a) for b in bodies for a in range(2, len(afters) + 2)
    ]


async def test_exhausted_message_is_dead_lettered_with_headers(
    harness: Harness,
) -> None:
    source = harness.source("exhaust")
    attempts: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        attempts.append(msg.delivery_count)
        raise RuntimeError(f"cannot process {body.decode()}")

    async with (
        service(harness, source, handle, read_dead_letters=True) as svc,
        publisher(harness) as pub,
    ):
        await svc.publish(pub, b"m-1")
        await until(lambda: len(svc.dead) == 1, 30, "the dead letter")
    assert attempts == [1, 2, 3]
    h = svc.dead[0].headers
    assert svc.dead[0].body == b"m-1"
    assert h[m.DLQ_SOURCE] == source
    assert h[m.DLQ_ATTEMPTS] == "3"
    assert h[m.DLQ_CONSUMER] == "contract"
    assert h[m.DLQ_ERROR_TYPE] == "RuntimeError"
    assert h[m.DLQ_ERROR_MESSAGE] == "cannot process m-1"
    assert h[m.DLQ_REASON] == "exhausted"
    assert abs(float(h[m.DLQ_FAILED_AT]) - time.time()) < 60


async def test_poison_body_goes_to_dead_letter_at_once(harness: Harness) -> None:
    source = harness.source("poison")
    good: list[Any] = []

    async def handle(payload: Any, msg: InboundMessage) -> None:
        good.append(payload)

    async with (
        service(
            harness, source, handle, read_dead_letters=True, decode=json.loads
        ) as svc,
        publisher(harness) as pub,
    ):
        await svc.publish(pub, b"{broken", b'{"id": 2}')
        await until(
            lambda: len(svc.dead) == 1 and len(good) == 1, 20, "poison and good"
        )
    assert svc.dead[0].body == b"{broken"
    assert svc.dead[0].headers[m.DLQ_REASON] == "poison"
    assert svc.dead[0].headers[m.DLQ_ATTEMPTS] == "1"
    assert good == [{"id": 2}]


# Multi-line (pydantic-style), non-ASCII, control characters, a lone surrogate and
# a non-character, about 10 KB: MQTT, NATS and AMQP refuse some of it raw.
UGLY_ERROR = (
    "1 validation error for Order\nid\n  Field required [type=missing]\r\n"
    "\tгрешка ✓ 🚀 \x00\x1b\x7f\x85 \udcff \ufffe end\n" + "ünïcødé line\n" * 800
)


async def test_a_dead_letter_keeps_an_error_text_no_header_takes_raw(
    harness: Harness,
) -> None:
    source = harness.source("ugly")
    good: list[Any] = []

    def decode(body: bytes) -> Any:
        if body == b"ugly":
            raise ValueError(UGLY_ERROR)
        return json.loads(body)

    async def handle(payload: Any, msg: InboundMessage) -> None:
        good.append(payload)

    assert len(UGLY_ERROR.encode("utf-8", "surrogatepass")) > 10_000
    async with (
        service(harness, source, handle, read_dead_letters=True, decode=decode) as svc,
        publisher(harness) as pub,
    ):
        await svc.publish(pub, b"ugly", b'{"id": 2}')
        await until(lambda: len(svc.dead) == 1 and len(good) == 1, 20, "both")
        assert svc.consumer is not None
        assert svc.consumer.stats.settle_failures == 0
    dead = svc.dead[0]
    assert dead.body == b"ugly"
    h = dead.headers
    assert h[m.DLQ_SOURCE] == source
    assert h[m.DLQ_REASON] == "poison"
    assert h[m.DLQ_CONSUMER] == "contract"
    assert h[m.DLQ_ERROR_TYPE] == "ValueError"
    text = h[m.DLQ_ERROR_MESSAGE]
    assert text.startswith(
        "1 validation error for Order | id | Field required [type=missing] | "
        "грешка ✓ 🚀 \\x00\\x1b\\x7f | \\udcff \\ufffe end | ünïcødé line | "
    ), text[:120]
    assert text.endswith("…")
    assert len(text) == m.ERROR_MESSAGE_LIMIT
    assert good == [{"id": 2}]


async def test_a_refusing_dead_letter_destination_is_not_spun_on(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = harness.source("refused")
    good: list[Any] = []
    poison_reads: list[float] = []

    def decode(body: bytes) -> Any:
        if body == b"poison":
            poison_reads.append(time.monotonic())
            raise ValueError("not JSON")
        return json.loads(body)

    async def handle(payload: Any, msg: InboundMessage) -> None:
        good.append(payload)

    async def refused(msg: InboundMessage, headers: Any) -> None:
        raise BrokerError("the dead-letter destination refused the message (test)")

    # Two handlers: where the broker hands the released message straight back, it
    # takes one and the rest of the stream goes through the other.
    async with (
        service(harness, source, handle, decode=decode, concurrency=2) as svc,
        publisher(harness) as pub,
    ):
        assert svc.app is not None and svc.consumer is not None
        consumer = svc.consumer
        faked = not await harness.refuse_publishes(f"{source}.dlq")
        if faked:
            monkeypatch.setattr(consumer._sub, "dead_letter", refused)
        await svc.publish(pub, b"poison")
        await until(lambda: consumer.stats.settle_failures >= 1, 20, "a failure")
        # The rest of the stream keeps moving past the message that cannot settle.
        await svc.publish(pub, *(b'{"id": %d}' % i for i in range(5)))
        await until(lambda: len(good) == 5, 20, "the good messages")
        start = time.monotonic()
        await asyncio.sleep(4.0)
        # Not spun on: redelivered now and then (0.2 s, 0.4 s, 0.8 s … apart) or
        # left to the broker's own timer, never at once over and over.
        window = [t for t in poison_reads if t >= start]
        assert len(window) <= 6, len(window)
        # Released, so read again while the destination refuses, without a
        # reconnect or rebalance (Kafka seeks back to it, MQTT keeps it in the
        # adapter's buffer), and the finished messages behind it are not redone.
        assert len(poison_reads) >= 3, len(poison_reads)
        stats = consumer.stats
        assert stats.dead_lettered == 0 and stats.acked == 5 and len(good) == 5
        assert stats.settle_failures == len(poison_reads)
        text = (await metrics.exposition(svc.app)).decode()
        assert (
            'svcgen_consumer_settle_failures_total{service="contract",'
            f'consumer="contract",broker="{consumer.broker.name}"}} '
            f"{stats.settle_failures}\n"
        ) in text
        if not faked:
            return  # the harness has no way to make its destination accept again
        # The destination accepts again: the next read dead-letters it, and the
        # commit point moves past it (poison at offset 0, five good ones after).
        monkeypatch.undo()
        await until(lambda: consumer.stats.dead_lettered == 1, 30, "the dead letter")
        assert consumer.stats.acked == 5 and len(good) == 5
        if harness.kind == "kafka":
            from aiokafka.structs import TopicPartition

            sub: Any = consumer._sub
            tp = TopicPartition(source, 0)

            async def committed_past() -> bool:
                return bool(await sub._consumer.committed(tp) == 6)

            await until_async(committed_past, 20, "the commit past the poison")


async def test_concurrency_cap_is_reached_and_never_exceeded(harness: Harness) -> None:
    source = harness.source("cap")
    running = 0
    peak = 0
    done: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.1)
        running -= 1
        done.append(body)

    ids = [f"m-{i}".encode() for i in range(24)]
    async with (
        service(harness, source, handle, concurrency=4) as svc,
        publisher(harness) as pub,
    ):
        await svc.publish(pub, *ids)
        await until(lambda: len(done) >= 24, 30, "24 messages")
        assert svc.consumer is not None
        assert svc.consumer.stats.peak_in_flight == 4
    assert peak == 4
    assert sorted(done) == sorted(ids)


async def test_per_key_ordering(harness: Harness) -> None:
    source = harness.source("order")
    order: dict[str, list[int]] = {}
    active: set[str] = set()
    overlaps: list[str] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        key = body.decode().split(":")[0]
        if key in active:
            overlaps.append(key)
        active.add(key)
        await asyncio.sleep(0.01 * (int(body.decode().split(":")[1]) % 3))
        order.setdefault(key, []).append(int(body.decode().split(":")[1]))
        active.discard(key)

    async with (
        service(harness, source, handle, concurrency=6, ordering="key") as svc,
        publisher(harness) as pub,
    ):
        for i in range(40):
            key = f"k{i % 4}"
            await svc.publish(pub, f"{key}:{i}".encode(), key=key)
        await until(
            lambda: sum(len(v) for v in order.values()) >= 40, 30, "40 messages"
        )
    assert overlaps == []
    for key, seq in order.items():
        assert seq == sorted(seq), (key, seq)


# -- tracing ------------------------------------------------------------------------


async def test_a_trace_crosses_the_broker_in_the_headers(harness: Harness) -> None:
    """The sender's span context rides in the message headers (W3C traceparent):
    the handler's span on the other side belongs to the same trace."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)  # before the consumer starts: it decides then
    try:
        source = harness.source("trace")
        handled: list[InboundMessage] = []

        async def handle(body: bytes, msg: InboundMessage) -> None:
            handled.append(msg)

        async with (
            service(harness, source, handle) as svc,
            publisher(harness) as pub,
        ):
            sender: Publisher[bytes] = Publisher(name="p", broker=pub, target=source)
            await sender.publish(b"traced")
            await until(lambda: len(handled) == 1, 20, "the delivery")
            consumer = svc.consumer
            assert consumer is not None
            await until(lambda: consumer.stats.acked == 1, 10, "the ack")
    finally:
        tracing.use_provider(None)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    send, process = spans[f"send {source}"], spans[f"process {source}"]
    assert "traceparent" in handled[0].headers
    assert process.context.trace_id == send.context.trace_id
    assert process.parent is not None and process.parent.span_id == send.context.span_id
    attributes = dict(process.attributes or {})
    assert attributes["messaging.system"] == harness.broker("x").kind
    assert attributes["svcgen.outcome"] == "ack"


# -- lag ----------------------------------------------------------------------------


async def test_lag_counts_what_waits_and_drops_to_zero(harness: Harness) -> None:
    """With one handler held, most of a backlog waits in the broker, and the
    consumer's lag says so; once everything is acknowledged it says 0 (MQTT: the
    broker does not tell, so no lag at all)."""
    source = harness.source("lag")
    release = asyncio.Event()

    async def handle(body: bytes, msg: InboundMessage) -> None:
        await release.wait()

    async with (
        service(harness, source, handle, concurrency=1) as svc,
        publisher(harness) as pub,
    ):
        consumer = svc.consumer
        assert consumer is not None
        await svc.publish(pub, *[f"m-{i}".encode() for i in range(20)])
        await until(lambda: consumer.stats.in_flight == 1, 20, "the first handler")
        if harness.broker("x").kind == "mqtt":
            assert await consumer.lag() is None
            release.set()
            return
        waiting: list[int | None] = []

        async def most_waits() -> bool:
            waiting.append(await consumer.lag())
            return (waiting[-1] or 0) >= 10

        await until_async(most_waits, 20, "a lag of at least 10")
        release.set()
        await until(lambda: consumer.stats.acked == 20, 30, "20 acks")

        async def none_waits() -> bool:
            waiting.append(await consumer.lag())
            return waiting[-1] == 0

        await until_async(none_waits, 20, "a lag of 0")


# -- processes: crash, drain, reconnect ----------------------------------------------


async def test_crash_with_messages_in_flight_loses_nothing(
    process_harness: Harness, tmp_path: Path
) -> None:
    harness = process_harness
    source, group = harness.source("crash"), unique("g")
    ids = [f"m-{i}" for i in range(30)]
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    proc = spawn_worker(
        harness.kind, source, group, first, concurrency=5, handler_seconds=0.4
    )
    try:
        await until(lambda: is_ready(first), 60, "the first worker to start")
        async with publisher(harness) as pub:
            for i in ids:
                await pub.publish(source, i.encode())

        def busy() -> set[str]:
            return set(lines(first, "start")) - set(lines(first, "done"))

        await until(
            lambda: len(lines(first, "done")) >= 5 and bool(busy()),
            30,
            "some work done and handlers in flight",
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        in_flight = busy()  # what the kill interrupted: started, never finished
        assert in_flight
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    proc2 = spawn_worker(
        harness.kind, source, group, second, concurrency=5, handler_seconds=0.0
    )
    try:

        def all_done() -> bool:
            return set(lines(first, "done")) | set(lines(second, "done")) == set(ids)

        await until(
            all_done, 60 + harness.ack_wait(), "every id handled after the crash"
        )
        assert in_flight <= set(lines(second, "done"))
    finally:
        proc2.send_signal(signal.SIGTERM)
        proc2.wait(timeout=30)


async def test_sigterm_drains_in_flight_and_nothing_is_redelivered(
    process_harness: Harness, tmp_path: Path
) -> None:
    harness = process_harness
    source, group = harness.source("drain"), unique("g")
    ids = [f"m-{i}" for i in range(5)]
    out = tmp_path / "worker.log"
    proc = spawn_worker(
        harness.kind, source, group, out, concurrency=5, handler_seconds=1.0
    )
    try:
        await until(lambda: is_ready(out), 60, "the worker to start")
        async with publisher(harness) as pub:
            for i in ids:
                await pub.publish(source, i.encode())
        await until(lambda: len(lines(out, "start")) == 5, 30, "5 handlers in flight")
        assert lines(out, "done") == []
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 0
    assert sorted(lines(out, "done")) == sorted(ids)
    assert "exit 0 acked=5" in out.read_text()
    redelivered: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        redelivered.append(body)

    async with service(harness, source, handle, group=group):
        await asyncio.sleep(harness.ack_wait() + 1.5)
    assert redelivered == []


async def test_reconnect_after_a_server_side_cut_loses_nothing(
    harness: Harness,
) -> None:
    source = harness.source("reconnect")
    started: set[bytes] = set()
    seen: set[bytes] = set()

    async def handle(body: bytes, msg: InboundMessage) -> None:
        started.add(body)
        await asyncio.sleep(0.2)
        seen.add(body)

    first = [f"a-{i}".encode() for i in range(10)]
    later = [f"b-{i}".encode() for i in range(10)]
    async with service(harness, source, handle, concurrency=4) as svc:
        async with publisher(harness) as pub:
            await svc.publish(pub, *first)
        await until(lambda: len(started) >= 2, 20, "handlers in flight")
        assert started - seen  # the cut lands while handlers run
        await harness.cut_connections()
        async with publisher(harness) as pub:
            await svc.publish(pub, *later)
        await until(lambda: seen >= set(first), 60, "the batch cut in flight")
        await until(lambda: seen >= set(later), 60, "the batch after the cut")
        await until(lambda: svc.app is not None and svc.app.ready, 30, "ready again")
    assert seen == set(first) | set(later)
