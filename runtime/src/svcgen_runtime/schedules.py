"""Schedules that fire once per fire time however many replicas run them.

Each replica computes the same fire times (cron in a timezone via croniter, or
``every`` aligned to the Unix epoch) and enqueues the schedule's task with the key
``<schedule>:<fire time>``; the task's idempotency store lets exactly one enqueue
through. A replica that wakes late (a pause, a busy loop) fires only the latest
missed time: misfires coalesce. The latest fire is also kept in the store (a mark
that only grows), so a service that starts after fire times passed with every
replica down fires the latest of them once, then goes on; on its very first start
nothing before the start is fired. ``guard_runs`` makes the task's handler skip a
fire while an earlier run of the same schedule is still running.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Final, Generic, TypeVar
from zoneinfo import ZoneInfo

from .cancel import cancel_and_wait
from .errors import ConfigurationError, require
from .idempotency import IdempotencyStore
from .message import InboundMessage
from .outcome import Outcome
from .tasks import Task

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEDULE_HEADER: Final = "x-svcgen-schedule"
FIRE_HEADER: Final = "x-svcgen-fire-time"
MARK_TTL: Final = 30 * 24 * 3600.0
"""How long the last fire is remembered at least (three periods when longer)."""

# Store keys of schedules hold a '-', which task names (Python identifiers), the
# first part of every task key, never do.
_FIRED: Final = "schedule-fired:"
_RUNNING: Final = "schedule-running:"


class Schedule(Generic[T]):
    """Enqueues ``task`` at every fire time of ``cron`` (in ``timezone``) or ``every``.

    Args:
        name: the schedule's name in the spec; part of every fire's idempotency key.
        task: the task to enqueue; it must have an idempotency store shared by replicas.
        args: builds the task's arguments for a fire time.
        cron: a five-field cron expression.
        every: seconds between fires (aligned to multiples since the Unix epoch).
        timezone: IANA name the cron expression is read in.
    """

    def __init__(
        self,
        *,
        name: str,
        task: Task[T],
        args: Callable[[dt.datetime], T],
        cron: str | None = None,
        every: float | None = None,
        timezone: str = "UTC",
    ) -> None:
        if (cron is None) == (every is None):
            raise ConfigurationError(
                f"schedule {name!r}: give exactly one of cron or every"
            )
        if every is not None and every <= 0:
            raise ConfigurationError(f"schedule {name!r}: every must be positive")
        if task.idempotency is None:
            raise ConfigurationError(
                f"schedule {name!r}: task {task.name!r} needs an idempotency store so "
                "replicas fire once"
            )
        self.name = name
        self.task = task
        self._store: IdempotencyStore = task.idempotency
        self.args = args
        self.cron = cron
        self.every = every
        self.tz = ZoneInfo(timezone)
        if cron is not None:
            require("croniter", "schedules")
            from croniter import croniter

            if not croniter.is_valid(cron):
                raise ConfigurationError(
                    f"schedule {name!r}: {cron!r} is not a valid cron expression"
                )
        self.fired = 0
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    # -- fire times ------------------------------------------------------------

    def next_fire(self, after: float) -> float:
        """The first fire time strictly after ``after`` (Unix seconds)."""
        if self.every is not None:
            return (math.floor(after / self.every) + 1) * self.every
        from croniter import croniter

        start = dt.datetime.fromtimestamp(after, self.tz)
        nxt: dt.datetime = croniter(self.cron, start).get_next(dt.datetime)
        return nxt.timestamp()

    def latest_fire(self, since: float, now: float) -> float | None:
        """The last fire time in ``(since, now]``: several missed ones coalesce to it.

        Computed back from ``now``, not by stepping from ``since``: a service down
        for a month must not walk through a month of 250 ms fire times.
        """
        if self.every is not None:
            fire = math.floor(now / self.every) * self.every
        else:
            from croniter import croniter

            start = dt.datetime.fromtimestamp(now, self.tz)
            prev: dt.datetime = croniter(self.cron, start).get_prev(dt.datetime)
            fire = prev.timestamp()
            nxt = self.next_fire(fire)
            if nxt <= now:  # ``now`` is itself a fire time
                fire = nxt
        return fire if fire > since else None

    def key(self, fire: float) -> str:
        return f"{self.name}:{dt.datetime.fromtimestamp(fire, dt.UTC).isoformat()}"

    # -- component -------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name=f"schedule-{self.name}")

    def stop_intake(self) -> None:
        self._stop.set()

    async def drain(self, timeout: float) -> bool:
        self.stop_intake()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=timeout)
        return True

    async def force(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def close(self) -> None:
        self.stop_intake()
        if self._task is not None:
            await cancel_and_wait([self._task], what=f"schedule {self.name}")

    async def _run(self) -> None:
        await self._loop(await self._last_fire(time.time()))

    async def _last_fire(self, now: float) -> float:
        """Where this schedule stands: the last fire any replica made, else now."""
        try:
            mark = await self._store.mark(_FIRED + self.name)
        except Exception as exc:
            log.warning(
                "schedule %s: reading its last fire failed (%s: %s); fire times "
                "missed while the service was down are not made up",
                self.name,
                type(exc).__name__,
                exc,
            )
            return now
        return now if mark is None else min(mark, now)

    async def _loop(self, last: float) -> None:
        while not self._stop.is_set():
            wait = self.next_fire(last) - time.time()
            if wait > 0:
                try:
                    async with asyncio.timeout(wait):
                        await self._stop.wait()
                    return
                except TimeoutError:
                    pass
            now = time.time()
            fire = self.latest_fire(last, now)
            if fire is None:
                continue
            last = fire
            await self._fire(fire)

    async def _fire(self, fire: float) -> None:
        when = dt.datetime.fromtimestamp(fire, self.tz)
        try:
            sent = await self.task.enqueue(
                self.args(when),
                key=self.key(fire),
                headers={SCHEDULE_HEADER: self.name, FIRE_HEADER: when.isoformat()},
            )
        except Exception as exc:
            log.error(
                "schedule %s: enqueue for %s failed: %s: %s",
                self.name,
                when.isoformat(),
                type(exc).__name__,
                exc,
            )
            return
        if sent:
            self.fired += 1
            log.info("schedule %s fired for %s", self.name, when.isoformat())
        # Enqueued here or by another replica (the key was taken): either way done.
        ttl = max(MARK_TTL, 3 * (self.next_fire(fire) - fire))
        try:
            await self._store.raise_mark(_FIRED + self.name, fire, ttl)
        except Exception as exc:
            log.warning(
                "schedule %s: recording the fire for %s failed: %s: %s",
                self.name,
                when.isoformat(),
                type(exc).__name__,
                exc,
            )


def guard_runs(
    handler: Callable[[T, InboundMessage], Awaitable[Outcome | None]],
    *,
    store: IdempotencyStore,
    ttl: float,
) -> Callable[[T, InboundMessage], Awaitable[Outcome | None]]:
    """Wrap a task handler so at most one run per schedule is in progress at a time.

    A fire whose schedule is still running is skipped (logged and acked): misfires
    coalesce. The lock is owned by the fire time, so a redelivery of the same run
    after a crash takes it back; ``ttl`` (at least the handler timeout) frees it if
    its holder died, and a run releases the lock only while it still holds it.
    """

    async def guarded(payload: T, msg: InboundMessage) -> Outcome | None:
        schedule = msg.headers.get(SCHEDULE_HEADER)
        if schedule is None:
            return await handler(payload, msg)
        lock = _RUNNING + schedule
        owner = f"run:{msg.headers.get(FIRE_HEADER, msg.id)}"
        if not await store.claim(lock, ttl, owner=owner):
            log.warning(
                "schedule %s: fire %s skipped, the previous run is still going",
                schedule,
                msg.headers.get(FIRE_HEADER),
            )
            return None
        try:
            return await handler(payload, msg)
        finally:
            await store.release(lock, owner=owner)

    return guarded
