"""Stream consume and claim: reading new entries through the consumer group (with
the pending XACKs in the same round trip), reclaiming entries other consumers left
idle (XAUTOCLAIM), and recovering this consumer's own entries a cut read lost."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from redis import exceptions as rexc

from ...errors import BrokerConnectionError, BrokerError
from ...message import InboundMessage
from .entries import CONNECTION_ERRORS, command, decode_entry, log, pairs
from .state import SubscriptionState


class StreamConsumer(SubscriptionState):
    """The fetching half of ``RedisSubscription``."""

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
            except CONNECTION_ERRORS as exc:
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
                reply = await command(self._reader, *args)
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
            msg, group = decode_entry(self._source, entry_id, fields.items(), 1)
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
            msg, group = decode_entry(self._source, entry_id, pairs(flat), int(times))
            if group is not None and group != self._group_b:
                self._ack_id(entry_id)
                continue
            self._held[entry_id] = now
            out.append(msg)
        return out
