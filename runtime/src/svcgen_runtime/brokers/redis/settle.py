"""Settling by republishing (requeue, retry schedule, dead letter: one Lua script
copies the entry, then XACKs it) and the per-subscription housekeeping: moving due
retries from the delayed set back to the stream, keeping handled entries un-idle,
pruning consumers that left."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping

from ... import message as m
from ...errors import BrokerConnectionError, ConfigurationError
from ...message import InboundMessage
from ...retry import next_attempt_headers
from .entries import CONNECTION_ERRORS, encode_fields, log
from .state import TRIM_INTERVAL, SubscriptionState


class Settler(SubscriptionState):
    """The settling and housekeeping half of ``RedisSubscription``."""

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
        except CONNECTION_ERRORS as exc:
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
                if self._maxlen is not None and time.monotonic() >= self._trim_at:
                    self._trim_at = time.monotonic() + TRIM_INTERVAL
                    await self._client.xtrim(
                        self._source, maxlen=self._maxlen, approximate=True
                    )
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
