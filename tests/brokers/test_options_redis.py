"""Redis options against the real server (127.0.0.1:6379): ``maxlen`` caps a stream
(``XLEN`` and ``XINFO STREAM`` read back) on the broker's publishes and, as a
consumer's option, on its source; ``claim_idle`` times when another consumer of the
group takes over an entry its first reader never settled (a stand-in for a replica
that died holding it: closed without settling, it stops keeping the entry un-idle)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.redis import RedisBroker
from tests.contract.harness_redis import URL, Harness
from tests.support import until_async

pytestmark = pytest.mark.broker

NODE = 100
"""Redis's ``stream-node-max-entries`` default: ``MAXLEN ~`` trims whole nodes, so a
stream keeps up to about one node more than asked."""


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


def spec(source: str, **options: object) -> SubscriptionSpec:
    return SubscriptionSpec(
        consumer="opts", source=source, group="g", dead_letter=None, options=options
    )


async def test_the_broker_s_maxlen_caps_what_it_publishes(
    harness: Harness, admin: Redis
) -> None:
    source = harness.source("opt-maxlen")
    broker = RedisBroker("r", URL, maxlen=200)
    try:
        for n in range(2000):
            await broker.publish(source, str(n).encode())
    finally:
        await broker.close()
    length = await admin.xlen(source)
    assert 200 <= length <= 200 + NODE, length
    info = await admin.xinfo_stream(source)
    assert info["length"] == length
    assert info["last-generated-id"] != info["first-entry"][0]  # the oldest went
    assert info["entries-added"] == 2000
    unbounded = harness.source("opt-nomaxlen")
    plain = RedisBroker("r", URL)
    try:
        for n in range(500):
            await plain.publish(unbounded, str(n).encode())
    finally:
        await plain.close()
    assert await admin.xlen(unbounded) == 500, "no maxlen: nothing is trimmed"


async def test_a_consumer_s_maxlen_trims_its_source(
    harness: Harness, admin: Redis
) -> None:
    source = harness.source("opt-trim")
    for n in range(1000):
        await admin.xadd(source, {"n": n})
    broker = RedisBroker("r", URL)
    try:
        sub = await broker.subscribe(spec(source, maxlen=150))

        async def trimmed() -> bool:
            return await admin.xlen(source) <= 150 + NODE

        await until_async(trimmed, timeout=5.0, what="the source's trim")
        await sub.close()
    finally:
        await broker.close()


@pytest.mark.slow
async def test_another_consumer_claims_an_unsettled_entry_after_claim_idle(
    harness: Harness,
) -> None:
    source = harness.source("opt-claim")
    first, second = RedisBroker("a", URL), RedisBroker("b", URL)
    try:
        dead = await first.subscribe(spec(source, claim_idle=1.0, claim_interval=0.1))
        alive = await second.subscribe(spec(source, claim_idle=1.0, claim_interval=0.1))
        await first.publish(source, b"x")
        (taken,) = await dead.fetch(1, 5.0)
        assert taken.delivery_count == 1
        # Closed unsettled: the entry stays pending with it and nobody keeps it
        # un-idle any more, as after a crash. Its last touch was at most
        # claim_idle / 3 before.
        await dead.close()
        started = time.monotonic()
        claimed = None
        while claimed is None and time.monotonic() - started < 10:
            # short reads, as the consume loop's: a claim pass runs between them
            batch = await alive.fetch(1, 0.1)
            claimed = batch[0] if batch else None
        waited = time.monotonic() - started
        assert claimed is not None, "not claimed within 10s"
        assert claimed.body == b"x" and claimed.delivery_count == 2
        assert 0.6 <= waited <= 3.0, waited
        await alive.ack(claimed)
        await alive.close()
    finally:
        await first.close()
        await second.close()
