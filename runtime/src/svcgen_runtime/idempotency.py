"""Idempotency keys shared by replicas: claim a key once per window (tasks, schedules)."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

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

    async def release(self, key: str) -> None:
        """Forget ``key`` (an enqueue that failed after claiming it)."""


class MemoryIdempotency:
    """Keys kept in this process: right for one replica and for tests."""

    def __init__(self, *, name: str = "idempotency") -> None:
        self.name = name
        self._keys: dict[str, tuple[float, str]] = {}

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

    async def release(self, key: str) -> None:
        self._keys.pop(key, None)


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

    async def release(self, key: str) -> None:
        await self._redis().delete(self.prefix + key)  # type: ignore[attr-defined]
