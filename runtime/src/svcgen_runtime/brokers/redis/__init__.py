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
between reclaim passes; default ``claim_idle / 2``, at most 1), ``ack_flush_delay`` (seconds an ack may wait to be
coalesced), ``mover_interval`` (longest sleep of the delayed-set mover),
``prune_idle`` (seconds after which another consumer of the group with nothing
pending is forgotten; default 3600), ``maxlen`` (``XTRIM <source> MAXLEN ~ n`` about
once a second; default the broker's ``maxlen``, which also caps its publishes with
``XADD MAXLEN ~ n``; None: no trimming). A clean close forgets its own consumer when
nothing is pending for it.

Modules: ``entries`` (the entry layout), ``scripts`` (the ``.lua`` files beside it),
``client`` (connections, publish), ``state`` (subscription state, coalesced XACKs),
``consume`` (read, reclaim, recover), ``settle`` (requeue, retry, dead letter, the
delayed-set mover and other housekeeping), ``broker`` (``RedisBroker``,
``RedisSubscription``).
"""

from __future__ import annotations

from ...errors import require

require("redis", "redis")

from .broker import RedisBroker, RedisSubscription  # noqa: E402
from .entries import DELAYED_SUFFIX, HEADER_PREFIX, encode_fields  # noqa: E402
from .state import OPTIONS  # noqa: E402

__all__ = [
    "DELAYED_SUFFIX",
    "HEADER_PREFIX",
    "OPTIONS",
    "RedisBroker",
    "RedisSubscription",
    "encode_fields",
]
