"""The Redis Streams adapter against the real server on 127.0.0.1:6379."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest
from redis.asyncio import Redis

from svcgen_runtime import Application, Consumer, InboundMessage
from svcgen_runtime import message as m
from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.redis import DELAYED_SUFFIX, RedisBroker
from svcgen_runtime.outcome import Ack, Nack, Outcome, Retry
from svcgen_runtime.retry import RetryPolicy
from tests.contract.harness_redis import URL, Harness
from tests.support import until

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
async def admin() -> AsyncIterator[Redis]:
    client = Redis.from_url(URL)
    try:
        yield client
    finally:
        await client.aclose()


def make_consumer(
    harness: Harness,
    broker: RedisBroker,
    source: str,
    handler: Handler,
    *,
    name: str = "c",
    group: str = "g",
    concurrency: int = 4,
    max_attempts: int = 3,
    options: dict[str, Any] | None = None,
) -> Consumer[bytes]:
    return Consumer(
        name=name,
        broker=broker,
        source=source,
        group=group,
        handler=handler,
        concurrency=concurrency,
        timeout=10,
        retry=RetryPolicy(max_attempts=max_attempts, initial=0.05, jitter=False),
        ack_wait=harness.ack_wait(),
        options={**harness.consumer_options(), **(options or {})},
    )


@asynccontextmanager
async def serving(
    brokers: list[RedisBroker], consumers: list[Consumer[bytes]]
) -> AsyncIterator[Application]:
    app = Application(
        name="test",
        brokers=brokers,
        consumers=consumers,
        handle_signals=False,
        drain_timeout=5,
    )
    task = asyncio.create_task(app.serve())
    await asyncio.wait_for(app.wait_started(), 10)
    try:
        yield app
    finally:
        app.shutdown()
        assert await asyncio.wait_for(task, 15) == 0


async def xrange(admin: Redis, key: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Every entry of ``key``, oldest first."""
    return cast(list[tuple[bytes, dict[bytes, bytes]]], await admin.xrange(key))


async def pending_count(admin: Redis, source: str, group: str = "g") -> int:
    summary = await admin.xpending(source, group)
    return int(summary["pending"])


async def test_ack_settles_every_entry(harness: Harness, admin: Redis) -> None:
    source = harness.source("ack")
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    seen: list[InboundMessage] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        seen.append(msg)

    consumer = make_consumer(harness, broker, source, handle)
    async with serving([broker], [consumer]):
        for i in range(20):
            await broker.publish(source, f"m-{i}".encode(), key=f"k{i % 3}")
        await until(lambda: len(seen) == 20)
    assert sorted(msg.body for msg in seen) == sorted(
        f"m-{i}".encode() for i in range(20)
    )
    assert {msg.delivery_count for msg in seen} == {1}
    assert seen[0].key in {"k0", "k1", "k2"}
    assert "stream_id" in seen[0].position and seen[0].timestamp is not None
    assert consumer.stats.acked == 20
    assert await pending_count(admin, source) == 0  # close() flushed the batched XACKs


async def test_headers_and_key_round_trip(harness: Harness, admin: Redis) -> None:
    source = harness.source("headers")
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    await broker.connect()
    try:
        await broker.publish(
            source, b"\x00\xffbin", key="k", headers={"a": "é", "b": ""}
        )
        entries = await xrange(admin, source)
        assert entries[0][1] == {
            b"body": b"\x00\xffbin",
            b"key": b"k",
            b"h:a": "é".encode(),
            b"h:b": b"",
        }
        sub = await broker.subscribe(
            SubscriptionSpec(consumer="c", source=source, group="g", concurrency=2)
        )
        got = await sub.fetch(2, 1.0)
        assert [(x.body, x.key, dict(x.headers)) for x in got] == [
            (b"\x00\xffbin", "k", {"a": "é", "b": ""})
        ]
        await sub.ack(got[0])
        await sub.close()
        assert await pending_count(admin, source) == 0
    finally:
        await broker.close()


async def test_requeue_increments_delivery_count(
    harness: Harness, admin: Redis
) -> None:
    source = harness.source("requeue")
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    counts: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        counts.append(msg.delivery_count)
        return Nack(requeue=True) if msg.delivery_count < 3 else Ack()

    consumer = make_consumer(harness, broker, source, handle, max_attempts=5)
    async with serving([broker], [consumer]):
        await broker.publish(source, b"x", headers={"trace": "t1"})
        await until(lambda: len(counts) == 3)
        await asyncio.sleep(0.2)
    assert counts == [1, 2, 3]
    assert consumer.stats.requeued == 2 and consumer.stats.acked == 1
    assert await pending_count(admin, source) == 0
    entries = await xrange(admin, source)
    assert len(entries) == 3  # the original and two re-added copies
    assert entries[2][1][b"h:" + m.ATTEMPT_HEADER.encode()] == b"3"
    assert entries[2][1][b"h:trace"] == b"t1"


async def test_retry_after_waits_in_the_delayed_set(
    harness: Harness, admin: Redis
) -> None:
    source = harness.source("retry")
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    handled: list[tuple[float, int]] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        handled.append((time.monotonic(), msg.delivery_count))
        return Retry(after=1.0) if msg.delivery_count == 1 else Ack()

    consumer = make_consumer(harness, broker, source, handle)
    async with serving([broker], [consumer]):
        await broker.publish(source, b"x")
        await until(lambda: len(handled) == 1)
        await asyncio.sleep(0.3)
        assert await admin.zcard(source + DELAYED_SUFFIX) == 1
        assert await pending_count(admin, source) == 0  # acked when parked
        await until(lambda: len(handled) == 2, timeout=5)
    waited = handled[1][0] - handled[0][0]
    assert 1.0 <= waited <= 2.0, waited
    assert handled[1][1] == 2
    assert await admin.zcard(source + DELAYED_SUFFIX) == 0


async def test_dead_letter_lands_with_svcgen_headers(
    harness: Harness, admin: Redis
) -> None:
    source = harness.source("dlq")
    broker = RedisBroker("b", URL, client_name=harness.client_name)

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        if body == b"reject":
            return Nack(requeue=False)
        raise ValueError("always broken")

    consumer = make_consumer(harness, broker, source, handle, max_attempts=2)
    async with serving([broker], [consumer]):
        await broker.publish(source, b"reject", key="k1", headers={"a": "1"})
        await broker.publish(source, b"broken")
        await until(lambda: consumer.stats.dead_lettered == 2)
    dead = {e[1][b"body"]: e[1] for e in await xrange(admin, source + ".dlq")}
    assert set(dead) == {b"reject", b"broken"}
    rejected, broken = dead[b"reject"], dead[b"broken"]
    h = m.DLQ_SOURCE.encode()
    assert rejected[b"h:" + h] == source.encode()
    assert rejected[b"h:" + m.DLQ_REASON.encode()] == b"rejected"
    assert rejected[b"h:a"] == b"1" and rejected[b"key"] == b"k1"
    assert broken[b"h:" + m.DLQ_ATTEMPTS.encode()] == b"2"
    assert broken[b"h:" + m.DLQ_ERROR_TYPE.encode()] == b"ValueError"
    assert broken[b"h:" + m.DLQ_ERROR_MESSAGE.encode()] == b"always broken"
    assert broken[b"h:" + m.DLQ_CONSUMER.encode()] == b"c"
    assert b"group" not in broken  # dead letters are not tagged for a group
    assert await pending_count(admin, source) == 0


async def test_requeue_of_one_group_is_not_seen_by_another(
    harness: Harness,
) -> None:
    source = harness.source("groups")
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    seen: dict[str, list[int]] = {"a": [], "b": []}

    def handler(group: str) -> Handler:
        async def handle(body: bytes, msg: InboundMessage) -> Outcome:
            seen[group].append(msg.delivery_count)
            if group == "a" and msg.delivery_count == 1:
                return Retry(after=0.2)
            if group == "a" and msg.delivery_count == 2:
                return Nack(requeue=True)
            return Ack()

        return handle

    a = make_consumer(harness, broker, source, handler("a"), name="a", group="a")
    b = make_consumer(harness, broker, source, handler("b"), name="b", group="b")
    async with serving([broker], [a, b]):
        await broker.publish(source, b"x")
        await until(lambda: len(seen["a"]) == 3)
        await asyncio.sleep(0.5)
    assert seen == {"a": [1, 2, 3], "b": [1]}


async def test_two_replicas_move_a_retry_back_once(harness: Harness) -> None:
    source = harness.source("movers")
    brokers = [
        RedisBroker(f"b{i}", URL, client_name=harness.client_name) for i in (1, 2)
    ]
    handled: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        handled.append(msg.delivery_count)
        return Retry(after=0.3) if msg.delivery_count == 1 else Ack()

    consumers = [
        make_consumer(
            harness, b, source, handle, name=f"c{i}", options={"mover_interval": 0.05}
        )
        for i, b in enumerate(brokers)
    ]
    async with serving(brokers, consumers):
        for i in range(10):
            await brokers[0].publish(source, f"m-{i}".encode())
        await until(lambda: len(handled) >= 20)
        await asyncio.sleep(0.5)
    assert sorted(handled) == [1] * 10 + [2] * 10


async def test_reconnects_after_server_side_kill_and_loses_nothing(
    harness: Harness, admin: Redis
) -> None:
    source = harness.source("cut")
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    done: set[bytes] = set()

    async def handle(body: bytes, msg: InboundMessage) -> None:
        await asyncio.sleep(0.01)
        done.add(body)

    async def my_client_ids() -> set[int]:
        return {
            int(c["id"])
            for c in await admin.client_list()
            if c.get("name") == harness.client_name
        }

    consumer = make_consumer(harness, broker, source, handle, concurrency=8)
    async with serving([broker], [consumer]):
        for i in range(40):
            await broker.publish(source, f"m-{i}".encode())
        await until(lambda: len(done) >= 10)
        before = await my_client_ids()
        assert before
        await harness.cut_connections()
        for i in range(40, 80):
            await broker.publish(source, f"m-{i}".encode())
        await until(lambda: len(done) == 80, timeout=15)
        assert not before & await my_client_ids()  # every old connection is gone
        # Once more while the consumer idles in a blocking XREADGROUP.
        await asyncio.sleep(0.3)
        before = await my_client_ids()
        await harness.cut_connections()
        for i in range(80, 100):
            await broker.publish(source, f"m-{i}".encode())
        await until(lambda: len(done) == 100, timeout=15)
        assert not before & await my_client_ids()
    assert done == {f"m-{i}".encode() for i in range(100)}
    assert await pending_count(admin, source) == 0


async def test_crashed_consumer_entries_are_reclaimed(
    harness: Harness, admin: Redis
) -> None:
    source = harness.source("crash")
    imports, expression = harness.broker_script().rsplit("\n", 1)
    child = f"""
import asyncio
{imports}
from svcgen_runtime.brokers.base import SubscriptionSpec

async def main() -> None:
    broker = {expression}
    await broker.connect()
    spec = SubscriptionSpec(consumer="c", source={source!r}, group="g", concurrency=5,
                            options={{"claim_idle": 0.5}})
    sub = await broker.subscribe(spec)
    taken = []
    while len(taken) < 5:
        taken += await sub.fetch(5 - len(taken), 1.0)
    print(" ".join(x.body.decode() for x in taken), flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    await broker.connect()
    for i in range(8):
        await broker.publish(source, f"m-{i}".encode())
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", child, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 15)
    taken = set(line.decode().split())
    assert len(taken) == 5
    await asyncio.sleep(1.0)  # alive: its housekeeping keeps the entries un-idle
    assert await pending_count(admin, source) == 5
    proc.send_signal(signal.SIGKILL)
    await proc.wait()

    counts: dict[str, int] = {}

    async def handle(body: bytes, msg: InboundMessage) -> None:
        counts[body.decode()] = msg.delivery_count

    consumer = make_consumer(
        harness, broker, source, handle, options={"claim_idle": 0.5}
    )
    async with serving([broker], [consumer]):
        await until(lambda: len(counts) == 8)
    assert {k for k, v in counts.items() if v == 2} == taken
    assert {k for k, v in counts.items() if v == 1} == {
        f"m-{i}" for i in range(8)
    } - taken
    assert await pending_count(admin, source) == 0


async def test_slow_handler_is_not_reclaimed_by_another_replica(
    harness: Harness,
) -> None:
    source = harness.source("slow")
    brokers = [
        RedisBroker(f"b{i}", URL, client_name=harness.client_name) for i in (1, 2)
    ]
    starts: list[str] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        starts.append(msg.id)
        await asyncio.sleep(2.0)  # four times claim_idle

    opts = {"claim_idle": 0.5, "claim_interval": 0.1}
    consumers = [
        make_consumer(harness, b, source, handle, name=f"c{i}", options=opts)
        for i, b in enumerate(brokers)
    ]
    async with serving(brokers, consumers):
        await brokers[0].publish(source, b"slow")
        await until(lambda: sum(c.stats.acked for c in consumers) == 1, timeout=8)
    assert len(starts) == 1


async def test_forced_shutdown_leaves_entries_for_another_consumer(
    harness: Harness, admin: Redis
) -> None:
    source = harness.source("release")
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    started = asyncio.Event()

    async def stuck(body: bytes, msg: InboundMessage) -> None:
        started.set()
        await asyncio.sleep(30)

    first = make_consumer(harness, broker, source, stuck, name="first")
    app = Application(
        name="t",
        brokers=[broker],
        consumers=[first],
        handle_signals=False,
        drain_timeout=0.2,
    )
    task = asyncio.create_task(app.serve())
    await app.wait_started()
    await broker.publish(source, b"x")
    await asyncio.wait_for(started.wait(), 10)
    app.shutdown()
    assert await asyncio.wait_for(task, 10) == 1  # forced: released, never acked
    assert first.stats.released == 1 and first.stats.acked == 0
    assert await pending_count(admin, source) == 1

    counts: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        counts.append(msg.delivery_count)

    second_broker = RedisBroker("b2", URL, client_name=harness.client_name)
    second = make_consumer(harness, second_broker, source, handle, name="second")
    async with serving([second_broker], [second]):
        await until(lambda: len(counts) == 1, timeout=5)
    assert counts == [2]
    assert await pending_count(admin, source) == 0


async def test_unknown_option_is_refused(harness: Harness) -> None:
    from svcgen_runtime.errors import ConfigurationError

    broker = RedisBroker("b", URL, client_name=harness.client_name)
    await broker.connect()
    try:
        spec = SubscriptionSpec(
            consumer="c",
            source=harness.source("opt"),
            group="g",
            options={"clam_idle": 1},
        )
        with pytest.raises(ConfigurationError, match="clam_idle"):
            await broker.subscribe(spec)
    finally:
        await broker.close()


async def test_entries_taken_by_a_cancelled_fetch_are_handed_out_next(
    harness: Harness, admin: Redis
) -> None:
    source = harness.source("cancel")
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    await broker.connect()
    try:
        spec = SubscriptionSpec(
            consumer="c",
            source=source,
            group="g",
            concurrency=5,
            options={"consumer_name": "me", "claim_idle": 60},
        )
        sub = await broker.subscribe(spec)
        blocked = asyncio.create_task(sub.fetch(5, 5.0))
        await asyncio.sleep(0.2)
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        for i in range(3):
            await broker.publish(source, f"m-{i}".encode())
        # What a reply lost with the cancelled read looks like: delivered to "me".
        await admin.xreadgroup("g", "me", {source: ">"}, count=3)
        assert await pending_count(admin, source) == 3
        got = await sub.fetch(5, 1.0)
        assert sorted(x.body for x in got) == [b"m-0", b"m-1", b"m-2"]
        assert {x.delivery_count for x in got} == {2}  # the lost delivery counts
        for x in got:
            await sub.ack(x)
        await sub.close()
        assert await pending_count(admin, source) == 0
    finally:
        await broker.close()


async def test_each_retry_carries_a_fresh_due_time(harness: Harness) -> None:
    source = harness.source("due")
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    seen: list[tuple[int, float, float]] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        due = float(msg.headers.get(m.DUE_HEADER, "0"))
        seen.append((msg.delivery_count, due, time.time()))
        return Retry(after=0.3) if msg.delivery_count < 3 else Ack()

    consumer = make_consumer(harness, broker, source, handle, max_attempts=5)
    async with serving([broker], [consumer]):
        await broker.publish(source, b"x")
        await until(lambda: len(seen) == 3)
    assert [count for count, _, _ in seen] == [1, 2, 3]
    assert seen[0][1] == 0.0
    for count, due, handled_at in seen[1:]:
        assert handled_at >= due, (count, due, handled_at)  # never early
    assert seen[2][1] >= seen[1][1] + 0.3  # the second retry's own due time


async def test_a_retry_delay_and_its_due_time_are_rounded_up_never_down(
    harness: Harness,
) -> None:
    """Delays with fractions of a millisecond: the due time (server clock, in ms)
    is never before the moment of the retry plus the delay."""
    source = harness.source("round")
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    await broker.connect()
    try:
        spec = SubscriptionSpec(
            consumer="c",
            source=source,
            group="g",
            concurrency=1,
            options={"consumer_name": "me", "claim_idle": 60},
        )
        sub = await broker.subscribe(spec)
        await broker.publish(source, b"x")
        (msg,) = await sub.fetch(1, 2.0)
        for after in (0.0019, 0.0101, 0.0207, 0.0019, 0.0101):
            before = time.time()
            await sub.retry(msg, after)
            got = await sub.fetch(1, 2.0)
            arrived = time.time()
            assert len(got) == 1
            msg = got[0]
            due = float(msg.headers[m.DUE_HEADER])
            assert due >= before + after, (after, due - before)
            assert arrived >= before + after, (after, arrived - before)
        await sub.ack(msg)
        await sub.close()
    finally:
        await broker.close()


async def consumer_names(admin: Redis, source: str) -> set[str]:
    infos = await admin.xinfo_consumers(source, "g")
    return {
        str(i["name"].decode() if isinstance(i["name"], bytes) else i["name"])
        for i in infos
    }


async def test_idle_consumers_with_nothing_pending_are_forgotten(
    harness: Harness, admin: Redis
) -> None:
    source = harness.source("prune")
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    await broker.connect()
    try:
        spec = SubscriptionSpec(
            consumer="c",
            source=source,
            group="g",
            options={"consumer_name": "me", "prune_idle": 0.3, "claim_idle": 60},
        )
        sub = await broker.subscribe(spec)
        await admin.xgroup_createconsumer(source, "g", "crashed-empty")
        await broker.publish(source, b"held")
        await admin.xreadgroup("g", "crashed-holding", {source: ">"}, count=1)
        await broker.publish(source, b"mine")
        got = await sub.fetch(1, 1.0)
        assert [x.body for x in got] == [b"mine"]
        await asyncio.sleep(1.2)
        # the one holding an entry stays, so does this live consumer
        assert await consumer_names(admin, source) == {"crashed-holding", "me"}
        await sub.ack(got[0])
        await sub.close()
        assert await consumer_names(admin, source) == {"crashed-holding"}
        assert await pending_count(admin, source) == 1
    finally:
        await broker.close()


async def test_entries_pending_at_the_server_never_exceed_concurrency(
    harness: Harness, admin: Redis
) -> None:
    source = harness.source("bound")
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    done: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        await asyncio.sleep(0.02)
        done.append(body)

    consumer = make_consumer(harness, broker, source, handle, concurrency=3)
    samples: list[int] = []
    async with serving([broker], [consumer]):
        for i in range(60):
            await broker.publish(source, f"m-{i}".encode())
        while len(done) < 60:
            samples.append(await pending_count(admin, source))
            await asyncio.sleep(0.005)
    assert max(samples) == 3, samples  # reached, never exceeded: COUNT <= free permits
    assert len(done) == 60


async def test_a_lost_group_is_created_again(harness: Harness, admin: Redis) -> None:
    # What a restart of a Redis without persistence looks like to a consumer.
    source = harness.source("nogroup")
    broker = RedisBroker("b", URL, client_name=harness.client_name)
    done: set[bytes] = set()

    async def handle(body: bytes, msg: InboundMessage) -> None:
        done.add(body)

    consumer = make_consumer(harness, broker, source, handle)
    async with serving([broker], [consumer]) as app:
        for i in range(5):
            await broker.publish(source, f"a-{i}".encode())
        await until(lambda: len(done) == 5)
        await asyncio.sleep(0.1)
        await admin.delete(source)
        for i in range(5):
            await broker.publish(source, f"b-{i}".encode())
        await until(lambda: len(done) == 10)
        await until(lambda: app.ready)
    assert done == {f"{p}-{i}".encode() for p in "ab" for i in range(5)}
