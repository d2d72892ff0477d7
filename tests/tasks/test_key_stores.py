"""Every shared idempotency store keeps one contract, on its real server: a key is
claimed once across replicas, its owner may take it back, only the owner releases it,
an expired claim is taken over by one replica, and marks only grow."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import asyncpg
import nats
import pytest

from svcgen_runtime.idempotency import (
    IdempotencyStore,
    NatsIdempotency,
    PostgresIdempotency,
    RedisIdempotency,
)
from tests.contract.harness import unique

pytestmark = pytest.mark.broker

REDIS_URL = "redis://127.0.0.1:6379/0"
NATS_URL = "nats://127.0.0.1:4222"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

Factory = Callable[[], IdempotencyStore]


@contextlib.asynccontextmanager
async def redis_stores() -> AsyncIterator[Factory]:
    prefix = unique("svcgen-test-keys") + ":"
    yield lambda: RedisIdempotency(url=REDIS_URL, prefix=prefix)
    from redis.asyncio import Redis

    admin = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in admin.scan_iter(match=prefix + "*")]
        if keys:
            await admin.delete(*keys)
    finally:
        await admin.aclose()


@contextlib.asynccontextmanager
async def nats_stores() -> AsyncIterator[Factory]:
    bucket = unique("svcgen-test-keys").replace(".", "-")
    yield lambda: NatsIdempotency(url=NATS_URL, bucket=bucket, max_age=3600)
    nc = await nats.connect(NATS_URL)
    try:
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_key_value(bucket)
    finally:
        await nc.close()


@contextlib.asynccontextmanager
async def postgres_stores() -> AsyncIterator[Factory]:
    table = unique("svcgen_test_keys").replace("-", "_").replace(".", "_")
    yield lambda: PostgresIdempotency(url=POSTGRES_URL, table=table, prefix="t:")
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        await conn.close()


STORES = {"redis": redis_stores, "nats": nats_stores, "postgres": postgres_stores}


@pytest.fixture(params=sorted(STORES))
async def replicas(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[IdempotencyStore, IdempotencyStore]]:
    """Two stores on one server, each with its own connection: two replicas."""
    async with STORES[request.param]() as make:
        a, b = make(), make()
        await a.open()
        await b.open()
        try:
            yield a, b
        finally:
            await a.close()
            await b.close()


async def test_a_key_is_claimed_once_across_replicas(
    replicas: tuple[IdempotencyStore, IdempotencyStore],
) -> None:
    a, b = replicas
    assert await a.claim("send:order-1", 60) is True
    assert await b.claim("send:order-1", 60) is False
    assert await a.claim("send:order-1", 60) is False  # no owner: a repeat
    assert await b.claim("send:order-2", 60) is True
    # Twenty claims racing from both replicas: exactly one wins.
    results = await asyncio.gather(
        *(s.claim("send:race", 60) for _ in range(10) for s in (a, b))
    )
    assert results.count(True) == 1


async def test_the_owner_takes_its_key_back_and_only_it_releases(
    replicas: tuple[IdempotencyStore, IdempotencyStore],
) -> None:
    a, b = replicas
    assert await a.claim("lock", 60, owner="run-1")
    assert await b.claim("lock", 60, owner="run-1")  # the same run, redelivered
    assert not await b.claim("lock", 60, owner="run-2")
    await b.release("lock", owner="run-2")  # not run-2's: kept
    assert not await a.claim("lock", 60, owner="run-2")
    await b.release("lock", owner="run-1")
    assert await a.claim("lock", 60, owner="run-2")
    await a.release("lock")  # without an owner: unconditionally
    assert await b.claim("lock", 60)


async def test_an_expired_claim_is_taken_over_by_one_replica(
    replicas: tuple[IdempotencyStore, IdempotencyStore],
) -> None:
    a, b = replicas
    assert await a.claim("short", 0.3, owner="run-1")
    assert not await b.claim("short", 60, owner="run-2")
    await asyncio.sleep(0.5)
    results = await asyncio.gather(
        b.claim("short", 60, owner="run-2"), a.claim("short", 60, owner="run-3")
    )
    assert sorted(results) == [False, True]
    await a.release("short", owner="run-1")  # the expired owner frees nothing
    winner = "run-2" if results[0] else "run-3"
    assert await b.claim("short", 60, owner=winner)


async def test_marks_only_grow_and_expire(
    replicas: tuple[IdempotencyStore, IdempotencyStore],
) -> None:
    a, b = replicas
    assert await a.mark("schedule-fired:tick") is None
    await a.raise_mark("schedule-fired:tick", 1000.25, 60)
    await b.raise_mark("schedule-fired:tick", 999.0, 60)
    assert await b.mark("schedule-fired:tick") == 1000.25
    await b.raise_mark("schedule-fired:tick", 1000.5, 60)
    assert await a.mark("schedule-fired:tick") == 1000.5
    await a.raise_mark("schedule-fired:short", 5.0, 0.3)
    await asyncio.sleep(0.5)
    assert await b.mark("schedule-fired:short") is None
    await b.raise_mark("schedule-fired:short", 4.0, 60)  # an expired mark restarts
    assert await a.mark("schedule-fired:short") == 4.0


@pytest.mark.parametrize("kind", sorted(STORES))
async def test_replicas_opening_together_share_one_store(kind: str) -> None:
    """Replicas start at once: creating the bucket or table must not fail the one
    that loses the race."""
    for _ in range(5):
        async with STORES[kind]() as make:
            a, b = make(), make()
            try:
                await asyncio.gather(a.open(), b.open())
                assert await a.claim("k", 60) is True
                assert await b.claim("k", 60) is False
            finally:
                await a.close()
                await b.close()


async def test_a_nats_bucket_created_between_lookup_and_create_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The race, made certain: another replica created the bucket (with another
    max_age, so creating it again fails) after this one looked for it."""
    from nats.js.client import JetStreamContext
    from nats.js.errors import BucketNotFoundError

    async with nats_stores() as make:
        first = make()
        assert isinstance(first, NatsIdempotency)
        nc = await nats.connect(NATS_URL)
        try:
            await nc.jetstream().create_key_value(bucket=first.bucket, ttl=60)
        finally:
            await nc.close()
        looked = 0
        real = JetStreamContext.key_value

        async def late(self: JetStreamContext, bucket: str) -> object:
            nonlocal looked
            looked += 1
            if looked == 1:
                raise BucketNotFoundError
            return await real(self, bucket)

        monkeypatch.setattr(JetStreamContext, "key_value", late)
        try:
            await first.open()
            assert looked == 2  # creating it failed, and the second look found it
            assert await first.claim("k", 60) is True
        finally:
            await first.close()
