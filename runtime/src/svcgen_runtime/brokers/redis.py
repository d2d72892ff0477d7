"""Redis Streams adapter: consumer groups, coalesced XACKs, a delayed set, reclaim by XAUTOCLAIM.

| outcome           | Redis Streams                                                        |
|-------------------|----------------------------------------------------------------------|
| Ack               | `XACK`, coalesced: one XACK per fetch or per few ms for many ids     |
| Nack requeue      | Lua: `XADD <source>` a copy with attempt+1, then `XACK` the original |
| Nack no requeue   | Lua: `XADD <dead_letter>` (the reply confirms), then `XACK`          |
| Retry(after)      | Lua: `ZADD <source>.delayed` (score = due ms), then `XACK`; a mover  |
|                   | script moves due members back with `XADD` + `ZREM`, atomically      |
| delivery_count    | attempt header (1 when absent); for a reclaimed entry it is          |
|                   | attempt + `XPENDING` times-delivered - 1                             |
| crash mid-handler | entries stay pending; any replica `XAUTOCLAIM`s them once idle for   |
|                   | `claim_idle` (default: the consumer's `ack_wait`)                    |
| reconnect         | the pool reconnects; a read cut mid-flight re-reads this consumer's  |
|                   | own pending entries it never handed out (`XCLAIM` to itself)         |

Entry layout: field ``body`` holds the payload, ``key`` the ordering key (absent for
none), ``h:<name>`` one field per header, and ``group`` (only on copies this adapter
re-adds) the consumer group the copy is for; other groups of the same stream ack
such copies unseen, so a requeue of one group is never delivered to another.

Every settle script first checks that the entry is still pending *for this consumer*
(``XPENDING``), so a duplicate call, or an entry another replica reclaimed meanwhile,
writes nothing. Copies are written before the original is acknowledged, inside one
script, so they are atomic. Scripts touch several keys: single-node Redis only.

While a handler runs, its entry's idle time is reset (``XCLAIM ... JUSTID`` by a
per-subscription housekeeping task, every ``claim_idle / 3``), so slow handlers are
not reclaimed by other replicas; a crashed process stops resetting and loses them.

Consumer options (``Consumer(options=...)``): ``consumer_name`` (default
``<host>-<pid>-<random>``, unique per subscription), ``claim_idle`` (seconds an entry
must be idle before another consumer reclaims it), ``claim_interval`` (seconds
between reclaim passes), ``ack_flush_delay`` (seconds an ack may wait to be
coalesced), ``mover_interval`` (longest sleep of the delayed-set mover),
``prune_idle`` (seconds after which another consumer of the group with nothing
pending is forgotten; default 3600). A clean close forgets its own consumer when
nothing is pending for it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ..errors import (
    BrokerConnectionError,
    BrokerError,
    ConfigurationError,
    require,
)

require("redis", "redis")

from redis import exceptions as rexc  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from redis.asyncio.retry import Retry  # noqa: E402
from redis.backoff import ExponentialBackoff, NoBackoff  # noqa: E402

from .. import message as m  # noqa: E402
from ..cancel import cancel_and_wait  # noqa: E402
from ..message import InboundMessage  # noqa: E402
from ..retry import next_attempt_headers  # noqa: E402
from .base import SubscriptionSpec  # noqa: E402

log = logging.getLogger(__name__)

HEADER_PREFIX: Final = b"h:"
DELAYED_SUFFIX: Final = ".delayed"
_CONNECTION_ERRORS: Final = (rexc.ConnectionError, rexc.TimeoutError, OSError)
_OPTIONS: Final = frozenset(
    {
        "consumer_name",
        "claim_idle",
        "claim_interval",
        "ack_flush_delay",
        "mover_interval",
        "prune_idle",
    }
)
_ACK_BATCH: Final = 2048
_CLOSED_FLUSH_RETRIES: Final = 20

# KEYS[1]=source KEYS[2]=destination stream or delayed set.
# ARGV: group, consumer, id, mode ('stream' | 'delay'), after_ms, field, value, ...
_SETTLE: Final = """
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if not p[1] or p[1][2] ~= ARGV[2] then return 0 end
if ARGV[4] == 'delay' then
  local t = redis.call('TIME')
  -- Rounded up to the millisecond, like the delay: the mover's clock is floored.
  local due = math.floor((tonumber(t[1]) * 1000000 + tonumber(t[2]) + 999) / 1000)
    + tonumber(ARGV[5])
  local member = {ARGV[3]}
  for i = 6, #ARGV do member[#member + 1] = ARGV[i] end
  member[#member + 1] = 'h:x-svcgen-due'
  member[#member + 1] = string.format('%.3f', due / 1000)
  redis.call('ZADD', KEYS[2], due, cmsgpack.pack(member))
else
  redis.call('XADD', KEYS[2], '*', unpack(ARGV, 6))
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

# KEYS[1]=source KEYS[2]=delayed set; ARGV[1]=limit. Returns {moved, next due ms or
# false, server now ms}.
_MOVE_DUE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, ARGV[1])
for _, member in ipairs(due) do
  local f = cmsgpack.unpack(member)
  redis.call('XADD', KEYS[1], '*', unpack(f, 2))
  redis.call('ZREM', KEYS[2], member)
end
local nxt = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {#due, nxt[2] or false, tostring(now)}
"""

# KEYS[1]=source; ARGV: group, consumer, min idle ms, cursor, count.
# Returns {cursor, entries, times delivered per entry}.
_CLAIM: Final = """
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local counts = {}
for i, e in ipairs(r[2]) do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
  counts[i] = p[1] and p[1][4] or 1
end
return {r[1], r[2], counts}
"""

# This consumer's own pending entries that it does not hold (a read cut in flight):
# claim them to itself again. KEYS[1]=source; ARGV: group, consumer, count, held ids...
_RECOVER: Final = """
local held = {}
for i = 4, #ARGV do held[ARGV[i]] = true end
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1000, ARGV[2])
local ids = {}
for _, p in ipairs(pending) do
  if not held[p[1]] and #ids < tonumber(ARGV[3]) then ids[#ids + 1] = p[1] end
end
if #ids == 0 then return {{}, {}} end
local entries = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(ids))
local counts = {}
for i, e in ipairs(entries) do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
  counts[i] = p[1] and p[1][4] or 1
end
return {entries, counts}
"""

# Reset the idle time of entries still being handled, if still ours.
# KEYS[1]=source; ARGV: group, consumer, ids...
_TOUCH: Final = """
local mine = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then mine[#mine + 1] = ARGV[i] end
end
if #mine > 0 then
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(mine), 'JUSTID')
end
return #mine
"""

# Forget consumers of the group (other than this one) that have nothing pending and
# have not read for ARGV[3] ms: left by crashed or forced-off replicas. Deleting one
# loses nothing (a live consumer is re-created by its next read).
# KEYS[1]=source; ARGV: group, consumer, idle ms.
_PRUNE: Final = """
local gone = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
  if info['name'] ~= ARGV[2] and info['pending'] == 0
      and info['idle'] >= tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    gone = gone + 1
  end
end
return gone
"""

# Forget this consumer in the group when nothing is pending for it.
_FORGET: Final = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then
  return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return -1
"""


def encode_fields(
    body: bytes, key: str | None, headers: Mapping[str, str] | None
) -> list[bytes | str]:
    """The entry's field/value list: ``body``, optional ``key``, ``h:<name>`` headers."""
    fields: list[bytes | str] = ["body", body]
    if key is not None:
        fields += ["key", key]
    if headers:
        # Streams take any bytes, but redis-py encodes strictly (a lone surrogate
        # raises) and every broker should carry the same text.
        for name, value in m.safe_headers(headers).items():
            fields += ["h:" + name, value]
    return fields


def _decode(
    source: str,
    entry_id: bytes,
    items: Iterable[tuple[bytes, bytes]],
    times_delivered: int,
) -> tuple[InboundMessage, bytes | None]:
    """An InboundMessage from one stream entry, and the ``group`` field of a copy."""
    body = b""
    key: str | None = None
    group: bytes | None = None
    headers: dict[str, str] = {}
    for name, value in items:
        if name.startswith(HEADER_PREFIX):
            headers[name[2:].decode()] = value.decode("utf-8", "replace")
        elif name == b"body":
            body = value
        elif name == b"key":
            key = value.decode("utf-8", "replace")
        elif name == b"group":
            group = value
    sid = entry_id.decode()
    msg = InboundMessage(
        id=sid,
        source=source,
        body=body,
        key=key,
        headers=headers,
        delivery_count=m.attempt_from_headers(headers) + times_delivered - 1,
        timestamp=int(sid.partition("-")[0]) / 1000.0,
        position={"stream_id": sid},
        native=entry_id,
    )
    return msg, group


async def _command(client: Redis, *args: Any) -> Any:
    """One raw command (redis-py leaves ``execute_command`` untyped)."""
    return await client.execute_command(*args)  # type: ignore[no-untyped-call]


def _pairs(flat: Sequence[bytes]) -> Iterable[tuple[bytes, bytes]]:
    it = iter(flat)
    return zip(it, it, strict=False)


class RedisBroker:
    """A named connection to one Redis server, publishing to and reading streams.

    Args:
        name: the spec's broker name.
        url: ``redis://[user:password@]host:port/db`` (or ``rediss://``, ``unix://``).
        client_name: ``CLIENT SETNAME`` of every connection (default ``svcgen:<name>``).
        socket_timeout: seconds a reply may take; blocking reads stay below it.
        connect_timeout: seconds a connection attempt may take.
        retries: reconnect-and-retry attempts of a publish, ack or settle command.
    """

    kind = "redis"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        client_name: str | None = None,
        socket_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        retries: int = 2,
    ) -> None:
        if socket_timeout <= 1.0:
            raise ConfigurationError(
                f"redis broker {name!r}: socket_timeout must exceed 1 second, "
                f"got {socket_timeout}"
            )
        self.name = name
        self.url = url
        self.client_name = client_name or f"svcgen:{name}"
        self.socket_timeout = socket_timeout
        self.connect_timeout = connect_timeout
        self.retries = retries
        self._client: Redis | None = None
        self._reader: Redis | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None

    def _make(self, retries: int) -> Redis:
        retry = (
            Retry(ExponentialBackoff(cap=0.5, base=0.05), retries)
            if retries > 0
            else Retry(NoBackoff(), 0)
        )
        return Redis.from_url(
            self.url,
            client_name=self.client_name,
            socket_timeout=self.socket_timeout,
            socket_connect_timeout=self.connect_timeout,
            retry=retry,
            decode_responses=False,
            protocol=2,
        )

    async def connect(self) -> None:
        if self._client is None:
            # Commands retry after a reconnect; blocking reads never do, so a read
            # cut in flight is noticed and its entries recovered.
            self._client = self._make(self.retries)
            self._reader = self._make(0)
        try:
            await self._client.ping()
        except _CONNECTION_ERRORS as exc:
            raise BrokerConnectionError(
                f"redis broker {self.name!r} cannot reach {self.url}: {exc}; check "
                "that the server runs and the url is right"
            ) from exc

    async def close(self) -> None:
        client, reader = self._client, self._reader
        self._client = self._reader = None
        for c in (client, reader):
            if c is not None:
                await c.aclose()

    async def _clients(self) -> tuple[Redis, Redis]:
        if self._client is None or self._reader is None:
            await self.connect()
        assert self._client is not None and self._reader is not None
        return self._client, self._reader

    async def publish(
        self,
        target: str,
        body: bytes,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        client, _ = await self._clients()
        try:
            await _command(
                client, "XADD", target, "*", *encode_fields(body, key, headers)
            )
        except _CONNECTION_ERRORS as exc:
            raise BrokerConnectionError(
                f"redis broker {self.name!r} lost its connection publishing to "
                f"{target!r}: {exc}"
            ) from exc
        except rexc.ResponseError as exc:
            raise BrokerError(
                f"redis broker {self.name!r} cannot publish to {target!r}: {exc}; "
                "the key must be a stream"
            ) from exc

    async def subscribe(self, spec: SubscriptionSpec) -> RedisSubscription:
        unknown = sorted(set(spec.options) - _OPTIONS)
        if unknown:
            raise ConfigurationError(
                f"consumer {spec.consumer!r}: unknown redis option(s) "
                f"{', '.join(unknown)}; use {', '.join(sorted(_OPTIONS))}"
            )
        client, reader = await self._clients()
        delayed = spec.source + DELAYED_SUFFIX
        try:
            try:
                await client.xgroup_create(spec.source, spec.group, "0", mkstream=True)
            except rexc.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise BrokerError(
                        f"consumer {spec.consumer!r}: cannot create group "
                        f"{spec.group!r} on {spec.source!r}: {exc}; the key must be "
                        "a stream"
                    ) from exc
            await self._expect_type(client, delayed, b"zset")
            if spec.dead_letter is not None:
                await self._expect_type(client, spec.dead_letter, b"stream")
        except _CONNECTION_ERRORS as exc:
            raise BrokerConnectionError(
                f"redis broker {self.name!r} lost its connection subscribing to "
                f"{spec.source!r}: {exc}"
            ) from exc
        sub = RedisSubscription(self, spec, client, reader)
        sub.start()
        return sub

    async def _expect_type(self, client: Redis, key: str, kind: bytes) -> None:
        found = await client.type(key)
        if isinstance(found, str):
            found = found.encode()
        if found not in (b"none", kind):
            raise ConfigurationError(
                f"redis key {key!r} is a {found.decode()}, not a {kind.decode()}; "
                "delete it or choose another name"
            )


def _float_option(spec: SubscriptionSpec, name: str, default: float) -> float:
    value = spec.options.get(name, default)
    if not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(
            f"consumer {spec.consumer!r}: option {name} must be a non-negative "
            f"number of seconds, got {value!r}"
        )
    return float(value)


class RedisSubscription:
    """One consumer's reading of one stream through one consumer group."""

    heartbeat_interval: float | None = None
    """Idle times are reset by the housekeeping task, not per message."""

    def __init__(
        self,
        broker: RedisBroker,
        spec: SubscriptionSpec,
        client: Redis,
        reader: Redis,
    ) -> None:
        self._broker = broker
        self._spec = spec
        self._client = client
        self._reader = reader
        self._source = spec.source
        self._group = spec.group
        self._group_b = spec.group.encode()
        self._delayed = spec.source + DELAYED_SUFFIX
        name = spec.options.get("consumer_name")
        self.consumer_name: str = (
            str(name)
            if name
            else f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        )
        self._claim_idle = _float_option(spec, "claim_idle", spec.ack_wait)
        self._claim_interval = _float_option(
            spec, "claim_interval", max(0.05, min(self._claim_idle / 2, 5.0))
        )
        self._ack_delay = _float_option(spec, "ack_flush_delay", 0.005)
        self._mover_interval = max(0.01, _float_option(spec, "mover_interval", 0.5))
        self._touch_after = max(self._claim_idle / 3, 0.05)
        self._prune_idle = _float_option(spec, "prune_idle", 3600.0)
        self._prune_at = 0.0
        block_cap = broker.socket_timeout - 1.0
        self._block_cap_ms = int(block_cap * 1000)
        self._held: dict[bytes, float] = {}
        self._acks: list[bytes] = []
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._flush_failures = 0
        self._claim_at = 0.0
        self._cursor: bytes | str = "0-0"
        self._recover = False
        self._closed = False
        self._wake = asyncio.Event()
        self._housekeeper: asyncio.Task[None] | None = None
        self._settle_script = client.register_script(_SETTLE)
        self._move_script = client.register_script(_MOVE_DUE)
        self._claim_script = reader.register_script(_CLAIM)
        self._recover_script = reader.register_script(_RECOVER)
        self._touch_script = client.register_script(_TOUCH)
        self._forget_script = client.register_script(_FORGET)
        self._prune_script = client.register_script(_PRUNE)

    def start(self) -> None:
        self._housekeeper = asyncio.create_task(
            self._housekeep(), name=f"redis-{self._source}-housekeeping"
        )

    # -- fetching --------------------------------------------------------------

    async def fetch(
        self, max_messages: int, timeout: float
    ) -> Sequence[InboundMessage]:
        if self._closed or not self._broker.connected:
            raise BrokerConnectionError(
                f"redis subscription of {self._source!r} is closed; subscribe again"
            )
        n = max(1, min(max_messages, self._spec.concurrency))
        # A cut connection: the pool reconnects on the next command, so a second
        # attempt tells a cut from a server that is down.
        for attempt in (1, 2):
            try:
                return await self._fetch(n, timeout)
            except _CONNECTION_ERRORS as exc:
                self._recover = True
                if attempt == 2:
                    raise BrokerConnectionError(
                        f"redis broker {self._broker.name!r} lost its connection "
                        f"reading {self._source!r}: {exc}"
                    ) from exc
                log.info(
                    "redis %s/%s: read cut (%s); reconnecting",
                    self._source,
                    self._group,
                    exc,
                )
            except rexc.ResponseError as exc:
                if "NOGROUP" in str(exc) or "UNBLOCKED" in str(exc):
                    raise BrokerConnectionError(
                        f"group {self._group!r} of {self._source!r} is gone (the "
                        "stream was deleted or the server restarted empty); it is "
                        "created again on the next subscribe"
                    ) from exc
                raise BrokerError(f"reading {self._source!r} failed: {exc}") from exc
        raise AssertionError("unreachable")

    async def _fetch(self, n: int, timeout: float) -> list[InboundMessage]:
        out: list[InboundMessage] = []
        try:
            if self._recover:
                out += await self._recover_own(n)
            if len(out) < n and time.monotonic() >= self._claim_at:
                out += await self._claim(n - len(out))
            if len(out) < n:
                out += await self._read_new(n - len(out), 0.0 if out else timeout)
        except Exception:
            if not out:
                raise
            self._recover = True  # what was taken is handed out; the rest later
        except BaseException:
            # Cancelled: what was taken stays pending here, for the next recovery
            # pass or for another consumer's claim.
            self._recover = True
            self._forget_held(msg.native for msg in out)
            raise
        return out

    async def _read_new(self, n: int, timeout: float) -> list[InboundMessage]:
        args: list[Any] = ["XREADGROUP", "GROUP", self._group, self.consumer_name]
        args += ["COUNT", n]
        if timeout > 0:
            args += ["BLOCK", max(1, min(int(timeout * 1000), self._block_cap_ms))]
        args += ["STREAMS", self._source, ">"]
        acks = self._take_acks()
        try:
            if acks:
                async with self._reader.pipeline(transaction=False) as pipe:
                    pipe.execute_command("XACK", self._source, self._group, *acks)
                    pipe.execute_command(*args)
                    _, reply = await pipe.execute()
            else:
                reply = await _command(self._reader, *args)
        except BaseException:
            # Entries may have been delivered to this consumer and lost with the
            # reply (a cut or a cancel): the next fetch claims them back.
            self._recover = True
            self._acks[:0] = acks
            raise
        self._forget_held(acks)
        if not reply:
            return []
        now = time.monotonic()
        out: list[InboundMessage] = []
        for entry_id, fields in reply[0][1]:
            msg, group = _decode(self._source, entry_id, fields.items(), 1)
            if group is not None and group != self._group_b:
                self._ack_id(entry_id)  # a copy re-added for another group
                continue
            self._held[entry_id] = now
            out.append(msg)
        return out

    async def _claim(self, n: int) -> list[InboundMessage]:
        """Take entries other consumers left pending longer than ``claim_idle``."""
        try:
            cursor, entries, counts = await self._claim_script(
                keys=[self._source],
                args=[
                    self._group,
                    self.consumer_name,
                    int(self._claim_idle * 1000),
                    self._cursor,
                    n,
                ],
                client=self._reader,
            )
        except BaseException:
            self._recover = True
            raise
        self._cursor = cursor
        more = cursor not in (b"0-0", "0-0")
        self._claim_at = time.monotonic() + (0.0 if more else self._claim_interval)
        out = self._adopt(entries, counts)
        if out:
            log.info(
                "redis %s/%s: consumer %s reclaimed %d idle entr%s",
                self._source,
                self._group,
                self.consumer_name,
                len(out),
                "y" if len(out) == 1 else "ies",
            )
        return out

    async def _recover_own(self, n: int) -> list[InboundMessage]:
        """Hand out this consumer's pending entries that a cut read never returned."""
        entries, counts = await self._recover_script(
            keys=[self._source],
            args=[self._group, self.consumer_name, n, *self._held],
            client=self._reader,
        )
        self._recover = False
        return self._adopt(entries, counts)

    def _adopt(
        self, entries: Sequence[Any], counts: Sequence[Any]
    ) -> list[InboundMessage]:
        now = time.monotonic()
        out: list[InboundMessage] = []
        for (entry_id, flat), times in zip(entries, counts, strict=True):
            if entry_id in self._held:
                continue  # still being handled here
            msg, group = _decode(self._source, entry_id, _pairs(flat), int(times))
            if group is not None and group != self._group_b:
                self._ack_id(entry_id)
                continue
            self._held[entry_id] = now
            out.append(msg)
        return out

    # -- acknowledgements ------------------------------------------------------

    def _ack_id(self, entry_id: bytes) -> None:
        self._acks.append(entry_id)
        if len(self._acks) >= _ACK_BATCH:
            self._flush_soon()
        elif self._flush_timer is None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(self._ack_delay, self._flush_soon)

    def _take_acks(self) -> list[bytes]:
        acks, self._acks = self._acks, []
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        return acks

    def _forget_held(self, ids: Iterable[bytes]) -> None:
        held = self._held
        for entry_id in ids:
            held.pop(entry_id, None)

    def _flush_soon(self) -> None:
        self._flush_timer = None
        task = asyncio.get_running_loop().create_task(self._flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        acks = self._take_acks()
        if not acks:
            return
        if not self._broker.connected:
            # The broker was closed: its connections must stay closed. The entries
            # stay pending and are reclaimed after claim_idle.
            log.warning(
                "redis %s/%s: %d ack(s) after the broker closed were dropped; the "
                "entries will be delivered again",
                self._source,
                self._group,
                len(acks),
            )
            return
        try:
            await _command(self._client, "XACK", self._source, self._group, *acks)
        except Exception as exc:
            # Not acknowledged yet: still pending, so kept for the next flush (XACK
            # is idempotent); a crash meanwhile makes the entries be reclaimed.
            self._acks[:0] = acks
            log.warning(
                "redis %s/%s: acknowledging %d entr%s failed (%s); retrying with "
                "the next flush",
                self._source,
                self._group,
                len(acks),
                "y" if len(acks) == 1 else "ies",
                exc,
            )
            self._flush_failures += 1
            # A closed subscription keeps trying a while (its broker may be back).
            retry = not self._closed or self._flush_failures <= _CLOSED_FLUSH_RETRIES
            if retry and self._flush_timer is None:
                loop = asyncio.get_running_loop()
                self._flush_timer = loop.call_later(0.5, self._flush_soon)
            return
        self._flush_failures = 0
        self._forget_held(acks)

    async def ack(self, msg: InboundMessage) -> None:
        self._ack_id(msg.native)

    # -- settling by republishing ----------------------------------------------

    async def _settle(
        self,
        msg: InboundMessage,
        destination: str,
        fields: list[bytes | str],
        *,
        after_ms: int = 0,
    ) -> None:
        entry_id: bytes = msg.native
        mode = "delay" if after_ms > 0 else "stream"
        # Whatever happens the entry is no longer held here: if the script did not
        # run it stays pending, un-touched, and is reclaimed after claim_idle.
        self._held.pop(entry_id, None)
        try:
            done = await self._settle_script(
                keys=[self._source, destination],
                args=[
                    self._group,
                    self.consumer_name,
                    entry_id,
                    mode,
                    after_ms,
                    *fields,
                ],
                client=self._client,
            )
        except _CONNECTION_ERRORS as exc:
            raise BrokerConnectionError(
                f"redis broker {self._broker.name!r} lost its connection settling "
                f"{msg.id} of {self._source!r}: {exc}"
            ) from exc
        if not done:
            log.info(
                "redis %s/%s: entry %s is no longer pending for %s (reclaimed or "
                "settled already); left to its holder",
                self._source,
                self._group,
                msg.id,
                self.consumer_name,
            )

    def _copy_fields(self, msg: InboundMessage) -> list[bytes | str]:
        headers = next_attempt_headers(msg.headers, msg.delivery_count)
        headers.pop(m.DUE_HEADER, None)  # a delayed copy gets a new one in Lua
        return [*encode_fields(msg.body, msg.key, headers), "group", self._group]

    async def requeue(self, msg: InboundMessage) -> None:
        await self._settle(msg, self._source, self._copy_fields(msg))

    async def retry(self, msg: InboundMessage, after: float) -> None:
        after_ms = math.ceil(after * 1000)  # never early: round the delay up
        if after_ms <= 0:
            await self.requeue(msg)
            return
        await self._settle(
            msg, self._delayed, self._copy_fields(msg), after_ms=after_ms
        )
        self._wake.set()

    async def dead_letter(
        self, msg: InboundMessage, headers: Mapping[str, str]
    ) -> None:
        target = self._spec.dead_letter
        if target is None:
            raise ConfigurationError(
                f"consumer {self._spec.consumer!r} has no dead-letter destination; "
                "ack the message instead"
            )
        await self._settle(msg, target, encode_fields(msg.body, msg.key, headers))

    async def release(self, msg: InboundMessage, *, stopping: bool = True) -> None:
        # Stays pending for this consumer: claimed by a live one after claim_idle.
        self._held.pop(msg.native, None)

    async def in_progress(self, msg: InboundMessage) -> None:
        self._held[msg.native] = time.monotonic()
        await self._touch([msg.native])

    # -- housekeeping ----------------------------------------------------------

    async def _housekeep(self) -> None:
        """Move due retries back to the stream and keep handled entries un-idle."""
        # A closed broker's connections stay closed; a closed subscription stops even
        # if a cancellation was lost inside redis-py (see cancel_and_wait).
        while self._broker.connected and not self._closed:
            wait = self._mover_interval
            try:
                moved, next_due, now = await self._move_script(
                    keys=[self._source, self._delayed],
                    args=[256],
                    client=self._client,
                )
                if moved:
                    wait = 0.0
                elif next_due:
                    wait = min(wait, max(0.0, (float(next_due) - float(now)) / 1000))
                stale = time.monotonic() - self._touch_after
                old = [i for i, t in self._held.items() if t <= stale]
                if old:
                    await self._touch(old)
                if time.monotonic() >= self._prune_at:
                    await self._prune()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "redis %s: housekeeping failed (%s: %s); trying again",
                    self._source,
                    type(exc).__name__,
                    exc,
                )
            wait = min(wait, self._touch_after)
            self._wake.clear()
            if wait > 0:
                try:
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    async def _prune(self) -> None:
        self._prune_at = time.monotonic() + max(self._prune_idle / 2, 0.05)
        gone = await self._prune_script(
            keys=[self._source],
            args=[self._group, self.consumer_name, int(self._prune_idle * 1000)],
            client=self._client,
        )
        if gone:
            log.info(
                "redis %s/%s: forgot %s idle consumer(s) with nothing pending",
                self._source,
                self._group,
                gone,
            )

    async def _touch(self, ids: list[bytes]) -> None:
        await self._touch_script(
            keys=[self._source],
            args=[self._group, self.consumer_name, *ids],
            client=self._client,
        )
        now = time.monotonic()
        for entry_id in ids:
            if entry_id in self._held:
                self._held[entry_id] = now

    # -- closing ---------------------------------------------------------------

    async def lag(self) -> int | None:
        """Entries of the stream not yet delivered to the group (XINFO GROUPS'
        ``lag``, Redis 7), plus retries waiting for their due time."""
        groups = await self._client.xinfo_groups(self._source)
        for group in groups:
            name = group.get("name")
            if name in (self._group, self._group_b):
                waiting = group.get("lag")
                if waiting is None:
                    return None  # Redis could not tell (before 7, or a trimmed stream)
                delayed = await self._client.zcard(self._delayed)
                return int(waiting) + int(delayed)
        return None

    async def close(self) -> None:
        """Flush acks; unsettled entries stay pending and are reclaimed after idle."""
        self._closed = True
        if self._housekeeper is not None:
            await cancel_and_wait([self._housekeeper], what="redis housekeeping task")
        await self._flush()
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)
        try:
            await self._forget_script(
                keys=[self._source],
                args=[self._group, self.consumer_name],
                client=self._client,
            )
        except Exception as exc:
            log.debug("redis %s: forgetting consumer failed: %s", self._source, exc)
