"""Settlement: one settle per delivery (ack, requeue, retry, defer, dead letter), the
release of a delivery that is not to be settled, and the backoff after a settle failed.

A dead-letter destination that refuses, or a retry republish that keeps failing,
would otherwise spin: the broker redelivers the same message at once and it fails
again. So a delivery whose settle failed is released, the next fetch waits
(``Settler.backoff``), the consumer reports not ready after
SETTLE_FAILURES_NOT_READY rounds in a row, and the log says so once per
SETTLE_LOG_INTERVAL. The loop inlines the ack of an ``ACK_DECISION`` (the hot path)
and calls ``failed`` when it raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Final

from ..brokers.base import Subscription
from ..message import DEFERRED_HEADER, InboundMessage, deferrals
from ..retry import Action, Decision, RetryPolicy, dead_letter_headers
from .due import attempts
from .stats import ConsumerStats

log = logging.getLogger(__package__)

SETTLE_BACKOFF: Final = RetryPolicy(initial=0.2, max=10.0, jitter=False)
"""After a delivery could not be settled: the pause before the next fetch (seconds),
doubling with each fetch round in a row that had a failure, and its cap."""
SETTLE_FAILURES_NOT_READY: Final = 5
"""Fetch rounds in a row with a settle failure after which the consumer reports
not ready."""
SETTLE_LOG_INTERVAL: Final = 10.0
"""Seconds between two log lines about settle failures (the rest are counted)."""


class DefaultDeadLetter:
    """The type of ``DEFAULT_DEAD_LETTER``: ``<source>.dlq``."""

    def __repr__(self) -> str:
        return "<source>.dlq"


DEFAULT_DEAD_LETTER: Final = DefaultDeadLetter()


class Settler:
    """Settles the deliveries of one consumer and keeps its settle-failure state.

    Args:
        name: the consumer's name, for logs and dead-letter headers.
        dead_letter: the dead-letter destination; None drops dead letters.
        stats: the consumer's counters.
        stop_requested: set when intake stops; it ends a backoff pause.
        now: the clock failures are timed on (the event loop's).
    """

    __slots__ = (
        "_dead_letter_to",
        "_failed_at",
        "_logged_at",
        "_name",
        "_now",
        "_stats",
        "_stop_requested",
        "_unlogged",
        "round_failed",
        "settling",
        "streak",
    )

    def __init__(
        self,
        *,
        name: str,
        dead_letter: str | None,
        stats: ConsumerStats,
        stop_requested: asyncio.Event,
        now: Callable[[], float],
    ) -> None:
        self._name = name
        self._dead_letter_to = dead_letter
        self._stats = stats
        self._stop_requested = stop_requested
        self._now = now
        self.settling = 0
        """Settles in progress (a forced shutdown lets them finish)."""
        self.streak = 0
        """Fetch rounds with a settle failure since the last settle that worked."""
        self.round_failed = False
        """True once a settle failed since the last fetch: the failures of one batch
        (say every ack of 64 in-flight messages on a connection just cut) are one
        round of the backoff, not 64 doublings of it."""
        self._failed_at = 0.0
        self._logged_at = -math.inf
        self._unlogged = 0  # failures not logged yet (one line per SETTLE_LOG_INTERVAL)

    @property
    def healthy(self) -> bool:
        """False after SETTLE_FAILURES_NOT_READY failing rounds in a row."""
        return self.streak < SETTLE_FAILURES_NOT_READY

    async def settle(
        self, sub: Subscription, msg: InboundMessage, decision: Decision
    ) -> None:
        stats = self._stats
        action = decision.action
        try:
            if action is Action.ACK:
                await sub.ack(msg)
                stats.acked += 1
            elif action is Action.RETRY:
                await sub.retry(msg, decision.after)
                stats.retried += 1
            elif action is Action.DEFER:
                headers = dict(msg.headers)
                headers[DEFERRED_HEADER] = str(deferrals(headers) + 1)
                await sub.retry(replace(msg, headers=headers), decision.after)
                stats.deferred += 1
            elif action is Action.REQUEUE:
                await sub.requeue(msg)
                stats.requeued += 1
            else:
                await self._dead_letter(sub, msg, decision)
            self.streak = 0
        except Exception as exc:
            await self.failed(sub, msg, decision, exc)

    async def failed(
        self,
        sub: Subscription,
        msg: InboundMessage,
        decision: Decision,
        exc: Exception,
    ) -> None:
        """Give the delivery back unacknowledged and slow this consumer down."""
        self._stats.settle_failures += 1
        if not self.round_failed:
            self.round_failed = True
            self.streak += 1
        now = self._now()
        self._failed_at = now
        try:
            await sub.release(msg, stopping=False)
        except Exception as release_exc:  # lost with its connection: redelivered
            log.debug(
                "consumer %s: releasing message %s after a failed %s failed too (%s)",
                self._name,
                msg.id,
                decision.action.value,
                release_exc,
            )
        if now - self._logged_at < SETTLE_LOG_INTERVAL:
            self._unlogged += 1
            return
        log.warning(
            "consumer %s: %s of message %s failed (%s: %s); released for redelivery, "
            "%d failure(s) in a row, %d more since the last report",
            self._name,
            decision.action.value,
            msg.id,
            type(exc).__name__,
            exc,
            self.streak,
            self._unlogged,
        )
        self._logged_at = now
        self._unlogged = 0

    async def backoff(self) -> None:
        """Before the next fetch after a settle failure: wait 0.2 s, doubling with
        each fetch round in a row that had a failure, up to 10 s (SETTLE_BACKOFF),
        so that a message the broker redelivers at once is not tried again at once."""
        pause = SETTLE_BACKOFF.delay(self.streak)
        wait = self._failed_at + pause - self._now()
        stop_requested = self._stop_requested
        if wait > 0 and not stop_requested.is_set():
            with contextlib.suppress(TimeoutError):  # a drain ends the pause
                async with asyncio.timeout(wait):
                    await stop_requested.wait()

    async def _dead_letter(
        self, sub: Subscription, msg: InboundMessage, decision: Decision
    ) -> None:
        if self._dead_letter_to is None:
            log.error(
                "consumer %s: dropping message %s after %d attempt(s) (%s): no "
                "dead-letter destination",
                self._name,
                msg.id,
                msg.delivery_count,
                decision.reason,
            )
            await sub.ack(msg)
        else:
            headers = dead_letter_headers(
                msg,
                consumer=self._name,
                reason=decision.reason,
                error=decision.error,
                now=time.time(),
                attempts=attempts(msg),
            )
            await sub.dead_letter(msg, headers)
        self._stats.dead_lettered += 1

    async def release(self, sub: Subscription, msg: InboundMessage) -> None:
        """Give back a delivery that is not to be settled (a forced shutdown)."""
        self._stats.released += 1
        try:
            await sub.release(msg)
        except Exception as exc:
            log.warning(
                "consumer %s: releasing message %s failed (%s); the broker will "
                "redeliver it",
                self._name,
                msg.id,
                exc,
            )
