"""The NATS JetStream adapter against the real server on 127.0.0.1:4222, through Consumer."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.client import JetStreamContext

from svcgen_runtime.application import Application
from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.nats import (
    KEY_HEADER,
    NatsBroker,
    NatsSubscription,
    name_for,
    subject_matches,
    subscription,
)
from svcgen_runtime.consumer import Consumer
from svcgen_runtime.errors import BrokerConnectionError, BrokerError, ConfigurationError
from svcgen_runtime.message import (
    DEFERRED_HEADER,
    DLQ_ATTEMPTS,
    DLQ_CONSUMER,
    DLQ_ERROR_TYPE,
    DLQ_REASON,
    DLQ_SOURCE,
    InboundMessage,
)
from svcgen_runtime.outcome import Nack, Outcome, Retry
from svcgen_runtime.retry import RetryPolicy
from svcgen_runtime.tasks import Task, task_worker
from tests.contract.harness_nats import URL, Harness
from tests.support import free_port
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
async def js() -> AsyncIterator[JetStreamContext]:
    """A plain nats-py JetStream context for looking behind the adapter's back."""
    nc = await nats.connect(URL, connect_timeout=5)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


@pytest.fixture
async def broker(harness: Harness) -> AsyncIterator[NatsBroker]:
    b = harness.broker("direct")
    await b.connect()
    try:
        yield b
    finally:
        await b.close()


def consumer(
    broker: NatsBroker, source: str, handler: Handler, **kwargs: Any
) -> Consumer[bytes]:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=5, initial=0.05, jitter=False))
    kwargs.setdefault("group", "workers")
    kwargs.setdefault("timeout", 20.0)
    return Consumer(name="c", broker=broker, source=source, handler=handler, **kwargs)


@asynccontextmanager
async def running(
    broker: NatsBroker, *consumers: Consumer[bytes], drain: float = 5.0
) -> AsyncIterator[Application]:
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
    try:
        yield app
    finally:
        if not task.done():
            app.shutdown()
        await task


def spec(source: str, **kwargs: Any) -> SubscriptionSpec:
    kwargs.setdefault("group", "direct")
    kwargs.setdefault("dead_letter", f"{source}.dlq")
    return SubscriptionSpec(consumer="direct", source=source, **kwargs)


async def read_stream(js: JetStreamContext, subject: str, count: int) -> list[Any]:
    """The first ``count`` messages stored on ``subject`` (direct reads by sequence)."""
    stream = await js.find_stream_name_by_subject(subject)
    return [await js.get_msg(stream, seq) for seq in range(1, count + 1)]


# -- names ------------------------------------------------------------------------


def test_names_and_subject_matching() -> None:
    assert name_for("orders.created") == "orders_created"
    assert name_for("a.*.>") == "a____"
    assert name_for("orders group") == "orders_group"
    assert subject_matches("orders.>", "orders.created.dlq")
    assert subject_matches("orders.*", "orders.created")
    assert not subject_matches("orders.*", "orders.created.dlq")
    assert not subject_matches("orders.>", "orders")
    assert subject_matches("orders", "orders")
    assert not subject_matches("orders.created", "orders")


# -- outcomes ---------------------------------------------------------------------


async def test_ack_consumes_everything_and_leaves_nothing_pending(
    harness: Harness, js: JetStreamContext
) -> None:
    source = harness.source("ack")
    b = harness.broker()
    seen: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        seen.append(body)

    c = consumer(b, source, handle, concurrency=8)
    ids = [f"m-{i}".encode() for i in range(100)]
    async with running(b, c):
        for body in ids:
            await b.publish(source, body)
        await wait_for(lambda: c.stats.acked == 100, what="100 acks")
    assert sorted(seen) == sorted(ids)
    info = await js.consumer_info(name_for(source), "workers")
    assert (info.num_ack_pending, info.num_pending, info.num_redelivered) == (0, 0, 0)
    assert info.config.ack_policy == "explicit"
    assert info.config.max_ack_pending == -1  # the pull credit bounds prefetch
    assert info.config.max_deliver == -1


async def test_headers_key_and_position_round_trip(
    harness: Harness, broker: NatsBroker
) -> None:
    source = harness.source("meta")
    sub = await broker.subscribe(spec(source))
    try:
        before = time.time()
        await broker.publish(source, b"body", key="k-1", headers={"trace": "t-1"})
        [msg] = await sub.fetch(5, 5.0)
        assert msg.body == b"body"
        assert msg.key == "k-1"
        assert msg.headers["trace"] == "t-1"
        assert msg.headers[KEY_HEADER] == "k-1"
        assert msg.delivery_count == 1
        assert msg.source == source
        assert msg.id == f"{name_for(source)}:1"
        assert msg.position["stream_seq"] == 1
        assert msg.timestamp is not None and before - 1 <= msg.timestamp <= time.time()
        await sub.ack(msg)
    finally:
        await sub.close()


async def test_requeue_increments_delivery_count(harness: Harness) -> None:
    source = harness.source("requeue")
    b = harness.broker()
    counts: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        counts.append(msg.delivery_count)
        return Nack(requeue=True) if msg.delivery_count < 3 else None

    c = consumer(b, source, handle)
    async with running(b, c):
        await b.publish(source, b"m-1")
        await wait_for(lambda: c.stats.acked == 1, what="the ack after two requeues")
    assert counts == [1, 2, 3]
    assert c.stats.requeued == 2


async def test_retry_after_is_not_early_and_not_late(harness: Harness) -> None:
    source = harness.source("retry")
    b = harness.broker()
    times: list[tuple[float, int]] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        times.append((time.monotonic(), msg.delivery_count))
        return Retry(after=1.2) if msg.delivery_count < 3 else None

    c = consumer(b, source, handle)
    async with running(b, c):
        await b.publish(source, b"m-1")
        await wait_for(lambda: len(times) == 3, 10, "two retried deliveries")
    assert [n for _, n in times] == [1, 2, 3]
    for (t1, _), (t2, _) in itertools.pairwise(times):
        assert 1.2 <= t2 - t1 <= 2.2, t2 - t1


async def test_a_delayed_retry_does_not_hold_back_other_messages(
    harness: Harness,
) -> None:
    """A nak'ed-with-delay delivery stays ack-pending on the server until it is due;
    with one permit, the next message must still flow at once."""
    source = harness.source("hol")
    b = harness.broker()
    handled: dict[bytes, float] = {}

    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        if body == b"later" and msg.delivery_count == 1:
            return Retry(after=3.0)
        handled[body] = time.monotonic()
        return None

    c = consumer(b, source, handle, concurrency=1)
    async with running(b, c):
        await b.publish(source, b"later")
        await wait_for(lambda: c.stats.retried == 1, what="the delayed retry")
        sent = time.monotonic()
        await b.publish(source, b"now")
        await wait_for(lambda: b"now" in handled, 10, "the next message")
        assert handled[b"now"] - sent < 1.0
        await wait_for(lambda: b"later" in handled, 10, "the retried message")


async def test_dead_letter_lands_with_headers_and_original_is_terminated(
    harness: Harness, js: JetStreamContext
) -> None:
    source = harness.source("dead")
    b = harness.broker()
    calls: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        calls.append(msg.delivery_count)
        return Nack(requeue=False)

    c = consumer(b, source, handle, ack_wait=2.0)
    async with running(b, c):
        await b.publish(source, b"m-1", key="k", headers={"trace": "t"})
        await wait_for(lambda: c.stats.dead_lettered == 1, what="the dead letter")
        await asyncio.sleep(2.5)  # past ack_wait: a non-terminated original returns
    assert calls == [1]
    [dead] = await read_stream(js, f"{source}.dlq", 1)
    assert dead.data == b"m-1"
    h = dead.headers
    assert h[DLQ_SOURCE] == source
    assert h[DLQ_ATTEMPTS] == "1"
    assert h[DLQ_CONSUMER] == "c"
    assert h[DLQ_REASON] == "rejected"
    assert h["trace"] == "t" and h[KEY_HEADER] == "k"
    info = await js.consumer_info(name_for(source), "workers")
    assert (info.num_ack_pending, info.num_pending) == (0, 0)


async def test_exhausted_retries_dead_letter_after_max_attempts(
    harness: Harness, js: JetStreamContext
) -> None:
    source = harness.source("exhaust")
    b = harness.broker()
    attempts: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        attempts.append(msg.delivery_count)
        raise ValueError("nope")

    c = consumer(
        b,
        source,
        handle,
        retry=RetryPolicy(max_attempts=3, initial=0.05, jitter=False),
    )
    async with running(b, c):
        await b.publish(source, b"m-1")
        await wait_for(lambda: c.stats.dead_lettered == 1, what="the dead letter")
    assert attempts == [1, 2, 3]
    [dead] = await read_stream(js, f"{source}.dlq", 1)
    assert dead.headers[DLQ_ATTEMPTS] == "3"
    assert dead.headers[DLQ_ERROR_TYPE] == "ValueError"
    assert dead.headers[DLQ_REASON] == "exhausted"


# -- ack timer ----------------------------------------------------------------------


async def test_unsettled_delivery_comes_back_after_ack_wait(
    harness: Harness, broker: NatsBroker
) -> None:
    """The crash row: a delivery nobody settles is redelivered once ack_wait passes."""
    source = harness.source("ackwait")
    sub = await broker.subscribe(spec(source, ack_wait=1.0))
    try:
        await broker.publish(source, b"m-1")
        [first] = await sub.fetch(1, 5.0)
        started = time.monotonic()
        [again] = await sub.fetch(1, 5.0)
        assert again.id == first.id
        assert again.delivery_count == 2
        assert 0.9 <= time.monotonic() - started <= 2.5
        await sub.ack(again)
    finally:
        await sub.close()


async def test_handler_longer_than_ack_wait_is_delivered_exactly_once(
    harness: Harness, js: JetStreamContext
) -> None:
    source = harness.source("slow")
    b = harness.broker()
    deliveries: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        deliveries.append(msg.delivery_count)
        await asyncio.sleep(5.0)

    c = consumer(b, source, handle, ack_wait=2.0, concurrency=2)
    async with running(b, c):
        await b.publish(source, b"m-1")
        await wait_for(lambda: c.stats.acked == 1, 15, "the slow handler's ack")
        await asyncio.sleep(2.5)  # a redelivery would show up within ack_wait
    assert deliveries == [1]
    info = await js.consumer_info(name_for(source), "workers")
    assert info.config.ack_wait == 2.0
    assert (info.num_redelivered, info.num_ack_pending) == (0, 0)


# -- flow control ---------------------------------------------------------------------


async def test_fetch_never_returns_more_than_asked_and_prefetch_is_bounded(
    harness: Harness, broker: NatsBroker, js: JetStreamContext
) -> None:
    source = harness.source("bound")
    sub = await broker.subscribe(spec(source, concurrency=4))
    try:
        for i in range(30):
            await broker.publish(source, f"m-{i}".encode())
        taken: list[InboundMessage] = []
        for n in (1, 2, 1):
            batch = await sub.fetch(n, 5.0)
            assert 1 <= len(batch) <= n
            taken.extend(batch)
        await asyncio.sleep(0.3)  # let anything over-requested arrive
        info = await js.consumer_info(name_for(source), "direct")
        assert info.config.max_ack_pending == -1  # no server cap: the credit bounds it
        assert info.num_ack_pending <= 4
        # buffered + handed out never exceeds the concurrency
        assert len(taken) + len(sub._buffer) <= 4
        for msg in taken:
            await sub.ack(msg)
    finally:
        await sub.close()


async def test_peak_in_flight_reaches_and_respects_concurrency(
    harness: Harness,
) -> None:
    source = harness.source("cap")
    b = harness.broker()
    running_now = 0
    peak = 0

    async def handle(body: bytes, msg: InboundMessage) -> None:
        nonlocal running_now, peak
        running_now += 1
        peak = max(peak, running_now)
        await asyncio.sleep(0.05)
        running_now -= 1

    c = consumer(b, source, handle, concurrency=5)
    async with running(b, c):
        for i in range(60):
            await b.publish(source, f"m-{i}".encode())
        await wait_for(lambda: c.stats.acked == 60, 20, "60 acks")
    assert peak == 5
    assert c.stats.peak_in_flight == 5


async def test_cancelled_fetch_loses_nothing(
    harness: Harness, broker: NatsBroker
) -> None:
    source = harness.source("cancel")
    sub = await broker.subscribe(spec(source, concurrency=2))
    try:
        waiting = asyncio.create_task(sub.fetch(2, 5.0))
        await asyncio.sleep(0.2)  # the pull request is out
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await broker.publish(source, b"m-1")
        [msg] = await sub.fetch(2, 5.0)
        assert msg.body == b"m-1" and msg.delivery_count == 1
        await sub.ack(msg)
    finally:
        await sub.close()


async def test_release_and_close_give_deliveries_back_at_once(
    harness: Harness, broker: NatsBroker
) -> None:
    """Released (and buffered-at-close) deliveries return before ack_wait (30 s)."""
    source = harness.source("release")
    first = await broker.subscribe(spec(source, concurrency=3, ack_wait=30.0))
    await broker.publish(source, b"m-0")
    # asks for 3 (the free permits), hands out the one that exists ...
    [taken] = await first.fetch(3, 5.0)
    # ... and the outstanding pull brings the next two into the buffer
    await broker.publish(source, b"m-1")
    await broker.publish(source, b"m-2")
    await wait_for(lambda: len(first._buffer) == 2, 5, "two buffered deliveries")
    await first.release(taken)
    await first.close()  # two still buffered: given back too
    second = await broker.subscribe(spec(source, concurrency=3, ack_wait=30.0))
    try:
        got: list[InboundMessage] = []
        deadline = time.monotonic() + 5.0
        while len(got) < 3 and time.monotonic() < deadline:
            got.extend(await second.fetch(3 - len(got), 1.0))
        assert sorted(m.body for m in got) == [b"m-0", b"m-1", b"m-2"]
        assert all(m.delivery_count == 2 for m in got)
        for msg in got:
            await second.ack(msg)
    finally:
        await second.close()


async def test_forced_shutdown_releases_in_flight_messages(harness: Harness) -> None:
    source = harness.source("forced")
    b = harness.broker()
    started: list[bytes] = []

    async def hang(body: bytes, msg: InboundMessage) -> None:
        started.append(body)
        await asyncio.sleep(60)

    c = consumer(b, source, hang, concurrency=2, ack_wait=30.0)
    async with running(b, c, drain=0.2) as app:
        await b.publish(source, b"m-1")
        await b.publish(source, b"m-2")
        await wait_for(lambda: len(started) == 2, what="two handlers running")
        app.shutdown(force=True)
    assert c.stats.released == 2 and c.stats.acked == 0

    b2 = harness.broker()
    again: list[tuple[bytes, int]] = []

    async def keep(body: bytes, msg: InboundMessage) -> None:
        again.append((body, msg.delivery_count))

    c2 = consumer(b2, source, keep, ack_wait=30.0)
    async with running(b2, c2):
        await wait_for(lambda: len(again) == 2, 5, "both back well before ack_wait")
    assert sorted(again) == [(b"m-1", 2), (b"m-2", 2)]


# -- topology ---------------------------------------------------------------------------


async def test_subscribe_declares_idempotently_and_reuses_covering_streams(
    harness: Harness, broker: NatsBroker, js: JetStreamContext
) -> None:
    source = harness.source("topo")
    s1 = await broker.subscribe(
        spec(source, ack_wait=4.0, options={"max_ack_pending": 3})
    )
    await s1.close()
    s2 = await broker.subscribe(
        spec(source, ack_wait=8.0, options={"max_ack_pending": 6})
    )
    await s2.close()
    assert s2.stream == name_for(source)
    info = await js.stream_info(name_for(source))
    assert info.config.subjects == [source]
    assert (await js.stream_info(name_for(f"{source}.dlq"))).config.subjects == [
        f"{source}.dlq"
    ]
    consumer_info = await js.consumer_info(name_for(source), "direct")
    assert consumer_info.config.ack_wait == 8.0  # updated in place
    assert consumer_info.config.max_ack_pending == 6

    # a stream that already stores the subject (by wildcard) is used as it is
    wide = harness.stream("wide")
    parent = harness.source("parent")
    await js.add_stream(name=wide, subjects=[f"{parent}.>"])
    s3 = await broker.subscribe(spec(f"{parent}.orders", dead_letter=f"{parent}.dlq"))
    await s3.close()
    assert s3.stream == wide
    names = {s.config.name for s in await js.streams_info()}
    assert name_for(f"{parent}.orders") not in names
    assert name_for(f"{parent}.dlq") not in names


async def test_replicas_declaring_one_subject_together_share_one_stream(
    harness: Harness, broker: NatsBroker
) -> None:
    """Replicas of a service start together and race to create each stream."""
    other = harness.broker("replica")
    await other.connect()
    try:
        for i in range(6):
            source = harness.source(f"race{i}")
            named = harness.stream(f"race{i}") if i % 2 else None
            got = await asyncio.gather(
                broker.declare(source, stream=named),
                other.declare(source, stream=named),
            )
            assert list(got) == [named or name_for(source)] * 2
    finally:
        await other.close()


async def test_a_stream_created_between_lookup_and_create_is_used(
    harness: Harness,
    broker: NatsBroker,
    js: JetStreamContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The race, made certain: another replica created the stream (with other
    settings, so creating it again fails) after this one looked for it."""
    source = harness.source("lost")
    await js.add_stream(name=name_for(source), subjects=[source], max_age=3600)
    looked = 0
    real = NatsBroker._existing_stream

    async def late(self: NatsBroker, *args: Any) -> str | None:
        nonlocal looked
        looked += 1
        return None if looked == 1 else await real(self, *args)

    monkeypatch.setattr(NatsBroker, "_existing_stream", late)
    assert await broker.declare(source) == name_for(source)
    assert looked == 2  # creating it failed, and the second look found it


async def test_stream_option_names_the_stream(
    harness: Harness, broker: NatsBroker, js: JetStreamContext
) -> None:
    source = harness.source("named")
    stream = harness.stream("named")
    sub = await broker.subscribe(spec(source, options={"stream": stream}))
    await sub.close()
    assert sub.stream == stream
    assert (await js.stream_info(stream)).config.subjects == [source]

    other = harness.source("other")
    with pytest.raises(ConfigurationError, match="does not store subject"):
        await broker.subscribe(spec(other, options={"stream": stream}))


async def test_unknown_option_and_bad_deliver_policy_are_refused(
    harness: Harness, broker: NatsBroker
) -> None:
    source = harness.source("opts")
    with pytest.raises(ConfigurationError, match="unknown nats option"):
        await broker.subscribe(spec(source, options={"prefetch": 10}))
    with pytest.raises(ConfigurationError, match="deliver_policy"):
        await broker.subscribe(spec(source, options={"deliver_policy": "last"}))


async def test_publish_to_a_subject_without_stream_raises(
    harness: Harness, broker: NatsBroker
) -> None:
    subject = harness.source("nostream")
    with pytest.raises(BrokerError, match="no JetStream stream stores subject"):
        await broker.publish(subject, b"lost?")
    stream = await broker.declare(subject)
    await broker.publish(subject, b"kept")
    assert stream == name_for(subject)


async def test_double_ack_option_confirms_acks(
    harness: Harness, js: JetStreamContext
) -> None:
    source = harness.source("double")
    b = harness.broker()

    async def handle(body: bytes, msg: InboundMessage) -> None:
        return None

    c = consumer(b, source, handle, options={"double_ack": True}, concurrency=4)
    async with running(b, c):
        for i in range(20):
            await b.publish(source, f"m-{i}".encode())
        await wait_for(lambda: c.stats.acked == 20, what="20 acks")
        info = await js.consumer_info(name_for(source), "workers")
        # every ack was confirmed by the server before it was counted
        assert info.num_ack_pending == 0 and info.num_pending == 0


async def test_connect_to_nothing_fails_fast_with_one_sentence() -> None:
    b = NatsBroker("nowhere", "nats://127.0.0.1:1", connect_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(BrokerConnectionError, match="cannot connect"):
        await b.connect()
    assert time.monotonic() - started < 3.0
    assert not b.connected


# -- reconnect ---------------------------------------------------------------------------


async def test_server_side_cut_resumes_and_loses_nothing(
    harness: Harness, js: JetStreamContext
) -> None:
    source = harness.source("cut")
    b = harness.broker()
    done: set[bytes] = set()
    deliveries: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        deliveries.append(body)
        await asyncio.sleep(0.1)
        done.add(body)

    c = consumer(b, source, handle, concurrency=4, ack_wait=2.0)
    ids = [f"m-{i}".encode() for i in range(40)]
    async with running(b, c) as app:
        for body in ids[:20]:
            await b.publish(source, body)
        await wait_for(lambda: len(deliveries) >= 6, what="handlers running")
        await harness.cut_connections()  # with handlers in flight
        await wait_for(lambda: not app.ready, 5, "readiness to drop")
        await wait_for(lambda: b.connected, 10, "the client to reconnect")
        for body in ids[20:]:
            await b.publish(source, body)
        await wait_for(lambda: done >= set(ids), 20, "every message after the cut")
        await wait_for(lambda: app.ready, 10, "ready again")
    assert done == set(ids)
    info = await js.consumer_info(name_for(source), "workers")
    assert (info.num_ack_pending, info.num_pending) == (0, 0)


async def test_fetch_raises_connection_error_when_the_link_drops(
    harness: Harness, broker: NatsBroker
) -> None:
    source = harness.source("drop")
    sub = await broker.subscribe(spec(source))
    assert isinstance(sub, NatsSubscription)
    try:
        waiting = asyncio.create_task(sub.fetch(1, 10.0))
        await asyncio.sleep(0.2)
        await harness.cut_connections()
        with pytest.raises(BrokerConnectionError):
            await asyncio.wait_for(waiting, 5.0)
    finally:
        await sub.close()
    await wait_for(lambda: broker.connected, 10, "the client to reconnect")
    again = await broker.subscribe(spec(source))
    try:
        await broker.publish(source, b"after")
        [msg] = await again.fetch(1, 5.0)
        assert msg.body == b"after"
        await again.ack(msg)
    finally:
        await again.close()


async def counting_pulls(
    broker: NatsBroker, source: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[NatsSubscription, list[bytes]]:
    """A subscription whose server heartbeats come every 0.5 s, and the pull
    requests it sends (their JSON bodies)."""
    monkeypatch.setattr(subscription, "PULL_HEARTBEAT", 0.5)
    sub = await broker.subscribe(spec(source))
    assert isinstance(sub, NatsSubscription)
    pulls: list[bytes] = []
    nc = sub._nc
    publish = nc.publish

    async def spy(subject: str, payload: bytes = b"", **kwargs: Any) -> None:
        if subject == sub._next:
            pulls.append(payload)
        await publish(subject, payload, **kwargs)

    monkeypatch.setattr(nc, "publish", spy)
    return sub, pulls


async def test_an_idle_pull_request_is_kept_by_the_servers_heartbeats(
    harness: Harness, broker: NatsBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A waiting request asks for heartbeats; while they come, it is not asked again."""
    source = harness.source("heartbeat")
    sub, pulls = await counting_pulls(broker, source, monkeypatch)
    try:
        started = time.monotonic()
        while time.monotonic() - started < 3.0:  # six heartbeats, silence after two
            assert await sub.fetch(1, 0.5) == []
        assert len(pulls) == 1, pulls
        assert json.loads(pulls[0])["idle_heartbeat"] == 500_000_000
        await broker.publish(source, b"late")
        [msg] = await sub.fetch(1, 5.0)
        assert msg.body == b"late"
        await sub.ack(msg)
        assert len(pulls) == 1  # the first request delivered it
    finally:
        await sub.close()


async def test_a_pull_request_sent_after_the_consumer_was_deleted_ends_the_fetch(
    harness: Harness,
    broker: NatsBroker,
    js: JetStreamContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server never answers a pull request for a consumer deleted before it
    arrived (no 409, no 503): two missed heartbeats end the subscription, not the
    request's 24-30 s expiry."""
    source = harness.source("void")
    sub, pulls = await counting_pulls(broker, source, monkeypatch)
    try:
        await js.delete_consumer(name_for(source), "direct")  # before the first pull
        started = time.monotonic()
        with pytest.raises(BrokerConnectionError, match="is gone"):
            async with asyncio.timeout(10):
                while True:
                    assert await sub.fetch(1, 0.5) == []
        assert len(pulls) == 1
        assert time.monotonic() - started < 5.0
    finally:
        await sub.close()


async def test_consumer_deleted_behind_its_back_is_declared_again(
    harness: Harness, js: JetStreamContext
) -> None:
    source = harness.source("deleted")
    b = harness.broker()
    seen: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        seen.append(body)

    c = consumer(b, source, handle)
    async with running(b, c) as app:
        await b.publish(source, b"before")
        await wait_for(lambda: seen == [b"before"], what="the first message")
        await js.delete_consumer(name_for(source), "workers")
        # At once by the 409 to the waiting request; a request sent just after the
        # delete is never answered, and two heartbeats (4 s) go missing first.
        await wait_for(lambda: not app.ready, 10, "readiness to drop")
        await wait_for(lambda: app.ready, 10, "the consumer declared again")
        await b.publish(source, b"after")
        await wait_for(lambda: b"after" in seen, what="the message after")
    info = await js.consumer_info(name_for(source), "workers")
    assert info.num_ack_pending == 0


# -- a private server, restarted ---------------------------------------------------------

NATS_SERVER = "/usr/sbin/nats-server"


class PrivateServer:
    """A nats-server of this test alone (own port, own store), so restarting it
    disturbs no other test of the shared server on 4222."""

    def __init__(self, store: Path) -> None:
        self.port = free_port()
        self.store = store
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self) -> None:
        args = ["-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)]
        self.proc = await asyncio.create_subprocess_exec(
            NATS_SERVER,
            *args,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                await writer.wait_closed()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            async with asyncio.timeout(10):
                await self.proc.wait()
        self.proc = None


@pytest.fixture
async def private_server(tmp_path: Path) -> AsyncIterator[PrivateServer]:
    server = PrivateServer(tmp_path / "jetstream")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_server_restart_resumes_and_loses_nothing(
    private_server: PrivateServer,
) -> None:
    source = "orders.created"
    b = NatsBroker("restart", private_server.url, reconnect_wait=0.2)
    done: set[bytes] = set()

    async def handle(body: bytes, msg: InboundMessage) -> None:
        await asyncio.sleep(0.2)
        done.add(body)

    c = consumer(b, source, handle, concurrency=4, ack_wait=2.0)
    ids = [f"m-{i}".encode() for i in range(40)]
    async with running(b, c) as app:
        for body in ids[:20]:
            await b.publish(source, body)
        await wait_for(lambda: len(done) >= 4, what="handlers running")
        await private_server.stop()  # with handlers in flight and messages waiting
        assert len(done) < 16, "the restart must hit unfinished work"
        await wait_for(lambda: not app.ready, 5, "readiness to drop")
        # a publish during the outage waits for the reconnect instead of failing
        held = asyncio.create_task(b.publish(source, ids[20]))
        await asyncio.sleep(0.3)
        assert not held.done()
        await private_server.start()  # same store: streams and the durable survive
        await asyncio.wait_for(held, 10)
        assert b.connected
        for body in ids[21:]:
            await b.publish(source, body)
        await wait_for(lambda: done >= set(ids), 20, "every message after the restart")
        await wait_for(lambda: app.ready, 10, "ready again")
    assert done == set(ids)


async def test_a_delayed_task_gets_every_attempt_after_its_wait(
    harness: Harness, js: JetStreamContext
) -> None:
    """Deliveries spent waiting for the due time are not handler attempts, although
    every nak counts in ``num_delivered``: the first deferral stores a copy carrying
    the deferral count."""
    queue = harness.source("task")
    b = harness.broker()
    runs: list[float] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        runs.append(time.monotonic())
        raise RuntimeError("still failing")

    worker = task_worker(
        name="t",
        broker=b,
        handler=handle,
        queue=queue,
        retry=RetryPolicy(max_attempts=3, initial=0.05, jitter=False),
        ack_wait=5.0,
    )
    task: Task[bytes] = Task(name="t", broker=b, encode=lambda a: a, queue=queue)
    async with running(b, worker):
        enqueued = time.monotonic()
        assert await task.enqueue(b"args", delay=1.0)
        await wait_for(lambda: worker.stats.dead_lettered == 1, 10, "the dead letter")
    assert len(runs) == 3
    assert runs[0] - enqueued >= 1.0
    assert worker.stats.deferred == 2  # the original once, its copy once: no loop
    info = await js.stream_info(name_for(queue))
    assert info.state.messages == 2  # the original (terminated) and its copy
    consumer_info = await js.consumer_info(name_for(queue), "tasks-t")
    assert (consumer_info.num_ack_pending, consumer_info.num_pending) == (0, 0)


async def test_a_deferral_copy_is_stored_once_even_if_the_original_returns(
    harness: Harness, broker: NatsBroker, js: JetStreamContext
) -> None:
    source = harness.source("defer")
    sub = await broker.subscribe(spec(source))
    try:
        await broker.publish(source, b"task", headers={"Nats-Msg-Id": "user-id"})
        [msg] = await sub.fetch(1, 5.0)
        deferred = replace(msg, headers={**msg.headers, DEFERRED_HEADER: "1"})
        await sub.retry(deferred, 5.0)
        # as if the +TERM had been lost and the original came back: no second copy
        with pytest.raises(BrokerError):
            await sub.retry(deferred, 5.0)
        info = await js.stream_info(name_for(source))
        assert info.state.messages == 2
        [copy] = await sub.fetch(1, 5.0)
        assert copy.body == b"task" and copy.delivery_count == 1
        assert copy.headers[DEFERRED_HEADER] == "1"
        assert copy.id != msg.id
        await sub.ack(copy)
    finally:
        await sub.close()
