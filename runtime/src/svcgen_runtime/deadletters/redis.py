"""A Redis consumer's dead letters: the stream ``place.dead_letter``.

A stream can be read without taking anything, so ``list`` is ``XRANGE`` (oldest
first) and a dead letter's id is its entry id.

``replay`` moves one entry at a time with one Lua script: ``XADD`` to the source a
copy with ``replay_headers``, then ``XDEL`` the dead letter, atomically (a script runs
whole or not at all, and its ``XADD`` reply is Redis's confirmation). An interrupted
replay (even SIGKILL) therefore neither loses nor duplicates a message: each entry is
either still in the dead-letter stream or already in the source, never both. The
copy carries the adapter's ``group`` field set to the consumer's group, as a
requeued copy does: other consumer groups of the same stream (other services) ack it
unseen, so a replay reaches the consumer whose dead letters these are and no other.

A replay or purge of everything stops at the entry that was last when it began, so
dead letters that arrive meanwhile (perhaps the replayed ones failing again) are
left for the next run rather than looped over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection
from typing import Any, Final

from ..errors import BrokerConnectionError, BrokerError, redacted, require

require("redis", "redis")  # before redis: a missing extra, named

from redis import exceptions as rexc  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from ..brokers.redis import RedisBroker, encode_fields  # noqa: E402
from ..brokers.redis.entries import CONNECTION_ERRORS, command, decode_entry  # noqa: E402
from . import DeadLetter, DeadLetterPlace, Pace, replay_headers  # noqa: E402
from .shared import not_found  # noqa: E402

REPLAY: Final = """
-- KEYS[1]=dead-letter stream KEYS[2]=target stream; ARGV: entry id, field, value, ...
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
"""
"""Move one dead letter to the source: both writes or neither."""

Letters = list[DeadLetter]
Ids = list[str]
"""(Aliases: inside the class, ``list`` is the method.)"""

PAGE: Final = 500
"""Entries read per XRANGE."""


class RedisDeadLetters:
    """``DeadLetterQueue`` on one Redis dead-letter stream (see the module)."""

    def __init__(self, broker: RedisBroker, client: Redis, place: DeadLetterPlace):
        self._broker = broker
        self._client = client
        self._place = place
        self._replay = client.register_script(REPLAY)

    async def list(self, limit: int | None = None) -> Letters:
        out: Letters = []
        async for letter in self._entries(limit=limit):
            out.append(letter)
        return out

    async def replay(
        self,
        ids: Collection[str] | None,
        *,
        rate: float | None = None,
        sent: Callable[[DeadLetter], None] | None = None,
    ) -> int:
        pace = Pace(rate)
        count = 0
        letters = (
            self._entries(until=await self._last())
            if ids is None
            else self._chosen(await self._check(ids))
        )
        async for letter in letters:
            await pace.wait()
            fields = encode_fields(
                letter.body, letter.key, replay_headers(letter, group=self._place.group)
            )
            fields += ["group", self._place.group]
            moved = await self._call(
                self._replay(
                    keys=[self._place.dead_letter, letter.target(self._place)],
                    args=[letter.id, *fields],
                )
            )
            if moved:  # else someone else replayed or purged it meanwhile
                count += 1
                if sent is not None:
                    sent(letter)
        return count

    async def purge(self, ids: Collection[str] | None) -> int:
        if ids is not None:
            chosen = await self._check(ids)
            return int(await self._command("XDEL", self._place.dead_letter, *chosen))
        count = 0
        batch: Ids = []
        async for letter in self._entries(until=await self._last()):
            batch.append(letter.id)
            if len(batch) >= PAGE:
                count += int(
                    await self._command("XDEL", self._place.dead_letter, *batch)
                )
                batch = []
        if batch:
            count += int(await self._command("XDEL", self._place.dead_letter, *batch))
        return count

    async def close(self) -> None:
        await self._broker.close()

    # -- reading ----------------------------------------------------------------------

    async def _entries(
        self, *, limit: int | None = None, until: str | None = None
    ) -> AsyncIterator[DeadLetter]:
        """The dead letters from the oldest (at most ``limit``, up to ``until``)."""
        start = "-"
        end = until or "+"
        seen = 0
        while True:
            page = PAGE if limit is None else min(PAGE, limit - seen)
            if page <= 0:
                return
            rows = await self._command(
                "XRANGE", self._place.dead_letter, start, end, "COUNT", page
            )
            if not rows:
                return
            for entry_id, flat in rows:
                yield self._letter(entry_id, flat)
                seen += 1
            start = "(" + rows[-1][0].decode()

    async def _last(self) -> str:
        """The newest entry's id now ("0-0" when there is none)."""
        rows = await self._command(
            "XREVRANGE", self._place.dead_letter, "+", "-", "COUNT", 1
        )
        return rows[0][0].decode() if rows else "0-0"

    async def _check(self, ids: Collection[str]) -> Ids:
        """``ids`` if every one is an entry of the stream; else DeadLetterNotFound."""
        missing = []
        for ident in ids:
            try:
                rows = await self._command(
                    "XRANGE", self._place.dead_letter, ident, ident
                )
            except BrokerError:
                rows = []  # not an entry id at all
            if not rows:
                missing.append(ident)
        if missing:
            raise not_found(missing, self._place.dead_letter)
        return list(dict.fromkeys(ids))

    async def _chosen(self, ids: Ids) -> AsyncIterator[DeadLetter]:
        for ident in ids:
            rows = await self._command("XRANGE", self._place.dead_letter, ident, ident)
            if rows:
                yield self._letter(rows[0][0], rows[0][1])

    def _letter(self, entry_id: bytes, flat: Any) -> DeadLetter:
        items = (
            flat.items()
            if isinstance(flat, dict)
            else zip(flat[::2], flat[1::2], strict=True)
        )
        msg, _ = decode_entry(self._place.dead_letter, entry_id, items, 1)
        return DeadLetter(id=msg.id, body=msg.body, headers=msg.headers, key=msg.key)

    async def _command(self, *args: Any) -> Any:
        return await self._call(command(self._client, *args))

    async def _call(self, pending: Any) -> Any:
        try:
            return await pending
        except CONNECTION_ERRORS as exc:
            raise BrokerConnectionError(
                f"redis broker at {redacted(self._broker.url)} lost its connection "
                f"({type(exc).__name__}); nothing half-done: run the command again"
            ) from exc
        except rexc.ResponseError as exc:
            raise BrokerError(
                f"redis refused a command on {self._place.dead_letter!r} ({exc}): "
                "the dead-letter destination and the source must be streams"
            ) from exc


async def open_queue(url: str, place: DeadLetterPlace) -> RedisDeadLetters:
    """Connect to the Redis server at ``url`` and open ``place``'s dead letters."""
    broker = RedisBroker("dlq", url, client_name=f"svcgen-dlq:{place.consumer}")
    try:
        await broker.connect()
    except BrokerConnectionError as exc:
        await broker.close()
        raise BrokerConnectionError(
            f"cannot reach the redis server at {redacted(url)} "
            f"({type(exc.__cause__).__name__}): check the url and that it runs"
        ) from exc
    client, _ = await broker._clients()
    return RedisDeadLetters(broker, client, place)
