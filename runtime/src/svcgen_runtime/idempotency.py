"""Idempotency keys shared by replicas: claim a key once per window (tasks, schedules).

| store               | where the keys live                   | atomic claim                          |
|---------------------|---------------------------------------|---------------------------------------|
| MemoryIdempotency   | this process (one replica, tests)     | a dict                                |
| RedisIdempotency    | a Redis server                        | ``SET NX PX``; Lua compare-and-delete |
| NatsIdempotency     | a JetStream key-value bucket          | ``create`` / ``update(last=revision)``|
| PostgresIdempotency | a table in PostgreSQL                 | ``INSERT … ON CONFLICT … WHERE``      |
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import (
    TYPE_CHECKING,
    Final,
    NamedTuple,
    Protocol,
    TypeVar,
    runtime_checkable,
)

from .errors import ConfigurationError, require

if TYPE_CHECKING:  # the optional redis, nats and postgres extras
    import asyncpg
    from nats.aio.client import Client as NatsClient
    from nats.js.kv import KeyValue
    from redis.asyncio import Redis

_H = TypeVar("_H")


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


def _opened(handle: _H | None, name: str) -> _H:
    """``handle`` (a client, bucket or pool) of an open store, else a clear error."""
    if handle is None:
        raise RuntimeError(
            f"idempotency store {name!r} is not open; the Application opens it"
        )
    return handle


class _Claim(NamedTuple):
    expires: float
    """Monotonic time."""
    owner: str


class _Mark(NamedTuple):
    value: float
    expires: float
    """Monotonic time."""


class MemoryIdempotency:
    """Keys kept in this process: right for one replica and for tests."""

    def __init__(self, *, name: str = "idempotency") -> None:
        self.name = name
        self._keys: dict[str, _Claim] = {}
        self._marks: dict[str, _Mark] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def claim(self, key: str, ttl: float, owner: str = "") -> bool:
        now = time.monotonic()
        held = self._keys.get(key)
        if held is not None and held.expires > now:
            return bool(owner) and held.owner == owner  # the owner again: a redelivery
        if len(self._keys) > 10_000:
            self._keys = {k: v for k, v in self._keys.items() if v.expires > now}
        self._keys[key] = _Claim(now + ttl, owner)
        return True

    async def release(self, key: str, owner: str = "") -> None:
        held = self._keys.get(key)
        if held is not None and (not owner or held.owner == owner):
            del self._keys[key]

    async def mark(self, key: str) -> float | None:
        held = self._marks.get(key)
        if held is None or held.expires <= time.monotonic():
            return None
        return held.value

    async def raise_mark(self, key: str, value: float, ttl: float) -> None:
        current = await self.mark(key)
        if current is None or value > current:
            self._marks[key] = _Mark(value, time.monotonic() + ttl)


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
        self._client: Redis | None = None

    async def open(self) -> None:
        from redis.asyncio import Redis

        self._client = Redis.from_url(self.url)

    async def close(self) -> None:
        client = self._client
        self._client = None
        if client is not None:
            await client.aclose()

    def _redis(self) -> Redis:
        return _opened(self._client, self.name)

    async def claim(self, key: str, ttl: float, owner: str = "") -> bool:
        client = self._redis()
        name = self.prefix + key
        ok = await client.set(
            name, owner.encode() or b"1", nx=True, px=max(int(ttl * 1000), 1)
        )
        if ok:
            return True
        held = await client.get(name)
        return bool(owner) and held is not None and held == owner.encode()

    async def release(self, key: str, owner: str = "") -> None:
        client = self._redis()
        if owner:
            await client.eval(_RELEASE_OWNED, 1, self.prefix + key, owner.encode())
        else:
            await client.delete(self.prefix + key)

    async def mark(self, key: str) -> float | None:
        client = self._redis()
        value = await client.get(self.prefix + key)
        return None if value is None else float(value)

    async def raise_mark(self, key: str, value: float, ttl: float) -> None:
        client = self._redis()
        await client.eval(
            _RAISE_MARK, 1, self.prefix + key, repr(value), max(int(ttl * 1000), 1)
        )


def _nats_key(key: str) -> str:
    """A KV key for any text: JetStream keys allow only ``[-/_=.a-zA-Z0-9]``."""
    return base64.urlsafe_b64encode(key.encode()).decode()


class _Entry(NamedTuple):
    """A key-value entry and its value split: ``<expires> <rest>``."""

    entry: KeyValue.Entry
    expires: float
    """Wall-clock time."""
    rest: str
    """The owner of a claim, or the value of a mark."""


class NatsIdempotency:
    """Keys in a JetStream key-value bucket on the task's own NATS server.

    A claim is ``create`` (fails when the key exists); an expired claim is taken over
    with ``update(last=revision)``, so of two replicas racing for it one wins. Each
    value holds its expiry time and owner, written by the replica's clock (keep
    replica clocks in sync, as NTP does; a skew of a few seconds shifts a window by
    as much). The bucket forgets entries after ``max_age`` seconds, which bounds its
    size, so no claim may outlive it.

    Args:
        url: the NATS server(s), as for ``NatsBroker``.
        bucket: the bucket's name (``[-_a-zA-Z0-9]``); created if missing.
        max_age: seconds the bucket keeps an entry (default 31 days).
    """

    def __init__(
        self,
        *,
        url: str,
        bucket: str,
        max_age: float = 31 * 24 * 3600.0,
        name: str = "idempotency",
    ) -> None:
        require("nats", "nats")
        self.name = name
        self.url = url
        self.bucket = bucket
        self.max_age = max_age
        self._nc: NatsClient | None = None
        self._kv: KeyValue | None = None

    async def open(self) -> None:
        import nats
        from nats.js.errors import APIError, BucketNotFoundError

        from .brokers.nats import lost_create_race

        self._nc = await nats.connect(self.url, name=f"svcgen-keys:{self.bucket}")
        js = self._nc.jetstream()
        try:
            self._kv = await js.key_value(self.bucket)
        except BucketNotFoundError:
            try:
                self._kv = await js.create_key_value(
                    bucket=self.bucket, ttl=self.max_age
                )
            except APIError as exc:
                # Replicas starting together race to create the bucket (its
                # stream): the loser's create fails, and the winner's bucket is
                # the one to use.
                if not lost_create_race(exc):
                    raise
                self._kv = await js.key_value(self.bucket)

    async def close(self) -> None:
        nc, self._nc, self._kv = self._nc, None, None
        if nc is not None:
            await nc.close()

    def _bucket(self) -> KeyValue:
        return _opened(self._kv, self.name)

    async def _entry(self, key: str) -> _Entry | None:
        """The entry under ``key`` with its value split."""
        from nats.js.errors import KeyNotFoundError

        try:
            entry = await self._bucket().get(key)
        except KeyNotFoundError:  # never written, deleted or purged
            return None
        if not entry.value:
            return None
        expires, _, rest = entry.value.decode().partition(" ")
        return _Entry(entry, float(expires), rest)

    async def claim(self, key: str, ttl: float, owner: str = "") -> bool:
        from nats.js.errors import KeyWrongLastSequenceError

        if ttl > self.max_age:
            raise ConfigurationError(
                f"idempotency store {self.name!r}: a claim of {ttl}s outlives the "
                f"bucket's max_age of {self.max_age}s; raise max_age"
            )
        kv, k = self._bucket(), _nats_key(key)
        for _ in range(5):  # each turn loses a race to another replica at most
            now = time.time()
            value = f"{now + ttl!r} {owner}".encode()
            found = await self._entry(k)
            try:
                if found is None:
                    await kv.create(k, value)
                    return True
                entry, expires, held = found
                if expires > now:
                    return bool(owner) and held == owner
                await kv.update(k, value, last=entry.revision)
                return True
            except KeyWrongLastSequenceError:
                await asyncio.sleep(0)
        return False  # contended all along: another replica holds it

    async def release(self, key: str, owner: str = "") -> None:
        from nats.js.errors import KeyWrongLastSequenceError

        k = _nats_key(key)
        found = await self._entry(k)
        if found is None:
            return
        entry, _, held = found
        if owner and held != owner:
            return
        try:
            await self._bucket().delete(k, last=entry.revision)
        except KeyWrongLastSequenceError:
            pass  # changed meanwhile: no longer the claim this call meant

    async def mark(self, key: str) -> float | None:
        found = await self._entry(_nats_key(key))
        return _live_mark(found)

    async def raise_mark(self, key: str, value: float, ttl: float) -> None:
        from nats.js.errors import KeyWrongLastSequenceError

        kv, k = self._bucket(), _nats_key(key)
        for _ in range(10):
            data = f"{time.time() + min(ttl, self.max_age)!r} {value!r}".encode()
            found = await self._entry(k)
            try:
                if found is None:
                    await kv.create(k, data)
                    return
                current = _live_mark(found)
                if current is not None and current >= value:
                    return
                await kv.update(k, data, last=found.entry.revision)
                return
            except KeyWrongLastSequenceError:
                await asyncio.sleep(0)


def _live_mark(found: _Entry | None) -> float | None:
    """The mark an entry holds, unless it is missing or expired."""
    if found is None or found.expires <= time.time():
        return None
    return float(found.rest)


_PG_TABLE: Final = """
CREATE TABLE IF NOT EXISTS {table} (
    key text PRIMARY KEY,
    owner text NOT NULL DEFAULT '',
    value double precision,
    expires_at double precision NOT NULL
)
"""
_PG_NOW: Final = "extract(epoch from clock_timestamp())"


class PostgresIdempotency:
    """Keys in a PostgreSQL table (created if missing), judged by the server's clock.

    A claim is one ``INSERT … ON CONFLICT DO UPDATE … WHERE expired`` statement, so
    of two replicas racing for a key exactly one gets a row back. Expired rows are
    deleted in small batches as claims go by.

    Args:
        url: ``postgresql://user:password@host:port/database``.
        table: the table's name (letters, digits and ``_``).
        prefix: prepended to every key, so several services can share the table.
    """

    def __init__(
        self,
        *,
        url: str,
        prefix: str = "",
        table: str = "svcgen_keys",
        name: str = "idempotency",
    ) -> None:
        require("asyncpg", "postgres")
        if not table.replace("_", "").isalnum() or not table[0].isalpha():
            raise ConfigurationError(
                f"idempotency table {table!r} must be letters, digits and _ and start "
                "with a letter"
            )
        self.name = name
        self.url = url
        self.prefix = prefix
        self.table = table
        self._pool: asyncpg.Pool | None = None
        self._claims = 0

    async def open(self) -> None:
        import asyncpg

        self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=4)
        async with self._pool.acquire() as conn:
            # Two replicas starting at once may both try to create it.
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", self.table)
            try:
                await conn.execute(_PG_TABLE.format(table=self.table))
            finally:
                await conn.execute(
                    "SELECT pg_advisory_unlock(hashtext($1))", self.table
                )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def _db(self) -> asyncpg.Pool:
        return _opened(self._pool, self.name)

    async def claim(self, key: str, ttl: float, owner: str = "") -> bool:
        db, t = self._db(), self.table
        won = await db.fetchval(
            f"INSERT INTO {t} (key, owner, expires_at) VALUES ($1, $2, {_PG_NOW} + $3) "
            f"ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, "
            f"value = NULL, expires_at = EXCLUDED.expires_at "
            f"WHERE {t}.expires_at <= {_PG_NOW} RETURNING true",
            self.prefix + key,
            owner,
            float(ttl),
        )
        self._claims += 1
        if self._claims % 1000 == 0:
            await self._sweep()
        if won:
            return True
        if not owner:
            return False
        held = await db.fetchval(
            f"SELECT owner FROM {t} WHERE key = $1 AND expires_at > {_PG_NOW}",
            self.prefix + key,
        )
        return bool(held == owner)

    async def _sweep(self) -> None:
        t = self.table
        await self._db().execute(
            f"DELETE FROM {t} WHERE key IN (SELECT key FROM {t} "
            f"WHERE expires_at <= {_PG_NOW} LIMIT 1000)"
        )

    async def release(self, key: str, owner: str = "") -> None:
        sql = f"DELETE FROM {self.table} WHERE key = $1"
        if owner:
            await self._db().execute(sql + " AND owner = $2", self.prefix + key, owner)
        else:
            await self._db().execute(sql, self.prefix + key)

    async def mark(self, key: str) -> float | None:
        value = await self._db().fetchval(
            f"SELECT value FROM {self.table} WHERE key = $1 AND expires_at > {_PG_NOW}",
            self.prefix + key,
        )
        return None if value is None else float(value)

    async def raise_mark(self, key: str, value: float, ttl: float) -> None:
        t = self.table
        await self._db().execute(
            f"INSERT INTO {t} (key, value, expires_at) VALUES ($1, $2, {_PG_NOW} + $3) "
            f"ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at, "
            f"value = CASE WHEN {t}.expires_at <= {_PG_NOW} OR {t}.value IS NULL "
            f"THEN EXCLUDED.value ELSE GREATEST({t}.value, EXCLUDED.value) END",
            self.prefix + key,
            float(value),
            float(ttl),
        )
