"""The consume loop's state machine on the memory broker: outcomes, caps, timeouts, cancellation."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

import pytest

from svcgen_runtime import (
    Ack,
    Application,
    Consumer,
    InboundMessage,
    MemoryBroker,
    Nack,
    Retry,
    RetryPolicy,
)
from svcgen_runtime import message as m
from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.memory import MemorySubscription
from svcgen_runtime.consumer import settle
from svcgen_runtime.errors import BrokerError
from svcgen_runtime.outcome import Outcome
from svcgen_runtime.testing import run_service
from tests.support import until

FAST = RetryPolicy(max_attempts=3, initial=0.01, max=0.02)


def make(
    handler: Any,
    *,
    broker: MemoryBroker | None = None,
    source: str = "in",
    **kw: Any,
) -> tuple[Application, Consumer[Any], MemoryBroker]:
    broker = broker or MemoryBroker("local")
    kw.setdefault("retry", FAST)
    consumer: Consumer[Any] = Consumer(
        name="c", broker=broker, source=source, handler=handler, **kw
    )
    app = Application(
        name="t",
        brokers=[broker],
        consumers=[consumer],
        handle_signals=False,
        drain_timeout=2.0,
    )
    return app, consumer, broker


async def test_ack_and_none_both_acknowledge() -> None:
    seen: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        seen.append(body)
        return Ack() if body == b"a" else None

    app, consumer, broker = make(handle)
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"a")
        await svc.publish("local", "in", b"b")
        await svc.wait_idle()
        assert sorted(seen) == [b"a", b"b"]
        assert consumer.stats.acked == 2
        assert broker.pending("in") == 0


async def test_nack_requeue_redelivers_with_a_higher_delivery_count() -> None:
    counts: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        counts.append(msg.delivery_count)
        return Nack(requeue=True) if msg.delivery_count < 3 else Ack()

    app, consumer, _ = make(handle, retry=RetryPolicy(max_attempts=5))
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"x")
        await svc.wait_idle()
        assert counts == [1, 2, 3]
        assert consumer.stats.requeued == 2
        assert consumer.stats.acked == 1


async def test_nack_without_requeue_dead_letters_at_once() -> None:
    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        return Nack(requeue=False)

    app, consumer, _ = make(handle)
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"bad", headers={"trace": "t1"})
        await svc.wait_idle()
        [dead] = svc.dead_letters("local", "in.dlq")
        assert dead.body == b"bad"
        assert dead.headers["trace"] == "t1"
        assert dead.headers[m.DLQ_REASON] == "rejected"
        assert dead.headers[m.DLQ_ATTEMPTS] == "1"
        assert consumer.stats.dead_lettered == 1


async def test_retry_after_is_not_early_and_at_most_100ms_late() -> None:
    times: list[float] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        times.append(time.monotonic())
        return Retry(after=0.3) if msg.delivery_count == 1 else Ack()

    app, consumer, _ = make(handle)
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"x")
        await svc.wait_idle()
    assert len(times) == 2
    gap = times[1] - times[0]
    assert 0.3 <= gap <= 0.4, gap
    assert consumer.stats.retried == 1


async def test_a_delivery_a_few_ms_before_its_due_time_waits_for_it() -> None:
    """A broker may hand a retry back a little early (ms TTLs, clocks read at other
    moments): the handler still never starts before the due time."""
    started: list[float] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        started.append(time.time())

    app, consumer, _ = make(handle)
    async with run_service(app) as svc:
        dues = []
        for ahead in (0.004, 0.0015, 0.03):
            due = time.time() + ahead
            dues.append(due)
            await svc.publish("local", "in", b"x", headers={m.DUE_HEADER: repr(due)})
            await svc.wait_idle()
    assert len(started) == 3
    for due, at in zip(dues, started, strict=True):
        assert at >= due, (due, at)
    assert consumer.stats.deferred == 0  # waited in the worker, not sent back


async def test_a_memory_retry_is_timed_by_the_monotonic_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A wall-clock step forward (NTP) does not release a delayed retry early."""
    from svcgen_runtime.brokers import memory

    offset = [0.0]

    class SteppedClock:
        monotonic = staticmethod(time.monotonic)

        @staticmethod
        def time() -> float:
            return time.time() + offset[0]

    monkeypatch.setattr(memory, "time", SteppedClock)
    times: list[tuple[bytes, float]] = []
    returned: list[float] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        times.append((body, time.monotonic()))
        if body == b"x" and msg.delivery_count == 1:
            returned.append(time.monotonic())
            return Retry(after=0.3)
        return None

    app, _, _ = make(handle)
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"x")
        await asyncio.sleep(0.1)
        offset[0] = 5.0  # the wall clock jumps; the fetch wakes for the next message
        await svc.publish("local", "in", b"y")
        await svc.wait_idle()
    again = [t for body, t in times if body == b"x"][1]
    assert again - returned[0] >= 0.3, again - returned[0]


def test_due_headers_round_up_to_the_millisecond() -> None:
    assert m.due_header(1000.0001, 0.0) == "1000.001"
    assert m.due_header(1000.0, 0.0019) == "1000.002"
    assert m.due_header(1000.0, 0.25) == "1000.250"
    for now in (1.7e9 + 0.1234567, 1.7e9 + 0.9999999):
        assert float(m.due_header(now, 0.2505)) >= now + 0.2505


async def test_exceptions_retry_with_backoff_then_dead_letter_with_headers() -> None:
    attempts: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        attempts.append(msg.delivery_count)
        raise ValueError("cannot handle " + body.decode())

    app, consumer, _ = make(handle)
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"x")
        await svc.wait_idle()
        assert attempts == [1, 2, 3]
        [dead] = svc.dead_letters("local", "in.dlq")
        h = dead.headers
        assert h[m.DLQ_SOURCE] == "in"
        assert h[m.DLQ_ATTEMPTS] == "3"
        assert h[m.DLQ_CONSUMER] == "c"
        assert h[m.DLQ_ERROR_TYPE] == "ValueError"
        assert h[m.DLQ_ERROR_MESSAGE] == "cannot handle x"
        assert abs(float(h[m.DLQ_FAILED_AT]) - time.time()) < 5
        assert consumer.stats.errors == 3
        # the loop survived: a later message is still handled
        assert consumer.ready


async def test_poison_body_goes_to_dead_letter_without_running_the_handler() -> None:
    calls: list[Any] = []

    async def handle(payload: Any, msg: InboundMessage) -> None:
        calls.append(payload)

    app, _, _ = make(handle, decode=json.loads)
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"{not json")
        await svc.publish("local", "in", b'{"ok": 1}')
        await svc.wait_idle()
        [dead] = svc.dead_letters("local", "in.dlq")
        assert dead.body == b"{not json"
        assert dead.headers[m.DLQ_REASON] == "poison"
        assert dead.headers[m.DLQ_ATTEMPTS] == "1"
        assert dead.headers[m.DLQ_ERROR_TYPE] == "JSONDecodeError"
        assert calls == [{"ok": 1}]


async def test_timeout_counts_as_failure_and_the_loop_survives() -> None:
    async def handle(body: bytes, msg: InboundMessage) -> None:
        if body == b"slow":
            await asyncio.sleep(10)

    app, consumer, _ = make(handle, timeout=0.05, concurrency=2)
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"slow")
        await svc.publish("local", "in", b"fast")
        await svc.wait_idle()
        assert consumer.stats.timeouts == 3
        assert consumer.stats.acked == 1
        [dead] = svc.dead_letters("local", "in.dlq")
        assert dead.headers[m.DLQ_ERROR_TYPE] == "TimeoutError"


async def test_dead_letter_none_drops_after_logging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        return Nack(requeue=False)

    app, consumer, broker = make(handle, dead_letter=None)
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"x")
        await svc.wait_idle()
    assert broker.messages("in.dlq") == []
    assert consumer.stats.dead_lettered == 1
    assert "no dead-letter destination" in caplog.text


class CountingSubscription:
    """Wraps a memory subscription to record what the loop asks of it."""

    heartbeat_interval: float | None = None

    def __init__(self, inner: MemorySubscription, concurrency: int) -> None:
        self.inner = inner
        self.concurrency = concurrency
        self.outstanding = 0
        self.violations: list[tuple[int, int]] = []
        self.asked: list[int] = []

    async def fetch(
        self, max_messages: int, timeout: float
    ) -> Sequence[InboundMessage]:
        self.asked.append(max_messages)
        if max_messages + self.outstanding > self.concurrency or max_messages < 1:
            self.violations.append((max_messages, self.outstanding))
        got = await self.inner.fetch(max_messages, timeout)
        self.outstanding += len(got)
        return got

    async def ack(self, msg: InboundMessage) -> None:
        self.outstanding -= 1
        await self.inner.ack(msg)

    async def requeue(self, msg: InboundMessage) -> None:
        self.outstanding -= 1
        await self.inner.requeue(msg)

    async def retry(self, msg: InboundMessage, after: float) -> None:
        self.outstanding -= 1
        await self.inner.retry(msg, after)

    async def dead_letter(
        self, msg: InboundMessage, headers: Mapping[str, str]
    ) -> None:
        self.outstanding -= 1
        await self.inner.dead_letter(msg, headers)

    async def release(self, msg: InboundMessage, *, stopping: bool = True) -> None:
        self.outstanding -= 1
        await self.inner.release(msg, stopping=stopping)

    async def in_progress(self, msg: InboundMessage) -> None:
        await self.inner.in_progress(msg)

    async def close(self) -> None:
        await self.inner.close()


S = TypeVar("S", bound=CountingSubscription)


class WrappingBroker(MemoryBroker, Generic[S]):
    """A memory broker whose subscriptions come wrapped in ``wrap`` (kept in ``subs``)."""

    def __init__(self, wrap: type[S]) -> None:
        super().__init__("local")
        self.wrap = wrap
        self.subs: list[S] = []

    async def subscribe(self, spec: SubscriptionSpec) -> S:  # type: ignore[override]
        sub = self.wrap(await super().subscribe(spec), spec.concurrency)
        self.subs.append(sub)
        return sub


class CountingBroker(MemoryBroker):
    def __init__(self, concurrency: int) -> None:
        super().__init__("local")
        self.concurrency = concurrency
        self.subs: list[CountingSubscription] = []

    async def subscribe(self, spec: SubscriptionSpec) -> CountingSubscription:  # type: ignore[override]
        sub = CountingSubscription(await super().subscribe(spec), self.concurrency)
        self.subs.append(sub)
        return sub


@pytest.mark.parametrize("concurrency", [1, 4, 16])
async def test_concurrency_cap_and_fetch_bounded_by_free_permits(
    concurrency: int,
) -> None:
    running = 0
    peak = 0

    async def handle(body: bytes, msg: InboundMessage) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01 if int(body) % 3 else 0.002)
        running -= 1

    broker = CountingBroker(concurrency)
    app, consumer, _ = make(handle, broker=broker, concurrency=concurrency)
    async with run_service(app) as svc:
        for i in range(20 * concurrency):
            await svc.publish("local", "in", str(i).encode())
        await svc.wait_idle()
    assert consumer.stats.acked == 20 * concurrency
    assert peak == concurrency
    assert consumer.stats.peak_in_flight == concurrency
    [sub] = broker.subs
    assert sub.violations == []
    assert max(sub.asked) == concurrency


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_messages_always_ready_never_starve_the_event_loop(
    concurrency: int,
) -> None:
    """A lone worker lets the loop turn once a slice (0.5 ms), a pool once a fetch:
    another task runs between every few hundred messages, not after all of them."""
    handled = 0

    async def handle(body: bytes, msg: InboundMessage) -> None:
        nonlocal handled
        handled += 1  # never awaits: only the loop's own yields let others run

    n = 20_000
    app, consumer, broker = make(handle, concurrency=concurrency)
    for i in range(n):
        broker.publish_nowait("in", str(i).encode())
    between: list[int] = []
    async with run_service(app) as svc:

        async def tick() -> None:
            seen = handled
            while handled < n:
                await asyncio.sleep(0)
                between.append(handled - seen)
                seen = handled

        await asyncio.wait_for(tick(), 60)
        await svc.wait_idle()
    assert consumer.stats.acked == n
    assert len(between) >= 20, between
    assert max(between) <= 1_000, max(between)


async def test_per_key_ordering_runs_one_message_per_key_at_a_time() -> None:
    order: dict[str, list[int]] = {}
    active: set[str] = set()
    overlaps: list[str] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        assert msg.key is not None
        if msg.key in active:
            overlaps.append(msg.key)
        active.add(msg.key)
        await asyncio.sleep(0.003 * (int(body) % 4))
        order.setdefault(msg.key, []).append(int(body))
        active.discard(msg.key)

    app, consumer, _ = make(handle, concurrency=8, ordering="key")
    async with run_service(app) as svc:
        for i in range(120):
            await svc.publish("local", "in", str(i).encode(), key=f"k{i % 5}")
        await svc.wait_idle()
    assert overlaps == []
    for key, seq in order.items():
        assert seq == sorted(seq), key
    assert sum(len(s) for s in order.values()) == 120
    assert consumer.stats.peak_in_flight > 1  # different keys still ran in parallel


async def test_forced_drain_never_acks_a_cancelled_handler_and_the_next_consumer_gets_it() -> (
    None
):
    started = asyncio.Event()

    async def stuck(body: bytes, msg: InboundMessage) -> None:
        started.set()
        await asyncio.sleep(30)

    broker = MemoryBroker("local")
    app, consumer, _ = make(stuck, broker=broker, concurrency=3)
    app.drain_timeout = 0.2
    async with run_service(app) as svc:
        for i in range(3):
            await svc.publish("local", "in", str(i).encode())
        await started.wait()
        await asyncio.sleep(0.05)
        code = await svc.stop()
    assert code == 1
    assert consumer.stats.acked == 0
    assert consumer.stats.released == 3

    seen: list[tuple[bytes, int]] = []

    async def fine(body: bytes, msg: InboundMessage) -> None:
        seen.append((body, msg.delivery_count))

    app2, _, _ = make(fine, broker=broker)
    async with run_service(app2) as svc2:
        await svc2.wait_idle()
    assert sorted(seen) == [(b"0", 2), (b"1", 2), (b"2", 2)]


async def test_a_handler_that_swallows_a_forced_cancel_is_released_not_acked() -> None:
    started = asyncio.Event()

    async def stubborn(body: bytes, msg: InboundMessage) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            pass  # what a careless handler, or a library with a bug, does

    broker = MemoryBroker("local")
    app, consumer, _ = make(stubborn, broker=broker, concurrency=2)
    app.drain_timeout = 0.2
    async with run_service(app) as svc:
        for i in range(2):
            await svc.publish("local", "in", str(i).encode())
        await started.wait()
        await asyncio.sleep(0.05)
        assert await svc.stop() == 1
    assert consumer.stats.acked == 0
    assert consumer.stats.released == 2
    assert broker.pending("in") == 2


class SlowAckSubscription(CountingSubscription):
    ack_started = asyncio.Event()
    ack_finished = False

    async def ack(self, msg: InboundMessage) -> None:
        type(self).ack_started.set()
        await asyncio.sleep(0.3)
        await super().ack(msg)
        type(self).ack_finished = True


async def test_bookkeeping_is_not_interrupted_by_a_forced_shutdown() -> None:
    SlowAckSubscription.ack_started = asyncio.Event()
    SlowAckSubscription.ack_finished = False

    async def handle(body: bytes, msg: InboundMessage) -> None:
        return None

    broker = WrappingBroker(SlowAckSubscription)
    app, consumer, _ = make(handle, broker=broker)
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"x")
        await SlowAckSubscription.ack_started.wait()
        await svc.stop(force=True)
    assert SlowAckSubscription.ack_finished
    assert consumer.stats.acked == 1
    assert broker.pending("in") == 0


async def test_stopped_consumer_unacked_messages_go_to_the_next_consumer() -> None:
    broker = MemoryBroker("local")
    await broker.connect()
    spec = SubscriptionSpec(consumer="c", source="q", group="g", concurrency=5)
    for i in range(4):
        await broker.publish("q", str(i).encode())
    sub = await broker.subscribe(spec)
    taken = await sub.fetch(3, 0.1)
    assert [t.body for t in taken] == [b"0", b"1", b"2"]
    await sub.ack(taken[0])
    await sub.close()  # a consumer that stops without settling
    sub2 = await broker.subscribe(spec)
    again = await sub2.fetch(5, 0.1)
    assert [(t.body, t.delivery_count) for t in again] == [
        (b"1", 2),
        (b"2", 2),
        (b"3", 1),
    ]


class RefusingSubscription(CountingSubscription):
    """A dead-letter destination that refuses every publish until told otherwise."""

    refusing = True

    async def dead_letter(
        self, msg: InboundMessage, headers: Mapping[str, str]
    ) -> None:
        if self.refusing:
            raise BrokerError("the dead-letter queue refused the message")
        await super().dead_letter(msg, headers)

    async def retry(self, msg: InboundMessage, after: float) -> None:
        if self.refusing:
            raise BrokerError("the retry republish failed")
        await super().retry(msg, after)


async def test_a_delivery_that_cannot_settle_comes_back_later_each_time_and_not_ready(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(
        settle, "SETTLE_BACKOFF", RetryPolicy(initial=0.05, max=1.0, jitter=False)
    )
    reads: list[float] = []
    handled: list[bytes] = []

    def decode(body: bytes) -> bytes:
        if body == b"poison":
            reads.append(time.monotonic())
            raise ValueError("not a message")
        return body

    async def handle(payload: bytes, msg: InboundMessage) -> None:
        handled.append(payload)

    broker = WrappingBroker(RefusingSubscription)
    app, consumer, _ = make(handle, broker=broker, decode=decode)
    caplog.set_level(logging.WARNING, logger="svcgen_runtime.consumer")
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"poison")
        await until(lambda: len(reads) >= 6, 10, "six deliveries")
        # Released every time (never acked, never lost), each time after twice the
        # pause: 0.05 s, 0.1 s, 0.2 s, 0.4 s, 0.8 s.
        gaps = [later - earlier for earlier, later in itertools.pairwise(reads)]
        for i, gap in enumerate(gaps[:5]):
            assert gap >= 0.05 * 2**i * 0.9, gaps
        # One handler and the message always back first: nothing else can move, so
        # the consumer says it is not ready.
        assert not consumer.ready and not app.ready
        assert consumer.stats.settle_failures == len(reads)
        assert consumer.stats.released == 0  # that counts forced shutdowns only
        assert broker.pending("in") == 1
        warned = [r for r in caplog.records if "dead_letter of message" in r.message]
        assert len(warned) == 1  # one line per SETTLE_LOG_INTERVAL
        broker.subs[-1].refusing = False
        await until(lambda: consumer.stats.dead_lettered == 1, 10, "the dead letter")
        await svc.publish("local", "in", b"good")
        await until(lambda: handled == [b"good"], 10, "the good message")
        assert consumer.ready
        [dead] = svc.dead_letters("local", "in.dlq")
        assert dead.body == b"poison"


async def test_a_retry_republish_that_keeps_failing_is_released_and_backed_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        settle, "SETTLE_BACKOFF", RetryPolicy(initial=0.05, max=1.0, jitter=False)
    )
    runs: list[float] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        runs.append(time.monotonic())
        return Retry(after=0.0) if len(runs) < 8 else Ack()

    broker = WrappingBroker(RefusingSubscription)
    policy = RetryPolicy(max_attempts=20, initial=0.0, max=0.0)
    app, consumer, _ = make(handle, broker=broker, retry=policy)
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"x")
        await until(lambda: len(runs) >= 6, 10, "six runs")
        assert not consumer.ready
        gaps = [later - earlier for earlier, later in itertools.pairwise(runs)]
        for i, gap in enumerate(gaps[:5]):
            assert gap >= 0.05 * 2**i * 0.9, gaps
        assert consumer.stats.retried == 0
        assert consumer.stats.settle_failures == len(runs)
        broker.subs[-1].refusing = False
        await until(lambda: consumer.stats.acked == 1, 10, "the ack")
        assert consumer.ready


class CutSubscription(CountingSubscription):
    """Every ack fails while the connection is 'cut', as after a server-side cut."""

    cut = True

    async def ack(self, msg: InboundMessage) -> None:
        if self.cut:
            raise BrokerError("connection lost")
        await super().ack(msg)


async def test_a_batch_of_failed_acks_is_one_round_of_backoff_not_one_per_ack() -> None:
    # 64 handlers finish together on a connection that was just cut, twice (the
    # redeliveries fail too): each batch of 64 failed acks is one round. Counted one
    # by one they would double the pause 128 times and hold the consumer for the
    # 10 s cap; counted by rounds, it pauses 0.2 s, then 0.4 s, and goes on.
    release = asyncio.Event()
    done: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        await release.wait()
        done.append(body)

    broker = WrappingBroker(CutSubscription)
    app, consumer, _ = make(handle, broker=broker, concurrency=64)
    async with run_service(app) as svc:
        for i in range(64):
            await svc.publish("local", "in", str(i).encode())
        await until(lambda: consumer.stats.in_flight == 64, 10, "64 in flight")
        release.set()
        await until(lambda: consumer.stats.settle_failures >= 128, 10, "two rounds")
        broker.subs[-1].cut = False
        cut_over = time.monotonic()
        await until(lambda: consumer.stats.acked == 64, 10, "the 64 acks")
        assert time.monotonic() - cut_over < 2.0
        assert consumer.ready
