"""The Kafka adapter against a real Kafka-protocol broker (scripts/kafka-up.sh) on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
import textwrap
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.conn import AIOKafkaConnection

from svcgen_runtime.application import Application
from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.kafka import KafkaBroker, KafkaSubscription
from svcgen_runtime.brokers.kafka.tracker import COMMIT_BATCH, Partition, Progress
from svcgen_runtime.consumer import Consumer
from svcgen_runtime.message import (
    ATTEMPT_HEADER,
    DLQ_ATTEMPTS,
    DLQ_CONSUMER,
    DLQ_ERROR_TYPE,
    DLQ_REASON,
    DLQ_SOURCE,
    DUE_HEADER,
    InboundMessage,
)
from svcgen_runtime.outcome import Nack, Outcome, Retry
from svcgen_runtime.retry import RetryPolicy
from tests.contract.harness import Harness as HarnessProtocol
from tests.contract.harness import unique
from tests.contract.harness_kafka import (
    SESSION_TIMEOUT_MS,
    URL,
    Harness,
    cut_kafka_connections,
)
from tests.support import free_port, until

pytestmark = pytest.mark.broker

Handler = Callable[[bytes, InboundMessage], Awaitable[Outcome | None]]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        await h.cleanup()


def make_consumer(
    h: Harness,
    broker: KafkaBroker,
    source: str,
    handler: Handler,
    **kw: Any,
) -> Consumer[bytes]:
    options = {**h.consumer_options(), **kw.pop("options", {})}
    return Consumer(
        name=kw.pop("name", "kc"),
        broker=broker,
        source=source,
        handler=handler,
        options=options,
        group=kw.pop("group", group_of(source)),
        **kw,
    )


def group_of(source: str) -> str:
    """The consumer group ``make_consumer`` gives a source's consumer: a Kafka group
    spans topics, so two tests running at once (``scripts/test`` runs two workers)
    sharing one group name would rebalance each other."""
    return f"{source}.kc"


@contextlib.asynccontextmanager
async def running(
    consumer: Consumer[Any], broker: KafkaBroker, *, expect_code: int = 0
) -> AsyncIterator[Application]:
    app = Application(
        name="kafka-test",
        brokers=[broker],
        consumers=[consumer],
        handle_signals=False,
        drain_timeout=10.0,
    )
    task = asyncio.create_task(app.serve())
    started = asyncio.create_task(app.wait_started())
    await asyncio.wait([task, started], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        started.cancel()
        raise AssertionError(f"application did not start (exit {task.result()})")
    try:
        yield app
    finally:
        app.shutdown()
        code = await task
        assert code == expect_code


@contextlib.asynccontextmanager
async def subscribed(
    harness: Harness, name: str, concurrency: int = 1
) -> AsyncIterator[tuple[KafkaBroker, str, KafkaSubscription]]:
    """A connected broker, a fresh source and the adapter's subscription to it in a
    group of its own (no Consumer); both closed afterwards."""
    broker = harness.broker()
    source = harness.source(name)
    await broker.connect()
    try:
        spec = SubscriptionSpec(
            consumer="f",
            source=source,
            group=f"{source}-g",
            concurrency=concurrency,
            options=harness.consumer_options(),
        )
        sub = await broker.subscribe(spec)
        assert isinstance(sub, KafkaSubscription)
        try:
            yield broker, source, sub
        finally:
            await sub.close()
    finally:
        await broker.close()


async def committed(group: str, topic: str, partition: int = 0) -> int | None:
    """The group's committed offset of one partition, read with a non-member client."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=URL, group_id=group, enable_auto_commit=False
    )
    await reader.start()
    try:
        value: int | None = await reader.committed(TopicPartition(topic, partition))
        return value
    finally:
        await reader.stop()


async def read_topic(topic: str, n: int, timeout: float = 10.0) -> list[Any]:
    """Read the first ``n`` records of ``topic`` without a group."""
    reader = AIOKafkaConsumer(
        topic, bootstrap_servers=URL, group_id=None, auto_offset_reset="earliest"
    )
    await reader.start()
    out: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            batches = await reader.getmany(timeout_ms=200)
            for records in batches.values():
                out.extend(records)
    finally:
        await reader.stop()
    return out


# -- pure bookkeeping ----------------------------------------------------------


def test_harness_keeps_the_contract_protocol() -> None:
    h: HarnessProtocol = Harness()  # mypy checks the structure
    assert h.kind == "kafka" and h.supports_crash
    *imports, expr = h.broker_script().splitlines()
    scope: dict[str, Any] = {}
    exec("\n".join(imports), scope)
    assert isinstance(eval(expr, scope), KafkaBroker)


def test_commit_point_never_passes_an_unfinished_offset() -> None:
    part = Partition(TopicPartition("t", 0), Progress())
    part.taken.extend([5, 6, 7, 9])  # 8 is a gap (compaction, control record)
    assert not part.finish(6)
    assert not part.finish(9)
    assert part.pending_commit is None
    assert part.finish(5)
    assert part.pending_commit == 7
    assert part.finish(7)
    assert part.pending_commit == 10
    part.committed = 10
    assert part.pending_commit is None


def test_every_finish_counts_toward_the_commit_batch() -> None:
    progress = Progress()
    a = Partition(TopicPartition("t", 0), progress)
    b = Partition(TopicPartition("t", 1), progress)
    a.taken.extend(range(COMMIT_BATCH))
    b.taken.extend([0, 1])
    assert not b.finish(1)  # out of order: counted, the commit point stays
    assert progress.finished == 1 and not progress.dirty.is_set()
    for offset in range(COMMIT_BATCH - 2):
        a.finish(offset)
    assert progress.dirty.is_set() and not progress.batch_full.is_set()
    b.finish(0)
    assert progress.finished == COMMIT_BATCH and progress.batch_full.is_set()
    progress.reset()
    assert progress.finished == 0
    assert not progress.dirty.is_set() and not progress.batch_full.is_set()


# -- outcomes through Consumer + Application -----------------------------------


async def test_ack_commits_contiguous_offsets_on_close(harness: Harness) -> None:
    broker = harness.broker()
    source = harness.source("k-ack")
    seen: list[tuple[bytes, str | None, int, dict[str, Any]]] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        seen.append((body, msg.key, msg.delivery_count, dict(msg.position)))

    # A long commit interval: only the close flush can commit.
    c = make_consumer(
        harness, broker, source, handle, concurrency=8, options={"commit_interval": 60}
    )
    async with running(c, broker):
        for i in range(20):
            await broker.publish(
                source, b"m%d" % i, key=f"k{i % 3}", headers={"h": "v"}
            )
        await until(lambda: len(seen) == 20, 20, "20 deliveries")
        assert await committed(group_of(source), source) is None
    assert sorted(s[0] for s in seen) == sorted(b"m%d" % i for i in range(20))
    assert all(s[2] == 1 for s in seen)
    assert {s[3]["topic"] for s in seen} == {source}
    assert sorted(s[3]["offset"] for s in seen) == list(range(20))
    assert c.stats.acked == 20
    assert await committed(group_of(source), source) == 20


async def test_partition_ordering_runs_one_message_per_partition_in_offset_order(
    harness: Harness,
) -> None:
    broker = KafkaBroker("b", URL, partitions=3, session_timeout_ms=SESSION_TIMEOUT_MS)
    source = harness.source("k-part")
    running_now: dict[int, int] = {}
    peak_per_partition: dict[int, int] = {}
    peak_total = 0
    order: dict[int, list[int]] = {}

    async def handle(body: bytes, msg: InboundMessage) -> None:
        nonlocal peak_total
        part = msg.position["partition"]
        running_now[part] = running_now.get(part, 0) + 1
        peak_per_partition[part] = max(
            peak_per_partition.get(part, 0), running_now[part]
        )
        peak_total = max(peak_total, sum(running_now.values()))
        order.setdefault(part, []).append(msg.position["offset"])
        await asyncio.sleep(0.02)
        running_now[part] -= 1

    c = make_consumer(
        harness, broker, source, handle, concurrency=8, ordering="partition"
    )
    async with running(c, broker):
        for i in range(60):
            await broker.publish(source, b"m%d" % i, key=f"key-{i}")
        await until(lambda: sum(map(len, order.values())) == 60, 30, "60 deliveries")
    assert len(order) == 3  # the keys spread over all three partitions
    assert set(peak_per_partition.values()) == {1}  # one at a time per partition
    assert peak_total >= 2  # while the partitions ran side by side
    for offsets in order.values():
        assert offsets == sorted(offsets) == list(range(len(offsets)))


async def test_requeue_goes_through_the_retry_topic_with_attempt_plus_one(
    harness: Harness,
) -> None:
    broker = harness.broker()
    source = harness.source("k-requeue")
    deliveries: list[InboundMessage] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        deliveries.append(msg)
        return Nack(requeue=True) if msg.delivery_count < 3 else None

    c = make_consumer(
        harness, broker, source, handle, retry=RetryPolicy(max_attempts=5)
    )
    async with running(c, broker):
        await broker.publish(source, b"again", key="k1")
        await until(lambda: c.stats.acked == 1, 20, "the third delivery")
    assert [m.delivery_count for m in deliveries] == [1, 2, 3]
    assert [m.position["topic"] for m in deliveries] == [
        source,
        f"{source}.retry",
        f"{source}.retry",
    ]
    assert all(m.body == b"again" and m.key == "k1" for m in deliveries)
    assert deliveries[2].headers[ATTEMPT_HEADER] == "3"
    assert c.stats.requeued == 2
    assert await committed(group_of(source), source) == 1
    assert (
        await committed(group_of(source) + ".retry", f"{source}.retry") == 2
    )  # its own group


async def test_retry_after_is_not_early_and_at_most_a_second_late(
    harness: Harness,
) -> None:
    broker = harness.broker()
    source = harness.source("k-retry")
    times: list[tuple[int, float]] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        times.append((msg.delivery_count, time.time()))
        return Retry(after=2.0) if msg.delivery_count == 1 else None

    c = make_consumer(harness, broker, source, handle)
    async with running(c, broker):
        await broker.publish(source, b"later")
        await until(lambda: len(times) == 2, 20, "the retried delivery")
    (n1, t1), (n2, t2) = times
    assert (n1, n2) == (1, 2)
    assert 2.0 <= t2 - t1 <= 3.0, t2 - t1


async def test_a_waiting_retry_pauses_only_its_partition_without_spinning(
    harness: Harness,
) -> None:
    broker = harness.broker()
    source = harness.source("k-pause")
    got: list[tuple[bytes, int, float]] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        got.append((body, msg.delivery_count, time.time()))
        return Retry(after=4.0) if body == b"slow" and msg.delivery_count == 1 else None

    c = make_consumer(harness, broker, source, handle, concurrency=4)
    async with running(c, broker):
        await broker.publish(source, b"slow")
        await until(lambda: len(got) == 1, 20, "the first delivery")
        cpu = time.process_time()
        started = time.time()
        for i in range(5):  # the source keeps flowing while the retry waits
            await broker.publish(source, b"fresh%d" % i)
            await asyncio.sleep(0.3)
        await until(lambda: len(got) == 7, 10, "the retried delivery")
        waited_cpu = time.process_time() - cpu
        elapsed = time.time() - started
    fresh = [g for g in got if g[0].startswith(b"fresh")]
    retried = [g for g in got if g[0] == b"slow" and g[1] == 2]
    assert len(fresh) == 5 and len(retried) == 1
    assert all(f[2] < retried[0][2] for f in fresh)
    assert retried[0][2] - got[0][2] >= 4.0
    # A paused partition with a timer: the process mostly sleeps while it waits.
    assert waited_cpu < 0.5 * elapsed, (waited_cpu, elapsed)
    assert c.stats.received == 7


async def test_a_message_published_with_a_due_time_waits_for_it(
    harness: Harness,
) -> None:
    broker = harness.broker()
    source = harness.source("k-due")
    got: list[tuple[InboundMessage, float]] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        got.append((msg, time.time()))

    c = make_consumer(harness, broker, source, handle)
    async with running(c, broker):
        due = time.time() + 2.0
        await broker.publish(source, b"delayed", headers={DUE_HEADER: f"{due:.3f}"})
        await until(lambda: len(got) == 1, 20, "the delayed delivery")
        await asyncio.sleep(0.5)
    ((msg, at),) = got
    # The loop deferred it through the retry topic; waiting is not an attempt.
    assert msg.position["topic"] == f"{source}.retry"
    assert due <= at <= due + 1.0, at - due
    assert c.stats.acked == 1 and c.stats.retried == 0


async def test_nack_without_requeue_dead_letters_with_headers(harness: Harness) -> None:
    broker = harness.broker()
    source = harness.source("k-dlq")

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        return Nack(requeue=False)

    c = make_consumer(harness, broker, source, handle, name="dlq-consumer")
    async with running(c, broker):
        await broker.publish(source, b"bad", key="kk", headers={"trace": "t1"})
        await until(lambda: c.stats.dead_lettered == 1, 20, "the dead letter")
    (rec,) = await read_topic(f"{source}.dlq", 1)
    headers = {k: v.decode() for k, v in rec.headers}
    assert rec.value == b"bad" and rec.key == b"kk"
    assert headers["trace"] == "t1"
    assert headers[DLQ_SOURCE] == source
    assert headers[DLQ_CONSUMER] == "dlq-consumer"
    assert headers[DLQ_REASON] == "rejected"
    assert headers[DLQ_ATTEMPTS] == "1"
    assert await committed(group_of(source), source) == 1


async def test_failures_dead_letter_after_max_attempts(harness: Harness) -> None:
    broker = harness.broker()
    source = harness.source("k-exhaust")
    counts: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        counts.append(msg.delivery_count)
        raise ValueError("always broken")

    policy = RetryPolicy(max_attempts=3, initial=0.2, jitter=False)
    c = make_consumer(harness, broker, source, handle, retry=policy)
    async with running(c, broker):
        await broker.publish(source, b"doomed")
        await until(lambda: c.stats.dead_lettered == 1, 20, "the dead letter")
    assert counts == [1, 2, 3]
    (rec,) = await read_topic(f"{source}.dlq", 1)
    headers = {k: v.decode() for k, v in rec.headers}
    assert headers[DLQ_ATTEMPTS] == "3"
    assert headers[DLQ_ERROR_TYPE] == "ValueError"
    assert headers[DLQ_REASON] == "exhausted"
    assert DUE_HEADER in headers  # it came back through the retry topic


# -- the subscription directly -------------------------------------------------


async def test_fetch_takes_at_most_n_and_the_rest_stays_for_later(
    harness: Harness,
) -> None:
    broker = harness.broker()
    source = harness.source("k-fetch")
    await broker.connect()
    try:
        for i in range(10):
            await broker.publish(source, b"%d" % i)
        spec = SubscriptionSpec(
            consumer="f",
            source=source,
            group=f"{source}-g",
            concurrency=3,
            options=harness.consumer_options(),
        )
        sub = await broker.subscribe(spec)
        got: list[InboundMessage] = []
        while len(got) < 10:
            batch = await sub.fetch(3, 10.0)
            assert 1 <= len(batch) <= 3
            got.extend(batch)
        assert [m.body for m in got] == [b"%d" % i for i in range(10)]
        t0 = time.monotonic()
        assert await sub.fetch(3, 0.5) == []
        assert 0.4 <= time.monotonic() - t0 < 3.0
        for m in got[:4]:
            await sub.ack(m)
        await sub.close()
        assert await committed(f"{source}-g", source) == 4
    finally:
        await broker.close()


async def test_a_delivery_released_after_a_failed_settle_comes_back_and_holds_the_commit(
    harness: Harness,
) -> None:
    broker = harness.broker()
    source = harness.source("k-release")
    group = f"{source}-g"
    tp = TopicPartition(source, 0)
    await broker.connect()
    try:
        for i in range(4):
            await broker.publish(source, b"%d" % i)
        spec = SubscriptionSpec(
            consumer="r",
            source=source,
            group=group,
            concurrency=4,
            options=harness.consumer_options(),
        )
        sub = await broker.subscribe(spec)
        got: list[InboundMessage] = []
        while len(got) < 4:
            got.extend(await sub.fetch(4, 10.0))
        await sub.release(got[1], stopping=False)
        for msg in (got[0], got[2], got[3]):
            await sub.ack(msg)
        # Handed out again by the next fetch, without a rebalance, and nothing else.
        again = await sub.fetch(4, 5.0)
        assert [(m.body, m.position["offset"]) for m in again] == [(b"1", 1)]
        await sub.release(again[0])  # stopping: left to the group
        assert await sub.fetch(4, 0.5) == []
        await sub.close()
        assert await committed(group, source) == 1  # never past the released one

        sub = await broker.subscribe(spec)
        got = []
        while len(got) < 3:
            got.extend(await sub.fetch(4, 10.0))
        assert [m.body for m in got] == [b"1", b"2", b"3"]
        await sub.release(got[0], stopping=False)
        await sub.revoked({tp})  # its partition goes: the group reads it again
        assert await sub.fetch(4, 0.5) == []
        await sub.close()
        assert await committed(group, source) == 1
    finally:
        await broker.close()


async def test_fetch_takes_at_most_n_across_the_source_and_its_retry_topic(
    harness: Harness,
) -> None:
    broker = harness.broker()
    source = harness.source("k-both")
    retry_topic = f"{source}.retry"
    group = f"{source}-g"
    await broker.connect()
    try:
        past = {DUE_HEADER: f"{time.time() - 1:.3f}", ATTEMPT_HEADER: "2"}
        for i in range(10):
            await broker.publish(source, b"s%d" % i)
            await broker.publish(retry_topic, b"r%d" % i, headers=past)
        spec = SubscriptionSpec(
            consumer="f",
            source=source,
            group=group,
            concurrency=3,
            options=harness.consumer_options(),
        )
        sub = await broker.subscribe(spec)
        got: list[InboundMessage] = []
        async with asyncio.timeout(20):
            while len(got) < 20:
                batch = await sub.fetch(3, 1.0)
                assert len(batch) <= 3
                got.extend(batch)
        by_topic = {
            t: [m.body for m in got if m.position["topic"] == t]
            for t in (source, retry_topic)
        }
        assert by_topic == {
            source: [b"s%d" % i for i in range(10)],
            retry_topic: [b"r%d" % i for i in range(10)],
        }
        assert {m.delivery_count for m in got if m.body.startswith(b"r")} == {2}
        assert await sub.fetch(3, 0.3) == []  # nothing was handed out twice
        for m in got:
            await sub.ack(m)
        await sub.close()
        # Each topic's offsets go to the group of the consumer that reads it.
        assert await committed(group, source) == 10
        assert await committed(f"{group}.retry", retry_topic) == 10
    finally:
        await broker.close()


async def test_a_cancelled_fetch_hands_nothing_out_and_loses_nothing(
    harness: Harness,
) -> None:
    async with subscribed(harness, "k-cancel", concurrency=4) as (broker, source, sub):
        got: list[InboundMessage] = []
        cancelled = 0
        for i in range(12):
            # Cancel while both consumers wait, around the moment a record arrives.
            task = asyncio.create_task(sub.fetch(4, 5.0))
            await broker.publish(source, b"%d" % i)
            await asyncio.sleep((i % 4) * 0.01)
            task.cancel()
            try:
                got.extend(await task)
            except asyncio.CancelledError:
                cancelled += 1
        async with asyncio.timeout(20):
            while len(got) < 12:
                got.extend(await sub.fetch(4, 1.0))
        assert cancelled > 0
        assert [m.body for m in got] == [b"%d" % i for i in range(12)]
        assert await sub.fetch(4, 0.3) == []


async def test_the_retry_topics_long_poll_does_not_hold_up_the_source(
    harness: Harness,
) -> None:
    """aiokafka keeps one fetch in flight per broker and consumer: were the retry topic
    read by the source's consumer, its long poll would hold up each of the source's
    next fetches for the whole poll. Fetches of a few hundred bytes make the source
    fetch again and again while the retry topic's 4 s poll is in flight."""
    broker = harness.broker()
    source = harness.source("k-poll")
    await broker.connect()
    try:
        for i in range(40):
            await broker.publish(source, b"%d" % i)
        options = {
            **harness.consumer_options(),
            "fetch_max_wait_ms": 4000,
            "max_partition_fetch_bytes": 300,
        }
        spec = SubscriptionSpec(
            consumer="f", source=source, group=f"{source}-g", options=options
        )
        sub = await broker.subscribe(spec)
        got = list(await sub.fetch(1, 20.0))  # waits out the group join
        assert got, "the first record"
        started = time.monotonic()
        async with asyncio.timeout(30):
            while len(got) < 40:
                got.extend(await sub.fetch(1, 10.0))
                await asyncio.sleep(0.005)
        elapsed = time.monotonic() - started
        assert [m.body for m in got] == [b"%d" % i for i in range(40)]
        # With one consumer for both topics: 4 s per fetch of the source.
        assert elapsed < 1.0, elapsed
        await sub.close()
    finally:
        await broker.close()


async def test_a_retry_record_ends_a_fetch_waiting_on_the_empty_source(
    harness: Harness,
) -> None:
    """The fetch waits on the source in its own task and on the retry topic in a task
    of its own: a record on the retry topic ends the wait when it comes, not at the
    fetch's timeout."""
    async with subscribed(harness, "k-cut") as (broker, source, sub):
        await broker.publish(source, b"first")
        (msg,) = await sub.fetch(1, 20.0)
        await sub.retry(msg, 0.0)  # to the retry topic, due at once
        started = time.monotonic()
        got = await sub.fetch(1, 30.0)
        elapsed = time.monotonic() - started
        assert [(m.body, m.delivery_count) for m in got] == [(b"first", 2)]
        assert got[0].position["topic"] == f"{source}.retry"
        assert elapsed < 5.0, elapsed  # the retry topic is polled every 0.5 s


async def test_a_long_polls_answer_is_taken_in_doubling_chunks_below_16_permits(
    harness: Harness,
) -> None:
    """At ``concurrency: 1`` the records a long poll brought are taken from aiokafka a
    few at a time (the permit's one, then 4, 8, 16, ...), so no handler waits for more
    of the answer to be decoded than the records before it; every record still comes
    once and in order, and the retry consumer, holding nothing, is not asked."""
    async with subscribed(harness, "k-chunks") as (broker, source, sub):
        assert await sub.fetch(1, 0.3) == []  # joined; the partition is empty
        takes: list[int | None] = []
        retry_asked = 0
        source_getmany = sub._consumer.getmany
        retry_getmany = sub._retry_consumer.getmany

        async def spy_source(*tps: Any, **kw: Any) -> Any:
            if kw.get("timeout_ms") == 0:
                takes.append(kw.get("max_records"))
            return await source_getmany(*tps, **kw)

        async def spy_retry(*tps: Any, **kw: Any) -> Any:
            nonlocal retry_asked
            retry_asked += kw.get("timeout_ms") == 0
            return await retry_getmany(*tps, **kw)

        sub._consumer.getmany = spy_source
        sub._retry_consumer.getmany = spy_retry
        waiting = asyncio.create_task(sub.fetch(1, 10.0))  # both consumers wait
        await asyncio.sleep(0.05)
        await asyncio.gather(*(broker.publish(source, b"%d" % i) for i in range(300)))
        got = list(await waiting)
        del takes[:]  # what the fetch took before it waited
        async with asyncio.timeout(20):
            while len(got) < 300:
                got.extend(await sub.fetch(1, 1.0))
        assert [m.body for m in got] == [b"%d" % i for i in range(300)]
        assert takes[:3] == [4, 8, 16], takes
        assert retry_asked == 0


async def test_the_next_fetch_goes_out_while_the_rest_of_an_answer_is_held(
    harness: Harness,
) -> None:
    """A lone worker turns the event loop only once a ``SLICE`` in a burst, and
    aiokafka's fetcher needs a few turns to send its next request: the take that
    empties aiokafka's buffer of the partition gives them (``FETCH_TURNS``), so the
    next request goes out while the rest of the answer is still held here, not
    only once the consume loop has handed all of it out and waits."""
    async with subscribed(harness, "k-refetch") as (broker, source, sub):
        assert await sub.fetch(1, 0.3) == []  # joined; the partition is empty
        fetcher = sub._consumer._fetcher
        send = fetcher._proc_fetch_request
        held_when_sent: list[int] = []

        async def spy(assignment: Any, node_id: Any, request: Any) -> Any:
            held = sum(len(records) for records in sub._prefetched._held.values())
            held_when_sent.append(held)
            return await send(assignment, node_id, request)

        fetcher._proc_fetch_request = spy
        waiting = asyncio.create_task(sub.fetch(1, 10.0))
        await asyncio.sleep(0.05)
        await asyncio.gather(*(broker.publish(source, b"%d" % i) for i in range(300)))
        got = list(await waiting)
        del held_when_sent[:]  # sent while the test published
        async with asyncio.timeout(20):
            while len(got) < 300:  # nothing else awaited: a lone worker's burst
                got.extend(await sub.fetch(1, 1.0))
        assert [m.body for m in got] == [b"%d" % i for i in range(300)]
        assert any(held_when_sent), held_when_sent


# -- groups, crashes, rebalances, connection cuts ------------------------------

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from svcgen_runtime.application import Application
    from svcgen_runtime.brokers.kafka import KafkaBroker
    from svcgen_runtime.consumer import Consumer

    async def main() -> None:
        source, group, url = sys.argv[1:4]
        broker = KafkaBroker("child", url, session_timeout_ms=6000)

        async def handle(body, msg):
            if body == b"2":
                print("blocking", flush=True)
                await asyncio.Event().wait()
            print("done", body.decode(), flush=True)

        c = Consumer(name="crash", broker=broker, source=source, group=group,
                     handler=handle, concurrency=4, timeout=None,
                     options={"session_timeout_ms": 6000, "commit_interval": 0.1})
        app = Application(name="child", brokers=[broker], consumers=[c],
                          handle_signals=False)
        await app.serve()

    asyncio.run(main())
    """
)


async def test_crash_redelivers_the_unfinished_offset_and_never_commits_past_it(
    harness: Harness,
) -> None:
    broker = harness.broker()
    source = harness.source("k-crash")
    group = f"{source}-g"
    await broker.connect()
    for i in range(10):
        await broker.publish(source, b"%d" % i)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, source, group, URL,
        stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        done: set[str] = set()
        blocking = False
        async with asyncio.timeout(20):
            while len(done) < 9 or not blocking:
                line = (await child.stdout.readline()).decode().split()
                assert line, "the child consumer exited early"
                if line[0] == "blocking":
                    blocking = True
                else:
                    done.add(line[1])
        assert done == {"0", "1", "3", "4", "5", "6", "7", "8", "9"}
        # Offsets 3..9 are finished, 2 is not: the commit point stays at 2.
        await asyncio.sleep(1.0)
        assert await committed(group, source) == 2
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL

    seen: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        seen.append(body)

    c = make_consumer(harness, broker, source, handle, group=group, concurrency=4)
    async with running(c, broker):
        await until(lambda: len(seen) >= 8, 25, "redelivery after the crash")
        await asyncio.sleep(0.5)
    assert b"2" in seen  # the unfinished one comes back
    assert b"0" not in seen and b"1" not in seen  # committed ones do not
    assert sorted(seen) == [b"%d" % i for i in range(2, 10)]
    assert await committed(group, source) == 10
    await broker.close()


async def test_forced_shutdown_releases_and_close_commits_only_up_to_it(
    harness: Harness,
) -> None:
    broker = harness.broker()
    source = harness.source("k-force")
    group = f"{source}-g"
    finished: list[bytes] = []

    async def stuck(body: bytes, msg: InboundMessage) -> None:
        if body == b"2":
            await asyncio.Event().wait()
        finished.append(body)

    c = make_consumer(harness, broker, source, stuck, group=group, concurrency=4)
    app = Application(
        name="force",
        brokers=[broker],
        consumers=[c],
        handle_signals=False,
        drain_timeout=0.5,
    )
    task = asyncio.create_task(app.serve())
    await app.wait_started()
    for i in range(6):
        await broker.publish(source, b"%d" % i)
    await until(lambda: len(finished) == 5, 20, "every message but the stuck one")
    app.shutdown()
    assert await task == 1  # the drain was forced
    assert c.stats.released == 1
    assert await committed(group, source) == 2  # close flushed up to the released one

    again: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        again.append(body)

    other = harness.broker("again")
    c2 = make_consumer(harness, other, source, handle, group=group)
    async with running(c2, other):
        await until(lambda: len(again) == 4, 20, "redelivery from the released one")
    assert again == [b"2", b"3", b"4", b"5"]


async def test_revoked_partitions_commit_what_is_done_before_the_rebalance(
    harness: Harness,
) -> None:
    broker = KafkaBroker("two", URL, partitions=2, session_timeout_ms=6000)
    source = harness.source("k-revoke")
    group = f"{source}-g"
    first: list[InboundMessage] = []
    second: list[InboundMessage] = []

    async def handle_first(body: bytes, msg: InboundMessage) -> None:
        first.append(msg)

    async def handle_second(body: bytes, msg: InboundMessage) -> None:
        second.append(msg)

    # Periodic commits are off (60 s): only the revoke flush can commit.
    slow = {"commit_interval": 60}
    a = make_consumer(harness, broker, source, handle_first, group=group, options=slow)
    async with running(a, broker):
        for i in range(12):
            await broker.publish(source, b"%d" % i, key=f"key-{i}")
        await until(lambda: len(first) == 12, 20, "the first member's deliveries")
        partitions = {m.position["partition"] for m in first}
        assert partitions == {0, 1}, "the keys should spread over both partitions"
        per_partition = {
            p: sum(1 for m in first if m.position["partition"] == p) for p in (0, 1)
        }
        other = KafkaBroker("two-b", URL, partitions=2, session_timeout_ms=6000)
        b = make_consumer(
            harness, other, source, handle_second, group=group, name="kc2", options=slow
        )
        async with running(b, other):
            # The join makes the first member revoke: it commits before giving up.
            deadline = time.monotonic() + 20
            offsets: dict[int, int | None] = {}
            while time.monotonic() < deadline:
                offsets = {p: await committed(group, source, p) for p in (0, 1)}
                if offsets == per_partition:
                    break
                await asyncio.sleep(0.2)
            assert offsets == per_partition
            await asyncio.sleep(1.0)
    assert second == []  # nothing done was handed to the new member again


async def test_server_side_cut_resumes_and_loses_nothing(harness: Harness) -> None:
    broker = harness.broker()
    source = harness.source("k-cut")
    seen: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        seen.append(body)

    c = make_consumer(harness, broker, source, handle, concurrency=8)
    async with running(c, broker):
        for i in range(20):
            await broker.publish(source, b"a%d" % i)
        await until(lambda: len(set(seen)) == 20, 20, "the first 20")
        assert await cut_kafka_connections() >= 2  # producer and consumer at least
        for i in range(20):
            await broker.publish(source, b"b%d" % i)
        await until(lambda: len(set(seen)) == 40, 30, "all 40 after the cut")
    expected = {b"a%d" % i for i in range(20)} | {b"b%d" % i for i in range(20)}
    assert set(seen) == expected
    assert await committed(group_of(source), source) == 40


SCRIPTS = os.path.join(os.path.dirname(__file__), "..", "..", "scripts")


async def kafka_script(name: str, port: int) -> str:
    proc = await asyncio.create_subprocess_exec(
        "bash",
        os.path.join(SCRIPTS, name),
        env={**os.environ, "KAFKA_PORT": str(port)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    return out.decode()


def open_connections() -> set[int]:
    return {
        id(o)
        for o in gc.get_objects()
        if isinstance(o, AIOKafkaConnection) and o.connected()
    }


async def test_a_subscribe_cancelled_mid_start_leaves_no_connection_open(
    harness: Harness,
) -> None:
    """A shutdown while the consume loop subscribes again cancels the subscribe
    halfway through the consumers' start: nothing it opened may stay open (it showed
    up as an unraisable ``Unclosed AIOKafkaConnection`` in a later test)."""
    source = harness.source("cancelled")
    broker = KafkaBroker("b", URL)
    await broker.connect()
    await broker.ensure_topics([source, source + broker.retry_suffix])
    before = open_connections()
    # Connections an earlier test on this worker dropped unclosed (their loop is
    # closed) warn when collected: collected here, not counted as this test's.
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        try:
            for delay in (0.0, 0.002, 0.005, 0.01, 0.03, 0.1, 0.3):
                spec = SubscriptionSpec(
                    consumer="c",
                    source=source,
                    group=unique("g"),
                    concurrency=1,
                    dead_letter=None,
                    options=dict(harness.consumer_options()),
                )
                subscribing = asyncio.create_task(broker.subscribe(spec))
                await asyncio.sleep(delay)
                subscribing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await (await subscribing).close()  # it had finished already
        finally:
            await broker.close()
        await asyncio.sleep(0.1)
        gc.collect()
    assert open_connections() - before == set()
    unclosed = [str(w.message) for w in caught if w.category is ResourceWarning]
    assert unclosed == []


async def test_an_outage_marks_the_consumer_not_ready_until_the_broker_is_back() -> (
    None
):
    """A second broker of our own on another port, stopped and started with the
    project's scripts (a restart of this broker forgets everything: memory storage).
    The port is a free one, not a fixed one: two test runs on one machine each start
    their own (a fixed 19092 made the second one's broker exit, port in use)."""
    port = free_port()
    await kafka_script("kafka-up.sh", port)
    assert "already running" in await kafka_script("kafka-up.sh", port)
    broker = KafkaBroker("outage", f"127.0.0.1:{port}", session_timeout_ms=6000)
    seen: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        seen.append(body)

    c: Consumer[bytes] = Consumer(
        name="outage",
        broker=broker,
        source="outage-src",
        handler=handle,
        options={"session_timeout_ms": 6000, "commit_interval": 0.2},
    )
    try:
        async with running(c, broker):
            await broker.publish("outage-src", b"before")
            await until(lambda: seen == [b"before"], 20, "the first delivery")
            assert c.ready
            await kafka_script("kafka-down.sh", port)
            await until(lambda: not c.ready, 20, "not ready during the outage")
            await kafka_script("kafka-up.sh", port)
            await until(lambda: c.ready, 30, "ready again")
            await broker.publish("outage-src", b"after")
            await until(lambda: b"after" in seen, 20, "a delivery after the outage")
    finally:
        await kafka_script("kafka-down.sh", port)


async def test_concurrent_first_publishes_start_one_admin_client(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each first publish to a new topic creates it through the admin client; five at
    # once each found none and started their own, and four were never closed (the
    # fault suite's unclosed-socket warnings).
    from aiokafka.admin import AIOKafkaAdminClient

    from svcgen_runtime.brokers.kafka import clients

    started: list[object] = []

    class Counting(AIOKafkaAdminClient):  # type: ignore[misc]
        async def start(self) -> None:
            started.append(self)
            await super().start()

    monkeypatch.setattr(clients, "AIOKafkaAdminClient", Counting)
    broker = harness.broker()
    await broker.connect()
    try:
        topics = [harness.source("first") for _ in range(5)]
        await asyncio.gather(*(broker.publish(t, b"x") for t in topics))
    finally:
        await broker.close()
    assert len(started) == 1


async def test_consumers_start_together_and_only_once_both_groups_are_assigned(
    harness: Harness,
) -> None:
    """Two consumers start concurrently; the service reports started only once each
    has its source partition (group ``<g>``) and its retry partition (group
    ``<g>.retry``): a retry group still joining handled a due retry seconds late."""
    broker = harness.broker()
    sources = [harness.source("k-start"), harness.source("k-start")]

    consumers = [
        make_consumer(harness, broker, s, noop_handler, name=f"start-{i}")
        for i, s in enumerate(sources)
    ]
    app = Application(
        name="kafka-start",
        brokers=[broker],
        consumers=consumers,
        handle_signals=False,
        drain_timeout=10.0,
    )
    task = asyncio.create_task(app.serve())
    try:
        await asyncio.wait_for(app.wait_started(), 60)
        for c, source in zip(consumers, sources, strict=True):
            sub = c._sub
            assert isinstance(sub, KafkaSubscription) and sub.receiving
            assert sub._consumer.assignment() == {TopicPartition(source, 0)}
            assert sub._retry_consumer.assignment() == {
                TopicPartition(f"{source}.retry", 0)
            }
        assert app.ready
    finally:
        app.shutdown()
        assert await task == 0


async def noop_handler(body: bytes, msg: InboundMessage) -> None:
    return None
