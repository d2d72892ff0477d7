"""Idempotency keys shared by replicas: claim a key once per window (tasks, schedules)."""

from __future__ import annotations

import time
from typing import Any, Final, Protocol, runtime_checkable

from .errors import require


@runtime_checkable
class IdempotencyStore(Protocol):
    """Remembers claimed keys for a while; ``claim`` is atomic across replicas."""

    name: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def claim(self, key: str, ttl: float, owner: str = "") -> bool:
        """True for the first claim of ``key`` within ``ttl`` seconds, False after —
        except that the same ``owner`` may claim its own key again (a redelivery)."""

    async def release(self, key: str, owner: str = "") -> None:
        """Forget ``key`` (an enqueue that failed after claiming it); with ``owner``,
        only while that owner holds it (a lock that expired and was taken by another
        is left to its new holder)."""

    async def mark(self, key: str) -> float | None:
        """The value last raised to under ``key``, or None (schedules: the last fire)."""

    async def raise_mark(self, key: str, value: float, ttl: float) -> None:
        """Set ``key`` to ``value`` unless it already holds a larger one; keep it
        ``ttl`` seconds."""


class MemoryIdempotency:
    """Keys kept in this process: right for one replica and for tests."""

    def __init__(self, *, name: str = "idempotency") -> None:
        self.name = name
        self._keys: dict[str, tuple[float, str]] = {}
        self._marks: dict[str, tuple[float, float]] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def claim(self, key: str, ttl: float, owner: str = "") -> bool:
        now = time.monotonic()
        held = self._keys.get(key)
        if held is not None and held[0] > now:
            return bool(owner) and held[1] == owner  # the owner again: a redelivery
        if len(self._keys) > 10_000:
            self._keys = {k: v for k, v in self._keys.items() if v[0] > now}
        self._keys[key] = (now + ttl, owner)
        return True

    async def release(self, key: str, owner: str = "") -> None:
        held = self._keys.get(key)
        if held is not None and (not owner or held[1] == owner):
            del self._keys[key]

    async def mark(self, key: str) -> float | None:
        held = self._marks.get(key)
        return held[0] if held is not None and held[1] > time.monotonic() else None

    async def raise_mark(self, key: str, value: float, ttl: float) -> None:
        current = await self.mark(key)
        if current is None or value > current:
            self._marks[key] = (value, time.monotonic() + ttl)


# KEYS[1]=key; ARGV: owner. Delete the key only while the owner holds it.
_RELEASE_OWNED: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS[1]=key; ARGV: value, ttl ms. Keep the larger of the stored and given value.
_RAISE_MARK: Final = """
local current = tonumber(redis.call('GET', KEYS[1]))
if current == nil or tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


class RedisIdempotency:
    """Keys in Redis (``SET key NX PX ttl``): one claim wins across every replica."""

    def __init__(
        self, *, url: str, prefix: str = "svcgen:idem:", name: str = "idempotency"
    ) -> None:
        require("redis", "redis")
        self.name = name
        self.url = url
        self.prefix = prefix
        self._client: object | None = None

    async def open(self) -> None:
        from redis.asyncio import Redis

        self._client = Redis.from_url(self.url)

    async def close(self) -> None:
        client = self._client
        self._client = None
        if client is not None:
            await client.aclose()  # type: ignore[attr-defined]

    def _redis(self) -> object:
        if self._client is None:
            raise RuntimeError(
                f"idempotency store {self.name!r} is not open; the Application opens it"
            )
        return self._client

    async def claim(self, key: str, ttl: float, owner: str = "") -> bool:
        client = self._redis()
        name = self.prefix + key
        ok = await client.set(  # type: ignore[attr-defined]
            name, owner.encode() or b"1", nx=True, px=max(int(ttl * 1000), 1)
        )
        if ok:
            return True
        held = await client.get(name)  # type: ignore[attr-defined]
        return bool(owner) and held is not None and bytes(held) == owner.encode()

    async def release(self, key: str, owner: str = "") -> None:
        client: Any = self._redis()
        if owner:
            await client.eval(_RELEASE_OWNED, 1, self.prefix + key, owner.encode())
        else:
            await client.delete(self.prefix + key)

    async def mark(self, key: str) -> float | None:
        client: Any = self._redis()
        value = await client.get(self.prefix + key)
        return None if value is None else float(value)

    async def raise_mark(self, key: str, value: float, ttl: float) -> None:
        client: Any = self._redis()
        await client.eval(
            _RAISE_MARK, 1, self.prefix + key, repr(value), max(int(ttl * 1000), 1)
        )
