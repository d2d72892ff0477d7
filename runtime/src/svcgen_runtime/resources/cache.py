"""The cache resource: get/set(ttl)/delete/clear over bytes under a key prefix.

Two implementations behind one Protocol: ``MemoryCache`` (in-process, the embedded
default) and ``RedisCache`` (redis-py asyncio; needs the ``redis`` extra). Values are
bytes; keys are str and always stored under the cache's ``prefix``, so ``clear()``
removes only this cache's keys.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol, runtime_checkable

from ..errors import ConfigurationError, SvcgenRuntimeError, redacted, require

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["Cache", "CacheError", "MemoryCache", "RedisCache", "escape_glob"]

_CLEAR_BATCH: Final = 500
"""Keys per SCAN page and per UNLINK in ``RedisCache.clear``."""


class CacheError(SvcgenRuntimeError):
    """A cache was used wrongly (not open, bad value) or its server failed."""


@runtime_checkable
class Cache(Protocol):
    """Bytes under str keys, each optionally expiring after ``ttl`` seconds.

    Every key is stored under the cache's prefix (``<service name>:`` by default in
    generated code), so services sharing one server do not collide.
    """

    name: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def get(self, key: str) -> bytes | None:
        """The value stored under ``key``, or None when absent or expired."""

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``; it expires after ``ttl`` seconds (never when None)."""

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True when it existed."""

    async def clear(self) -> int:
        """Remove every key under this cache's prefix (and no other); return how many."""


def _check_key(cache: str, key: object) -> str:
    if not isinstance(key, str):
        raise CacheError(
            f"cache {cache!r} keys are str, got {type(key).__name__}: convert the key with str() or an f-string"
        )
    return key


def _check_value(cache: str, value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise CacheError(
        f"cache {cache!r} stores bytes, got {type(value).__name__}: encode it first "
        "(text.encode() or model.model_dump_json().encode())"
    )


def _check_ttl(cache: str, ttl: float | None) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not ttl > 0:
        raise CacheError(
            f"cache {cache!r} ttl must be a positive number of seconds or None, got {ttl!r}"
        )
    if math.isinf(ttl):
        return None
    return float(ttl)


def _not_open(kind: str, name: str) -> CacheError:
    return CacheError(
        f"{kind} {name!r} is not open: the Application opens resources at start, "
        "so outside one call `await cache.open()` first"
    )


class _Stored(NamedTuple):
    value: bytes
    expires: float | None
    """On the cache's clock; None: never."""


class _Expiry(NamedTuple):
    at: float
    key: str
    """The full key (prefix included)."""


class MemoryCache:
    """An in-process cache: a dict with expiry by a monotonic clock.

    Private to the process, so ``prefix`` only shapes the stored keys (parity with
    ``RedisCache``). Expired entries are dropped lazily as operations pass.

    Args:
        name: the resource's name, for logs and errors.
        prefix: prepended to every key.
        clock: seconds from a monotonic clock; tests may pass a fake one.
    """

    def __init__(
        self,
        *,
        name: str,
        prefix: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.prefix = prefix
        self._clock = clock
        self._data: dict[str, _Stored] = {}
        self._expiries: list[_Expiry] = []
        """A heap, soonest first; entries of keys set again since may be stale."""
        self._open = False

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    def _ready(self) -> float:
        if not self._open:
            raise _not_open("cache", self.name)
        now = self._clock()
        heap = self._expiries
        while heap and heap[0].at <= now:
            at, full = heapq.heappop(heap)
            entry = self._data.get(full)
            # The heap may hold stale expiries of keys set again since.
            if entry is not None and entry.expires == at:
                del self._data[full]
        return now

    async def get(self, key: str) -> bytes | None:
        self._ready()
        entry = self._data.get(self.prefix + _check_key(self.name, key))
        return None if entry is None else entry.value

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        now = self._ready()
        full = self.prefix + _check_key(self.name, key)
        data = _check_value(self.name, value)
        seconds = _check_ttl(self.name, ttl)
        if seconds is None:
            self._data[full] = _Stored(data, None)
            return
        at = now + seconds
        self._data[full] = _Stored(data, at)
        heapq.heappush(self._expiries, _Expiry(at, full))

    async def delete(self, key: str) -> bool:
        self._ready()
        return (
            self._data.pop(self.prefix + _check_key(self.name, key), None) is not None
        )

    async def clear(self) -> int:
        self._ready()
        count = len(self._data)
        self._data.clear()
        self._expiries.clear()
        return count


def escape_glob(text: str) -> str:
    """Escape Redis glob metacharacters (``* ? [ ] \\``) so MATCH takes ``text`` literally."""
    out = []
    for ch in text:
        if ch in "*?[]\\":
            out.append("\\")
        out.append(ch)
    return "".join(out)


class RedisCache:
    """A cache in Redis (``SET key value PX ttl``), every key under ``prefix``.

    ``clear()`` walks only this cache's keys (``SCAN MATCH <escaped prefix>*``) and
    removes them with ``UNLINK`` in batches, so other keys on the server survive.
    Needs the ``redis`` extra.

    Args:
        name: the resource's name, for logs and errors.
        url: ``redis://[user:password@]host:port/db`` (or ``rediss://``, ``unix://``).
        prefix: prepended to every key; must not be empty, since ``clear()`` deletes
            everything under it. Generated code passes ``"<service name>:"``.
    """

    def __init__(self, *, name: str, url: str, prefix: str) -> None:
        require("redis", "redis")
        if not prefix:
            raise ConfigurationError(
                f"RedisCache {name!r} needs a non-empty prefix (such as '<service>:') "
                "so that clear() deletes only its own keys"
            )
        if not url:
            raise ConfigurationError(
                f"RedisCache {name!r} needs a url such as 'redis://localhost:6379/0'"
            )
        self.name = name
        self.url = url
        self.prefix = prefix
        self._client: Redis | None = None

    async def open(self) -> None:
        if self._client is not None:
            return
        from redis.asyncio import Redis
        from redis.exceptions import RedisError

        client = Redis.from_url(self.url, decode_responses=False)
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            raise CacheError(
                f"cache {self.name!r} cannot reach Redis at {redacted(self.url)} "
                f"({type(exc).__name__}: {exc}): check the url and that the server runs"
            ) from exc
        self._client = client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _redis(self) -> Redis:
        if self._client is None:
            raise _not_open("cache", self.name)
        return self._client

    async def get(self, key: str) -> bytes | None:
        value = await self._redis().get(self.prefix + _check_key(self.name, key))
        if value is None or isinstance(value, bytes):
            return value
        # Only a client made with decode_responses=True returns str; ours does not.
        return value.encode()

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        client = self._redis()
        full = self.prefix + _check_key(self.name, key)
        data = _check_value(self.name, value)
        seconds = _check_ttl(self.name, ttl)
        if seconds is None:
            await client.set(full, data)
        else:
            await client.set(full, data, px=max(1, math.ceil(seconds * 1000)))

    async def delete(self, key: str) -> bool:
        removed = await self._redis().unlink(self.prefix + _check_key(self.name, key))
        return bool(removed)

    async def clear(self) -> int:
        client = self._redis()
        pattern = escape_glob(self.prefix) + "*"
        removed = 0
        batch: list[bytes] = []
        async for key in client.scan_iter(match=pattern, count=_CLEAR_BATCH):
            batch.append(key)
            if len(batch) >= _CLEAR_BATCH:
                removed += await client.unlink(*batch)
                batch = []
        if batch:
            removed += await client.unlink(*batch)
        return removed
