"""The consume loop: permits before fetches, a fixed pool of handlers, one settle per delivery."""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final, Generic, TypeVar

from . import tracing
from .brokers.base import Broker, Ordering, Subscription, SubscriptionSpec
from .cancel import cancel_and_wait
from .errors import ConfigurationError
from .message import (
    DEFERRED_HEADER,
    DUE_HEADER,
    InboundMessage,
    deferrals,
    due_in,
)
from .outcome import Outcome
from .retry import (
    ACK_DECISION,
    Action,
    Decision,
    RetryPolicy,
    dead_letter_headers,
    decide,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Handler = Callable[[T, InboundMessage], Awaitable[Outcome | None]]
"""``async def handle(payload, message) -> Ack() | Nack(...) | Retry(...) | None``."""

HANDLER_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds (seconds) of the handler-duration histogram: Prometheus' defaults."""

DUE_WAIT_MAX: Final = 0.05
"""A delivery due within this many seconds waits in its worker for the due time;
one due later goes back to the broker (deferred). Never handled early."""

FETCH_WAIT: Final = 1.0
"""Seconds one fetch waits for the first message before asking again."""

SETTLE_BACKOFF: Final = (0.2, 10.0)
"""After a delivery could not be settled: the pause before the next fetch (seconds),
doubling with each fetch round in a row that had a failure, and its cap."""
SETTLE_FAILURES_NOT_READY: Final = 5
"""Fetch rounds in a row with a settle failure after which the consumer reports
not ready."""
SETTLE_LOG_INTERVAL: Final = 10.0
"""Seconds between two log lines about settle failures (the rest are counted)."""


class _DefaultDeadLetter:
    def __repr__(self) -> str:
        return "<source>.dlq"


DEFAULT_DEAD_LETTER: Final = _DefaultDeadLetter()


@dataclass(slots=True)
class ConsumerStats:
    """Counters for one consumer, read by tests, health and the shutdown summary."""

    received: int = 0
    acked: int = 0
    requeued: int = 0
    retried: int = 0
    dead_lettered: int = 0
    errors: int = 0
    timeouts: int = 0
    released: int = 0
    deferred: int = 0
    settle_failures: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    handled: int = 0
    """Handler runs finished (returned, raised, timed out or cancelled)."""
    handler_seconds: float = 0.0
    """Their total duration."""
    handler_buckets: list[int] = field(
        default_factory=lambda: [0] * (len(HANDLER_BUCKETS) + 1)
    )
    """Runs by duration: ``[i]`` counts those up to ``HANDLER_BUCKETS[i]`` seconds
    and longer than the bucket before; the last, those longer than every bound."""

    def summary(self) -> str:
        return (
            f"received={self.received} acked={self.acked} requeued={self.requeued} "
            f"retried={self.retried} dead_lettered={self.dead_lettered} "
            f"errors={self.errors} timeouts={self.timeouts} released={self.released} "
            f"settle_failures={self.settle_failures}"
        )


Q = TypeVar("Q")


class _Inbox(Generic[Q]):
    """The workers' queue: a deque and its waiting getters, nothing else.

    asyncio.Queue also keeps put-side waiters, a size bound and join() bookkeeping;
    none is needed here (the permits bound it), and they cost about a microsecond a
    message.
    """

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: collections.deque[Q] = collections.deque()
        self._getters: collections.deque[asyncio.Future[None]] = collections.deque()

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Q) -> None:
        self._items.append(item)
        self._wake_one()

    def _wake_one(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.popleft()
            if not getter.done():
                getter.set_result(None)
                break

    def get_nowait(self) -> Q:
        return self._items.popleft()

    async def get(self) -> Q:
        items = self._items
        while not items:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except asyncio.CancelledError:
                woken = getter.done() and not getter.cancelled()
                getter.cancel()
                if woken and items:
                    self._wake_one()  # this worker was woken but leaves: pass it on
                raise
        return items.popleft()


class _InFlight:
    """A handler in progress: its deadline and when its broker last heard of it."""

    __slots__ = ("deadline", "last_beat", "msg", "sub")

    def __init__(
        self, now: float, timeout: float | None, sub: Subscription, msg: InboundMessage
    ) -> None:
        self.deadline = math.inf if timeout is None else now + timeout
        self.last_beat = now
        self.sub = sub
        self.msg = msg


def _not_due(msg: InboundMessage) -> Decision | None:
    """A DEFER decision when the message carries a due time more than
    ``DUE_WAIT_MAX`` ahead."""
    if DUE_HEADER in msg.headers:
        wait = due_in(msg.headers, time.time())
        if wait > DUE_WAIT_MAX:
            return Decision(Action.DEFER, after=wait, reason="not due")
    return None


def _attempt(msg: InboundMessage) -> int:
    """Handler attempts so far: deliveries spent waiting for a due time do not count."""
    if DEFERRED_HEADER in msg.headers:
        return max(msg.delivery_count - deferrals(msg.headers), 1)
    return msg.delivery_count


class Consumer(Generic[T]):
    """Reads one source through one broker and runs a handler per message.

    Args:
        name: unique within the service; names the consumer in logs and dead letters.
        broker: the connection to read from.
        source: topic / queue / subject / stream.
        handler: ``async def handle(payload, message)`` returning an outcome or None (Ack).
        decode: turns the body into the handler's payload; a failure is poison and
            dead-letters the message at once. ``None`` passes the raw bytes.
        group: consumer group / durable name; defaults to ``name``.
        concurrency: handlers in flight at most; fetches never exceed free permits.
        timeout: per-message handler budget in seconds (``None``: no limit); a
            timeout counts as a failure and is retried with backoff.
        retry: attempts and backoff.
        dead_letter: dead-letter destination; default ``<source>.dlq``; ``None``
            drops dead letters after logging them.
        ordering: ``key``/``partition`` run messages of one key one at a time.
        ack_wait: the broker's redelivery timer where it has one (seconds).
        options: adapter-specific settings passed through to the broker.
    """

    def __init__(
        self,
        *,
        name: str,
        broker: Broker,
        source: str,
        handler: Handler[T],
        decode: Callable[[bytes], T] | None = None,
        group: str | None = None,
        concurrency: int = 1,
        timeout: float | None = 30.0,
        retry: RetryPolicy | None = None,
        dead_letter: str | _DefaultDeadLetter | None = DEFAULT_DEAD_LETTER,
        ordering: Ordering = "none",
        ack_wait: float = 30.0,
        options: dict[str, Any] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigurationError(
                f"consumer {name!r}: concurrency must be at least 1, got {concurrency}"
            )
        if timeout is not None and timeout <= 0:
            raise ConfigurationError(f"consumer {name!r}: timeout must be positive")
        self.name = name
        self.broker = broker
        self.handler = handler
        self.decode = decode
        self.concurrency = concurrency
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        if isinstance(dead_letter, _DefaultDeadLetter):
            dead_letter = f"{source}.dlq"
        self.spec = SubscriptionSpec(
            consumer=name,
            source=source,
            group=group or name,
            concurrency=concurrency,
            dead_letter=dead_letter,
            ordering=ordering,
            max_attempts=self.retry.max_attempts,
            ack_wait=ack_wait,
            options=dict(options or {}),
        )
        self.stats = ConsumerStats()
        self._sub: Subscription | None = None
        # Workers take deliveries from this queue; ``None`` is the fetch token: the
        # worker holding it fetches for the idle ones, then puts it back behind them.
        self._queue: _Inbox[tuple[Subscription, InboundMessage] | None] = _Inbox()
        self._idle = concurrency
        self._permit_freed = asyncio.Event()
        self._idle_all = asyncio.Event()
        self._idle_all.set()
        self._fetching: asyncio.Task[None] | None = None
        self._lost_attempts = 0
        self._workers: list[asyncio.Task[None]] = []
        # Workers inside a handler, with their deadlines (loop time); a watchdog
        # cancels the overdue ones. One dict entry per message is far cheaper than an
        # asyncio.timeout (a timer handle on the loop's heap) per message.
        self._handling: dict[asyncio.Task[None], _InFlight] = {}
        self._timed_out: set[asyncio.Task[None]] = set()
        self._watchdog: asyncio.Task[None] | None = None
        self._beats: set[asyncio.Task[None]] = set()
        self._now = time.monotonic  # the event loop's clock too
        self._tracer: Any = None  # set at start when tracing is set up
        self._settling = 0
        self._busy_keys: dict[
            Any, collections.deque[tuple[Subscription, InboundMessage]]
        ] = {}
        self._stopping = False
        self._forced = False
        self.consuming = False
        # Fetch rounds with a settle failure since the last settle that worked, when
        # the last failure was, and the failures not logged yet (one line per
        # SETTLE_LOG_INTERVAL).
        self._settle_streak = 0
        self._settle_failed_at = 0.0
        # True once a settle failed since the last fetch: the failures of one batch
        # (say every ack of 64 in-flight messages on a connection just cut) are one
        # round of the backoff, not 64 doublings of it.
        self._settle_round_failed = False
        self._stop_requested = asyncio.Event()
        self._settle_logged_at = -math.inf
        self._settle_unlogged = 0

    @property
    def source(self) -> str:
        return self.spec.source

    @property
    def busy(self) -> bool:
        """True while any fetched message is not yet settled."""
        return self._idle < self.concurrency

    @property
    def ready(self) -> bool:
        return (
            self.consuming
            and not self._stopping
            and self._settle_streak < SETTLE_FAILURES_NOT_READY
        )

    # -- lifecycle -------------------------------------------------------------

    async def lag(self, timeout: float = 2.0) -> int | None:
        """Messages waiting in the broker for this consumer, when the broker tells
        (see each adapter's ``lag``); None when it does not, or not within
        ``timeout`` seconds."""
        ask = getattr(self._sub, "lag", None)
        if ask is None:
            return None
        try:
            async with asyncio.timeout(timeout):
                waiting: int | None = await ask()
        except Exception as exc:  # a scrape must not fail on a slow or lost broker
            log.debug(
                "consumer %s: no lag (%s: %s)", self.name, type(exc).__name__, exc
            )
            return None
        return waiting

    async def start(self) -> None:
        """Subscribe (declaring topology) and start the worker pool."""
        self._tracer = tracing.tracer()
        self._sub = await self.broker.subscribe(self.spec)
        self.consuming = True
        self._queue.put_nowait(None)
        self._watchdog = asyncio.create_task(
            self._watch(), name=f"{self.name}-watchdog"
        )
        self._workers = [
            asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}")
            for i in range(self.concurrency)
        ]
        log.info(
            "consumer %s consuming %s (concurrency=%d)",
            self.name,
            self.source,
            self.concurrency,
        )

    def stop_intake(self) -> None:
        """Stop fetching; messages already fetched still run."""
        self._stopping = True
        self._stop_requested.set()
        self._permit_freed.set()
        fetching = self._fetching
        if fetching is not None and not fetching.done():
            # The fetch holds no delivery yet: ending that worker loses nothing.
            fetching.cancel()

    async def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every fetched message to settle."""
        self.stop_intake()
        try:
            async with asyncio.timeout(max(timeout, 0.0)):
                await self._idle_all.wait()
        except TimeoutError:
            return False
        return True

    async def force(self) -> None:
        """Cancel handlers still running; their messages are released, never acked.

        A worker that is settling (ack, dead-letter publish, commit) is left to finish:
        bookkeeping after a handler is never interrupted.
        """
        self._forced = True
        self.stop_intake()
        for task in list(self._handling):
            task.cancel()
        for _ in range(1000):  # settles in progress finish first (bounded: 10 s)
            if not self._settling:
                break
            await asyncio.sleep(0.01)
        await cancel_and_wait(self._workers, what=f"{self.name} worker")
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                await self._release(*item)
        for pending in self._busy_keys.values():
            for sub, msg in pending:
                await self._release(sub, msg)
        self._busy_keys.clear()

    async def close(self) -> None:
        """Stop workers and flush the subscription's pending acks/commits."""
        self.stop_intake()
        watchdog = [self._watchdog] if self._watchdog is not None else []
        helpers = [*self._workers, *watchdog, *self._beats]
        await cancel_and_wait(helpers, what=f"{self.name} helper task")
        self.consuming = False
        if self._sub is not None:
            try:
                await self._sub.close()
            except Exception:
                log.exception("consumer %s: closing its subscription failed", self.name)
        log.info("consumer %s stopped: %s", self.name, self.stats.summary())

    # -- fetching --------------------------------------------------------------

    async def _lead(self) -> None:
        """Holding the fetch token: fetch for the free permits, then pass it on."""
        while self._idle <= 0 and not self._stopping:
            self._permit_freed.clear()
            await self._permit_freed.wait()
        if self._stopping:
            return  # the token is dropped: no fetch after intake stopped
        sub = self._sub
        self._fetching = asyncio.current_task()
        if self._settle_streak:
            await self._settle_backoff()
        self._settle_round_failed = False
        try:
            if sub is None:
                sub = self._sub = await self.broker.subscribe(self.spec)
                self.consuming = True
                log.info("consumer %s resumed consuming %s", self.name, self.source)
            batch = await sub.fetch(self._idle, FETCH_WAIT)
            self._lost_attempts = 0
            if not batch:
                self._settle_streak = 0  # nothing comes back: nothing spins
        except Exception as exc:
            self._fetching = None
            self._lost_attempts += 1
            await self._lost(sub, exc, self._lost_attempts)
            self._queue.put_nowait(None)
            return
        self._fetching = None
        queue = self._queue
        if batch:
            self._idle_all.clear()
            self.stats.received += len(batch)
            self._idle -= len(batch)
            if self._settle_round_failed:
                # A settle failed while this fetch waited: what it brought (often
                # the very message just released) waits out the pause too, or it
                # would be read again at once.
                try:
                    await self._settle_backoff()
                except asyncio.CancelledError:
                    for msg in batch:  # force() releases what is queued
                        queue.put_nowait((sub, msg))
                    raise
            for msg in batch:
                queue.put_nowait((sub, msg))
        queue.put_nowait(None)
        await asyncio.sleep(0)  # never starve the loop when messages are always ready

    async def _lost(
        self, sub: Subscription | None, exc: Exception, attempt: int
    ) -> None:
        """The subscription failed: mark not consuming, back off, subscribe again."""
        self.consuming = False
        self._sub = None
        delay = min(0.1 * 2 ** min(attempt, 8), 5.0)
        log.warning(
            "consumer %s lost its subscription (%s: %s); retrying in %.1fs",
            self.name,
            type(exc).__name__,
            exc,
            delay,
        )
        if sub is not None:
            try:
                await sub.close()
            except Exception:
                log.debug(
                    "consumer %s: closing a broken subscription failed",
                    self.name,
                    exc_info=True,
                )
        await asyncio.sleep(delay)

    # -- handling --------------------------------------------------------------

    async def _worker(self) -> None:
        queue = self._queue
        ordered = self.spec.ordering != "none"
        task: Any = asyncio.current_task()
        while True:
            item = await queue.get()
            if item is None:
                await self._lead()
                continue
            sub, msg = item
            if ordered:
                key = self._order_key(msg)
                waiting = self._busy_keys.get(key)
                if waiting is not None:
                    waiting.append((sub, msg))
                    continue
                self._busy_keys[key] = collections.deque()
                await self._run_one(sub, msg, task)
                waiting = self._busy_keys[key]
                while waiting:
                    sub, msg = waiting.popleft()
                    await self._run_one(sub, msg, task)
                del self._busy_keys[key]
            else:
                await self._run_one(sub, msg, task)

    def _order_key(self, msg: InboundMessage) -> Any:
        if self.spec.ordering == "partition":
            position = msg.position
            if "partition" in position:
                # A source partition and its retry topic's partition of the same
                # number are separate logs: separate lanes.
                return (position.get("topic"), position["partition"])
            return msg.key
        return msg.key

    async def _run_one(
        self, sub: Subscription, msg: InboundMessage, task: asyncio.Task[None]
    ) -> None:
        stats = self.stats
        stats.in_flight += 1
        if stats.in_flight > stats.peak_in_flight:
            stats.peak_in_flight = stats.in_flight
        try:
            if self._tracer is None:
                decision = await self._handle(sub, msg, task)
            else:
                decision = await self._traced(sub, msg, task)
            self._settling += 1
            try:
                if decision is ACK_DECISION:  # the hot path, inlined
                    try:
                        await sub.ack(msg)
                        stats.acked += 1
                        self._settle_streak = 0
                    except Exception as exc:
                        await self._settle_failed(sub, msg, decision, exc)
                else:
                    await self._settle(sub, msg, decision)
            finally:
                self._settling -= 1
        finally:
            stats.in_flight -= 1
            self._idle += 1
            self._permit_freed.set()
            if self._idle == self.concurrency:
                self._idle_all.set()

    async def _traced(
        self, sub: Subscription, msg: InboundMessage, task: asyncio.Task[None]
    ) -> Decision:
        """``_handle`` inside the delivery's span (``svcgen_runtime.tracing``); a
        delivery that only waits for its due time is handed back without one."""
        from opentelemetry.trace import Status, StatusCode

        if msg.headers:
            not_due = _not_due(msg)
            if not_due is not None:
                return not_due
        with tracing.processing(
            self._tracer,
            msg,
            system=self.broker.kind,
            consumer=self.name,
            group=self.spec.group,
        ) as span:
            decision = await self._handle(sub, msg, task)
            span.set_attribute("svcgen.outcome", decision.action.value)
            if decision.error is not None:
                span.record_exception(decision.error)
                span.set_status(Status(StatusCode.ERROR, str(decision.error)))
            return decision

    async def _handle(
        self, sub: Subscription, msg: InboundMessage, task: asyncio.Task[None]
    ) -> Decision:
        """Run the handler and decide; a forced cancel releases the message and raises."""
        attempt = msg.delivery_count
        if msg.headers:
            not_due = _not_due(msg)
            if not_due is not None:
                return not_due
            if DUE_HEADER in msg.headers:
                await self._wait_due(sub, msg)
            attempt = _attempt(msg)
        try:
            payload: Any = msg.body if self.decode is None else self.decode(msg.body)
        except Exception as exc:
            log.warning(
                "consumer %s: message %s does not decode (%s); dead-lettering it",
                self.name,
                msg.id,
                exc,
            )
            return Decision(Action.DEAD_LETTER, reason="poison", error=exc)
        handling = self._handling
        started = self._now()
        handling[task] = _InFlight(started, self.timeout, sub, msg)
        try:
            outcome = await self.handler(payload, msg)
        except asyncio.CancelledError:
            handling.pop(task, None)
            if task in self._timed_out:
                return self._timeout_decision(task, msg, attempt)
            if not self._forced:
                raise
            await self._release(sub, msg)
            # The worker ends here: a forced shutdown stops the pool.
            raise
        except Exception as exc:
            self.stats.errors += 1
            log.warning(
                "consumer %s: handler failed on message %s: %s: %s",
                self.name,
                msg.id,
                type(exc).__name__,
                exc,
            )
            return decide(self.retry, attempt, error=exc)
        finally:
            handling.pop(task, None)
            stats = self.stats  # the handler-time histogram
            took = self._now() - started
            stats.handled += 1
            stats.handler_seconds += took
            stats.handler_buckets[bisect.bisect_left(HANDLER_BUCKETS, took)] += 1
        if task in self._timed_out:  # the handler swallowed its cancellation
            return self._timeout_decision(task, msg, attempt)
        if self._forced:  # likewise, under a forced shutdown: never ack it
            await self._release(sub, msg)
            raise asyncio.CancelledError
        if outcome is None:
            return ACK_DECISION
        try:
            return decide(self.retry, attempt, outcome)
        except TypeError as exc:
            self.stats.errors += 1
            log.error("consumer %s: %s", self.name, exc)
            return decide(self.retry, attempt, error=exc)

    async def _wait_due(self, sub: Subscription, msg: InboundMessage) -> None:
        """Sleep until the due time has passed on the clock it was written with.

        Brokers deliver a retry up to a few ms early (millisecond TTLs, clocks read
        at different moments); the remainder is waited out here, never forgiven.
        """
        try:
            wait = due_in(msg.headers, time.time())
            while wait > 0:
                await asyncio.sleep(wait)
                wait = due_in(msg.headers, time.time())
        except asyncio.CancelledError:
            await self._release(sub, msg)  # never handled: the broker redelivers it
            raise

    def _timeout_decision(
        self, task: asyncio.Task[None], msg: InboundMessage, attempt: int
    ) -> Decision:
        self._timed_out.discard(task)
        task.uncancel()
        self.stats.timeouts += 1
        log.warning(
            "consumer %s: handler timed out after %ss on message %s",
            self.name,
            self.timeout,
            msg.id,
        )
        return decide(
            self.retry,
            attempt,
            error=TimeoutError(f"handler timed out after {self.timeout}s"),
        )

    async def _watch(self) -> None:
        """Cancel handlers past their deadline; send in-progress beats for long ones.

        One task per consumer: per message there is only a dict entry, no timer.
        It ticks at 1/20 of the timeout (2 ms to 0.5 s), faster when the broker wants
        heartbeats.
        """
        interval = (
            0.5 if self.timeout is None else min(max(self.timeout / 20, 0.002), 0.5)
        )
        while True:
            beat = self._sub.heartbeat_interval if self._sub is not None else None
            tick = interval if beat is None else min(interval, max(beat / 4, 0.002))
            await asyncio.sleep(tick)
            now = self._now()
            for task, flight in list(self._handling.items()):
                if flight.deadline <= now:
                    if task not in self._timed_out:
                        self._timed_out.add(task)
                        task.cancel()
                    continue
                interval_beat = flight.sub.heartbeat_interval
                if (
                    interval_beat is not None
                    and now - flight.last_beat >= interval_beat
                ):
                    flight.last_beat = now
                    self._beats.add(asyncio.create_task(self._beat(flight)))

    async def _beat(self, flight: _InFlight) -> None:
        try:
            await flight.sub.in_progress(flight.msg)
        except Exception:
            log.debug(
                "consumer %s: in-progress heartbeat failed", self.name, exc_info=True
            )
        finally:
            self._beats.discard(asyncio.current_task())

    async def _settle(
        self, sub: Subscription, msg: InboundMessage, decision: Decision
    ) -> None:
        stats = self.stats
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
            self._settle_streak = 0
        except Exception as exc:
            await self._settle_failed(sub, msg, decision, exc)

    async def _settle_failed(
        self,
        sub: Subscription,
        msg: InboundMessage,
        decision: Decision,
        exc: Exception,
    ) -> None:
        """Give the delivery back unacknowledged and slow this consumer down.

        A dead-letter destination that refuses, or a retry republish that keeps
        failing, would otherwise spin: the broker redelivers the same message at
        once and it fails again. The next fetch waits (``_settle_backoff``), the
        consumer is not ready after SETTLE_FAILURES_NOT_READY rounds in a row, and
        the log says so once per SETTLE_LOG_INTERVAL.
        """
        self.stats.settle_failures += 1
        if not self._settle_round_failed:
            self._settle_round_failed = True
            self._settle_streak += 1
        now = self._now()
        self._settle_failed_at = now
        try:
            await sub.release(msg, stopping=False)
        except Exception as release_exc:  # lost with its connection: redelivered
            log.debug(
                "consumer %s: releasing message %s after a failed %s failed too (%s)",
                self.name,
                msg.id,
                decision.action.value,
                release_exc,
            )
        if now - self._settle_logged_at < SETTLE_LOG_INTERVAL:
            self._settle_unlogged += 1
            return
        log.warning(
            "consumer %s: %s of message %s failed (%s: %s); released for redelivery, "
            "%d failure(s) in a row, %d more since the last report",
            self.name,
            decision.action.value,
            msg.id,
            type(exc).__name__,
            exc,
            self._settle_streak,
            self._settle_unlogged,
        )
        self._settle_logged_at = now
        self._settle_unlogged = 0

    async def _settle_backoff(self) -> None:
        """Before the next fetch after a settle failure: wait 0.2 s, doubling with
        each fetch round in a row that had a failure, up to 10 s (SETTLE_BACKOFF),
        so that a message the broker redelivers at once is not tried again at once."""
        first, cap = SETTLE_BACKOFF
        pause = min(first * 2 ** min(self._settle_streak - 1, 16), cap)
        wait = self._settle_failed_at + pause - self._now()
        if wait > 0 and not self._stopping:
            with contextlib.suppress(TimeoutError):  # a drain ends the pause
                async with asyncio.timeout(wait):
                    await self._stop_requested.wait()

    async def _dead_letter(
        self, sub: Subscription, msg: InboundMessage, decision: Decision
    ) -> None:
        if self.spec.dead_letter is None:
            log.error(
                "consumer %s: dropping message %s after %d attempt(s) (%s): no "
                "dead-letter destination",
                self.name,
                msg.id,
                msg.delivery_count,
                decision.reason,
            )
            await sub.ack(msg)
        else:
            headers = dead_letter_headers(
                msg,
                consumer=self.name,
                reason=decision.reason,
                error=decision.error,
                now=time.time(),
                attempts=_attempt(msg),
            )
            await sub.dead_letter(msg, headers)
        self.stats.dead_lettered += 1

    async def _release(self, sub: Subscription, msg: InboundMessage) -> None:
        self.stats.released += 1
        try:
            await sub.release(msg)
        except Exception as exc:
            log.warning(
                "consumer %s: releasing message %s failed (%s); the broker will "
                "redeliver it",
                self.name,
                msg.id,
                exc,
            )
