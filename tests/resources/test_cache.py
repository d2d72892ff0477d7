"""The cache resource against memory and a real Redis: values, TTL, delete, prefix-scoped clear."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from svcgen_runtime import Application, ConfigurationError, MissingExtraError
from svcgen_runtime.errors import SvcgenRuntimeError
from svcgen_runtime.resources import Cache, CacheError, MemoryCache, RedisCache
from svcgen_runtime.resources.cache import escape_glob
from svcgen_runtime.types import Resource
from tests.contract.harness import unique

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def raw() -> AsyncIterator[Redis]:
    """A plain client for looking behind the cache, which deletes what tests leave."""
    client = Redis.from_url(REDIS_URL)
    created: list[str] = []
    client.created = created  # type: ignore[attr-defined]
    try:
        yield client
    finally:
        for prefix in created:
            keys = [k async for k in client.scan_iter(match=escape_glob(prefix) + "*")]
            if keys:
                await client.unlink(*keys)
        await client.aclose()


def _prefix(raw: Redis, label: str = "svcgen-test") -> str:
    prefix = unique(label) + ":"
    raw.created.append(prefix)  # type: ignore[attr-defined]
    return prefix


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest, raw: Redis) -> AsyncIterator[Cache]:
    made: Cache
    if request.param == "memory":
        made = MemoryCache(name="cache", prefix="svc:")
    else:
        made = RedisCache(name="cache", url=REDIS_URL, prefix=_prefix(raw))
    await made.open()
    try:
        yield made
    finally:
        await made.close()


async def test_set_get_delete_round_trip(cache: Cache) -> None:
    assert await cache.get("missing") is None
    await cache.set("k", b"\x00value\xff")
    assert await cache.get("k") == b"\x00value\xff"
    await cache.set("k", b"new")
    assert await cache.get("k") == b"new"
    assert await cache.delete("k") is True
    assert await cache.get("k") is None
    assert await cache.delete("k") is False


async def test_ttl_expires_the_value(cache: Cache) -> None:
    await cache.set("short", b"1", ttl=0.15)
    await cache.set("long", b"2", ttl=30)
    await cache.set("forever", b"3")
    assert await cache.get("short") == b"1"
    await asyncio.sleep(0.3)
    assert await cache.get("short") is None
    assert await cache.get("long") == b"2"
    assert await cache.get("forever") == b"3"


async def test_setting_again_replaces_the_ttl(cache: Cache) -> None:
    await cache.set("k", b"1", ttl=0.1)
    await cache.set("k", b"2")
    await asyncio.sleep(0.25)
    assert await cache.get("k") == b"2"


async def test_clear_removes_every_key_and_counts_them(cache: Cache) -> None:
    for i in range(5):
        await cache.set(f"k{i}", b"x")
    assert await cache.clear() == 5
    assert await cache.get("k0") is None
    assert await cache.clear() == 0


@pytest.mark.parametrize("ttl", [0, -1, "5", True])
async def test_bad_ttl_is_refused(cache: Cache, ttl: Any) -> None:
    with pytest.raises(CacheError, match="ttl must be a positive number"):
        await cache.set("k", b"x", ttl=ttl)


async def test_non_bytes_value_is_refused_with_the_fix(cache: Cache) -> None:
    with pytest.raises(CacheError, match=r"stores bytes, got str: encode it first"):
        await cache.set("k", "text")  # type: ignore[arg-type]
    with pytest.raises(CacheError, match="keys are str"):
        await cache.get(b"k")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "make",
    [
        lambda: MemoryCache(name="c"),
        lambda: RedisCache(name="c", url=REDIS_URL, prefix="p:"),
    ],
)
async def test_use_before_open_and_after_close_is_a_clear_error(
    make: Callable[[], Cache],
) -> None:
    cache = make()
    assert isinstance(cache, Cache)
    assert isinstance(cache, Resource)
    with pytest.raises(CacheError, match=r"'c' is not open: .*await cache.open\(\)"):
        await cache.get("k")
    await cache.open()
    await cache.open()  # idempotent
    await cache.close()
    await cache.close()  # idempotent
    with pytest.raises(CacheError, match="is not open"):
        await cache.set("k", b"x")


# -- memory ---------------------------------------------------------------------


async def test_memory_ttl_uses_the_monotonic_clock_and_purges_expired_entries() -> None:
    now = [100.0]
    cache = MemoryCache(name="c", prefix="p:", clock=lambda: now[0])
    await cache.open()
    await cache.set("a", b"1", ttl=10)
    await cache.set("b", b"2", ttl=20)
    now[0] = 109.999
    assert await cache.get("a") == b"1"
    now[0] = 110.0
    assert await cache.get("a") is None
    assert list(cache._data) == ["p:b"]  # expired entries do not linger
    now[0] = 120.0
    assert await cache.clear() == 0


async def test_memory_keys_carry_the_prefix() -> None:
    cache = MemoryCache(name="c", prefix="orders:")
    await cache.open()
    await cache.set("k", b"v")
    assert list(cache._data) == ["orders:k"]


# -- redis ----------------------------------------------------------------------


async def test_redis_stores_under_the_prefix_with_a_px_expiry(raw: Redis) -> None:
    prefix = _prefix(raw)
    cache = RedisCache(name="c", url=REDIS_URL, prefix=prefix)
    await cache.open()
    try:
        await cache.set("k", b"v", ttl=5.5)
        await cache.set("n", b"v")
        assert await raw.get(prefix + "k") == b"v"
        assert 5000 < await raw.pttl(prefix + "k") <= 5500
        assert await raw.pttl(prefix + "n") == -1
    finally:
        await cache.close()


async def test_redis_clear_leaves_keys_outside_its_prefix(raw: Redis) -> None:
    # Glob characters in the prefix must be taken literally by SCAN MATCH: unescaped,
    # "t-[ab]*?:*" would also match the neighbours below.
    base = _prefix(raw, "svcgen-test")[:-1]
    prefix = base + "-[ab]*?\\:"
    raw.created.append(prefix)  # type: ignore[attr-defined]
    neighbours = [
        base + "-a-x:k",
        base + "-b:k",
        base + "-[ab]*?\\",
        base + "-[ab]*?\\;k",
        base + ":k",
    ]
    for key in neighbours:
        await raw.set(key, b"keep")
    cache = RedisCache(name="c", url=REDIS_URL, prefix=prefix)
    await cache.open()
    try:
        for i in range(1203):  # more than two SCAN/UNLINK batches of 500
            await raw.set(prefix + f"k{i}", b"x")
        assert await cache.clear() == 1203
        assert [k async for k in raw.scan_iter(match=escape_glob(prefix) + "*")] == []
        for key in neighbours:
            assert await raw.get(key) == b"keep", key
    finally:
        await cache.close()
        await raw.unlink(*neighbours)


def test_escape_glob() -> None:
    assert escape_glob("a*b?c[d]e\\f:") == "a\\*b\\?c\\[d\\]e\\\\f:"
    assert escape_glob("orders:") == "orders:"


def test_redis_needs_a_prefix() -> None:
    with pytest.raises(ConfigurationError, match="needs a non-empty prefix"):
        RedisCache(name="c", url=REDIS_URL, prefix="")


async def test_redis_unreachable_fails_at_open_with_a_redacted_url() -> None:
    cache = RedisCache(name="c", url="redis://u:secret@127.0.0.1:1/0", prefix="p:")
    with pytest.raises(
        CacheError, match=r"cannot reach Redis at redis://u:\*\*\*@"
    ) as e:
        await cache.open()
    assert "secret" not in str(e.value)
    assert isinstance(e.value, SvcgenRuntimeError)
    with pytest.raises(CacheError, match="is not open"):
        await cache.get("k")


def test_redis_without_the_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(
        MissingExtraError, match=r"pip install 'svcgen-runtime\[redis\]'"
    ):
        RedisCache(name="c", url=REDIS_URL, prefix="p:")


def test_importing_resources_imports_no_driver() -> None:
    code = (
        "import sys, svcgen_runtime.resources as r\n"
        "r.MemoryCache(name='c'); r.SqliteDatabase(name='d', path=':memory:')\n"
        "r.FsStorage(name='s', path='.'); r.MemoryStorage(name='m')\n"
        "print(sorted(m for m in ('redis', 'asyncpg') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


async def test_application_opens_resources_first_and_closes_them_last(
    raw: Redis,
) -> None:
    cache = RedisCache(name="cache", url=REDIS_URL, prefix=_prefix(raw))
    memory = MemoryCache(name="memory")
    app = Application(name="svc", resources=[cache, memory], handle_signals=False)
    serving = asyncio.create_task(app.serve())
    await asyncio.wait_for(app.wait_started(), 10)
    await cache.set("k", b"v")
    await memory.set("k", b"v")
    assert await cache.get("k") == b"v"
    app.shutdown()
    assert await asyncio.wait_for(serving, 10) == 0
    with pytest.raises(CacheError, match="is not open"):
        await cache.get("k")
