"""The handler-deadline watchdog: one task per consumer that cancels handlers past
their timeout and sends in-progress heartbeats for long ones.

Per message the loop only adds an entry to ``handling`` (a dict shared with it) and
removes it when the handler returns: far cheaper than an ``asyncio.timeout`` (a timer
handle on the loop's heap) per message. A handler the watchdog cancelled is in
``timed_out`` until the loop turns it into a timeout decision (``expired``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable

from ..brokers.base import Subscription
from ..message import InboundMessage
from ..retry import Decision, RetryPolicy, decide
from .stats import ConsumerStats

log = logging.getLogger(__package__)


class InFlight:
    """A handler in progress: its deadline and when its broker last heard of it."""

    __slots__ = ("deadline", "last_beat", "msg", "sub")

    def __init__(
        self, now: float, timeout: float | None, sub: Subscription, msg: InboundMessage
    ) -> None:
        self.deadline = math.inf if timeout is None else now + timeout
        self.last_beat = now
        self.sub = sub
        self.msg = msg


class Watchdog:
    """Watches the handlers of one consumer.

    Args:
        name: the consumer's name, for logs.
        timeout: the per-message handler budget in seconds, or None.
        retry: the policy a timed-out attempt is decided by.
        stats: the consumer's counters (``timeouts``).
        heartbeat: the current subscription's ``heartbeat_interval`` (None when it
            wants no heartbeats or there is no subscription).
        now: the clock deadlines are on (the event loop's).
    """

    __slots__ = (
        "_beats",
        "_heartbeat",
        "_name",
        "_now",
        "_retry",
        "_stats",
        "_task",
        "handling",
        "timed_out",
        "timeout",
    )

    def __init__(
        self,
        *,
        name: str,
        timeout: float | None,
        retry: RetryPolicy,
        stats: ConsumerStats,
        heartbeat: Callable[[], float | None],
        now: Callable[[], float],
    ) -> None:
        self._name = name
        self.timeout = timeout
        self._retry = retry
        self._stats = stats
        self._heartbeat = heartbeat
        self._now = now
        self.handling: dict[asyncio.Task[None], InFlight] = {}
        """Workers inside a handler, with their deadlines (loop time)."""
        self.timed_out: set[asyncio.Task[None]] = set()
        """Workers cancelled at their deadline, not yet decided."""
        self._beats: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name=f"{self._name}-watchdog")

    def tasks(self) -> list[asyncio.Task[None]]:
        """The watchdog's task and the heartbeats in flight, for close to cancel."""
        watching = [self._task] if self._task is not None else []
        return [*watching, *self._beats]

    def cancel_handlers(self) -> None:
        """Cancel every handler running now (a forced shutdown)."""
        for task in list(self.handling):
            task.cancel()

    def expired(
        self, task: asyncio.Task[None], msg: InboundMessage, attempt: int
    ) -> Decision:
        """The decision for a handler cancelled at its deadline; ``task`` goes on."""
        self.timed_out.discard(task)
        task.uncancel()
        self._stats.timeouts += 1
        log.warning(
            "consumer %s: handler timed out after %ss on message %s",
            self._name,
            self.timeout,
            msg.id,
        )
        return decide(
            self._retry,
            attempt,
            error=TimeoutError(f"handler timed out after {self.timeout}s"),
        )

    async def _watch(self) -> None:
        """Cancel handlers past their deadline; send in-progress beats for long ones.

        It ticks at 1/20 of the timeout (2 ms to 0.5 s), faster when the broker wants
        heartbeats.
        """
        interval = (
            0.5 if self.timeout is None else min(max(self.timeout / 20, 0.002), 0.5)
        )
        while True:
            beat = self._heartbeat()
            tick = interval if beat is None else min(interval, max(beat / 4, 0.002))
            await asyncio.sleep(tick)
            now = self._now()
            for task, flight in list(self.handling.items()):
                if flight.deadline <= now:
                    if task not in self.timed_out:
                        self.timed_out.add(task)
                        task.cancel()
                    continue
                interval_beat = flight.sub.heartbeat_interval
                if (
                    interval_beat is not None
                    and now - flight.last_beat >= interval_beat
                ):
                    flight.last_beat = now
                    self._beats.add(asyncio.create_task(self._beat(flight)))

    async def _beat(self, flight: InFlight) -> None:
        try:
            await flight.sub.in_progress(flight.msg)
        except Exception:
            log.debug(
                "consumer %s: in-progress heartbeat failed", self._name, exc_info=True
            )
        finally:
            self._beats.discard(asyncio.current_task())
