"""The consume loop: permits before fetches, a fixed pool of handlers, one settle per
delivery. ``Consumer`` owns the lifecycle (start, stop intake, drain, force, close),
the worker pool and its fetch token, and one handler run per delivery; it composes
``Inbox`` (the workers' queue), ``Lanes`` (per-key ordering), ``Watchdog`` (handler
deadlines and heartbeats) and ``Settler`` (settles, releases, settle-failure backoff).
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from .. import tracing
from ..brokers.base import Broker, Ordering, Subscription, SubscriptionSpec
from ..cancel import cancel_and_wait
from ..effects import Dedupe
from ..errors import ConfigurationError, PoisonMessage
from ..message import DUE_HEADER, InboundMessage
from ..outcome import Outcome
from ..retry import ACK_DECISION, Action, Decision, RetryPolicy, decide
from .due import attempts, not_due, wait_due
from .inbox import Delivery, Inbox
from .lanes import Lanes
from .settle import DEFAULT_DEAD_LETTER, DefaultDeadLetter, Settler
from .stats import HANDLER_BUCKETS, ConsumerStats, lag_of
from .watchdog import InFlight, Watchdog

if TYPE_CHECKING:  # the optional ``tracing`` extra
    from opentelemetry.trace import Tracer

log = logging.getLogger(__package__)

T = TypeVar("T")
Handler = Callable[[T, InboundMessage], Awaitable[Outcome | None]]
"""``async def handle(payload, message) -> Ack() | Nack(...) | Retry(...) | None``."""

FETCH_WAIT: Final = 1.0
"""Seconds one fetch waits for the first message before asking again."""

SLICE: Final = 0.0005
"""Seconds a lone worker (``concurrency: 1``) runs ready messages before it lets the
loop turn (a fetch that waited longer counts as a turn): a turn per message was a
third of its time per message."""

RESUBSCRIBE_BACKOFF: Final = RetryPolicy(initial=0.2, max=5.0, jitter=False)
"""The pause before subscribing again after the subscription failed, doubling with
each failure in a row."""


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
        options: adapter-specific settings passed through to the broker; an
            option of None is unset (the broker's default applies).
        dedupe: record each message's key with its handler's work (``effects``).
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
        dead_letter: str | DefaultDeadLetter | None = DEFAULT_DEAD_LETTER,
        ordering: Ordering = "none",
        ack_wait: float = 30.0,
        options: dict[str, Any] | None = None,
        dedupe: Dedupe | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigurationError(
                f"consumer {name!r}: concurrency must be at least 1, got {concurrency}"
            )
        if timeout is not None and timeout <= 0:
            raise ConfigurationError(f"consumer {name!r}: timeout must be positive")
        self.name = name
        self.broker = broker
        self.handler = handler if dedupe is None else dedupe.wrap(name, handler)
        self.decode = decode
        self.concurrency = concurrency
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        if isinstance(dead_letter, DefaultDeadLetter):
            dead_letter = f"{source}.dlq"
        self.spec = SubscriptionSpec(
            consumer=name,
            source=source,
            group=group or name,
            concurrency=concurrency,
            dead_letter=dead_letter,
            ordering=ordering,
            ack_wait=ack_wait,
            options={k: v for k, v in (options or {}).items() if v is not None},
        )
        self.stats = ConsumerStats()
        self._sub: Subscription | None = None
        # Workers take deliveries from this queue; ``None`` is the fetch token: the
        # worker holding it fetches for the idle ones, then puts it back behind them.
        self._queue: Inbox[Delivery | None] = Inbox()
        self._idle = concurrency
        self._permit_freed = asyncio.Event()
        self._idle_all = asyncio.Event()
        self._idle_all.set()
        self._fetching: asyncio.Task[None] | None = None
        self._yield_at = 0.0
        self._lost_attempts = 0
        self._workers: list[asyncio.Task[None]] = []
        self._now = time.monotonic  # the event loop's clock too
        self._tracer: Tracer | None = None  # set at start when tracing is set up
        self._stopping = False
        self._stop_requested = asyncio.Event()
        self._forced = False
        self.consuming = False
        self._lanes = Lanes(ordering)
        self._watchdog = Watchdog(
            name=name,
            timeout=timeout,
            retry=self.retry,
            stats=self.stats,
            heartbeat=lambda: (
                None if self._sub is None else self._sub.heartbeat_interval
            ),
            now=self._now,
        )
        # The watchdog's own dict and set, read and written by each handler run.
        self._handling = self._watchdog.handling
        self._timed_out = self._watchdog.timed_out
        self._settler = Settler(
            name=name,
            dead_letter=dead_letter,
            stats=self.stats,
            stop_requested=self._stop_requested,
            now=self._now,
        )

    @property
    def source(self) -> str:
        return self.spec.source

    @property
    def busy(self) -> bool:
        """True while any fetched message is not yet settled."""
        return self._idle < self.concurrency

    @property
    def ready(self) -> bool:
        return self.consuming and not self._stopping and self._settler.healthy

    # -- lifecycle -------------------------------------------------------------

    async def lag(self, timeout: float = 2.0) -> int | None:
        """Messages waiting in the broker for this consumer, when the broker tells
        (see each adapter's ``lag``); None when it does not, or not within
        ``timeout`` seconds."""
        return await lag_of(self._sub, self.name, timeout)

    async def start(self) -> None:
        """Subscribe (declaring topology) and start the worker pool."""
        self._tracer = tracing.tracer()
        self._sub = await self.broker.subscribe(self.spec)
        self.consuming = True
        self._queue.put_nowait(None)
        self._watchdog.start()
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
        self._watchdog.cancel_handlers()
        for _ in range(1000):  # settles in progress finish first (bounded: 10 s)
            if not self._settler.settling:
                break
            await asyncio.sleep(0.01)
        await cancel_and_wait(self._workers, what=f"{self.name} worker")
        for item in [*self._queue.take_all(), *self._lanes.take_all()]:
            if item is not None:  # not the fetch token
                await self._settler.release(*item)

    async def close(self) -> None:
        """Stop workers and flush the subscription's pending acks/commits."""
        self.stop_intake()
        helpers = [*self._workers, *self._watchdog.tasks()]
        await cancel_and_wait(helpers, what=f"{self.name} helper task")
        self.consuming = False
        if self._sub is not None:
            try:
                await self._sub.close()
            except Exception:
                log.exception("consumer %s: closing its subscription failed", self.name)
        log.info("consumer %s stopped: %s", self.name, self.stats.summary())

    # -- fetching --------------------------------------------------------------

    async def _lead(self, task: asyncio.Task[None]) -> Delivery | None:
        """Holding the fetch token: fetch for the free permits, then pass it on.
        With one worker, what it fetched is returned for it to run."""
        if self.concurrency == 1 and (now := self._now()) >= self._yield_at:
            # A lone worker lets the loop turn once a slice.
            self._yield_at = now + SLICE
            await asyncio.sleep(0)
        while self._idle <= 0 and not self._stopping:
            self._permit_freed.clear()
            await self._permit_freed.wait()
        if self._stopping:
            return None  # the token is dropped: no fetch after intake stopped
        sub = self._sub
        self._fetching = task
        settler = self._settler
        if settler.streak:
            await settler.backoff()
        settler.round_failed = False
        try:
            if sub is None:
                sub = self._sub = await self.broker.subscribe(self.spec)
                self.consuming = True
                log.info("consumer %s resumed consuming %s", self.name, self.source)
            began = self._now()
            batch = await sub.fetch(self._idle, FETCH_WAIT)
            if (ended := self._now()) - began > SLICE:
                self._yield_at = ended + SLICE  # it waited: the loop turned meanwhile
            self._lost_attempts = 0
            if not batch:
                settler.streak = 0  # nothing comes back: nothing spins
        except Exception as exc:
            self._fetching = None
            self._lost_attempts += 1
            await self._lost(sub, exc, self._lost_attempts)
            self._queue.put_nowait(None)
            return None
        self._fetching = None
        mine = await self._hand_out(sub, batch) if batch else None
        self._queue.put_nowait(None)
        if mine is None:  # never starve the loop when messages are always ready
            await asyncio.sleep(0)
        return mine

    async def _hand_out(
        self, sub: Subscription, batch: Sequence[InboundMessage]
    ) -> Delivery | None:
        """Queue what a fetch brought; with one worker, return it for that worker."""
        queue = self._queue
        self._idle_all.clear()
        self.stats.received += len(batch)
        self._idle -= len(batch)
        if self._settler.round_failed:
            # A settle failed while this fetch waited: what it brought (often the
            # very message just released) waits out the pause too, or it would be
            # read again at once.
            try:
                await self._settler.backoff()
            except asyncio.CancelledError:
                for msg in batch:  # force() releases what is queued
                    queue.put_nowait((sub, msg))
                raise
        if self.concurrency == 1 and len(batch) == 1:  # fetches never exceed permits
            return sub, batch[0]  # the only worker runs it, past the queue
        for msg in batch:
            queue.put_nowait((sub, msg))
        return None

    async def _lost(
        self, sub: Subscription | None, exc: Exception, attempt: int
    ) -> None:
        """The subscription failed: mark not consuming, back off, subscribe again."""
        self.consuming = False
        self._sub = None
        delay = RESUBSCRIBE_BACKOFF.delay(attempt)
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
        lanes = self._lanes if self.spec.ordering != "none" else None
        task: Any = asyncio.current_task()
        while True:
            item = await queue.get()
            if item is None and (item := await self._lead(task)) is None:
                continue
            sub, msg = item
            if lanes is None:
                await self._run_one(sub, msg, task)
                continue
            key = lanes.key(msg)
            if not lanes.claim(key, item):
                continue  # another worker runs this key's lane; it waits there
            await self._run_one(sub, msg, task)
            while (item := lanes.next(key)) is not None:
                await self._run_one(*item, task)

    async def _run_one(
        self, sub: Subscription, msg: InboundMessage, task: asyncio.Task[None]
    ) -> None:
        stats = self.stats
        stats.in_flight += 1
        if stats.in_flight > stats.peak_in_flight:
            stats.peak_in_flight = stats.in_flight
        try:
            tracer = self._tracer
            if tracer is None:
                decision = await self._handle(sub, msg, task)
            else:
                decision = await self._traced(sub, msg, task, tracer)
            settler = self._settler
            settler.settling += 1
            try:
                if decision is ACK_DECISION:  # the hot path, inlined
                    try:
                        await sub.ack(msg)
                        stats.acked += 1
                        settler.streak = 0
                    except Exception as exc:
                        await settler.failed(sub, msg, decision, exc)
                else:
                    await settler.settle(sub, msg, decision)
            finally:
                settler.settling -= 1
        finally:
            stats.in_flight -= 1
            self._idle += 1
            self._permit_freed.set()
            if self._idle == self.concurrency:
                self._idle_all.set()

    async def _traced(
        self,
        sub: Subscription,
        msg: InboundMessage,
        task: asyncio.Task[None],
        tracer: Tracer,
    ) -> Decision:
        """``_handle`` inside the delivery's span (``svcgen_runtime.tracing``); a
        delivery that only waits for its due time is handed back without one."""
        from opentelemetry.trace import Status, StatusCode

        if msg.headers:
            deferred = not_due(msg, self.spec.group)
            if deferred is not None:
                return deferred
        with tracing.processing(
            tracer,
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

    async def _handle(  # noqa: C901 - one delivery's steps, in order
        self, sub: Subscription, msg: InboundMessage, task: asyncio.Task[None]
    ) -> Decision:
        """Run the handler and decide; a forced cancel releases the message and raises."""
        attempt = msg.delivery_count
        if msg.headers:
            deferred = not_due(msg, self.spec.group)
            if deferred is not None:
                return deferred
            if DUE_HEADER in msg.headers:
                await wait_due(msg, lambda: self._settler.release(sub, msg))
            attempt = attempts(msg)
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
        handling[task] = InFlight(started, self.timeout, sub, msg)
        try:
            outcome = await self.handler(payload, msg)
        except asyncio.CancelledError:
            handling.pop(task, None)
            if task in self._timed_out:
                return self._watchdog.expired(task, msg, attempt)
            if not self._forced:
                raise
            await self._settler.release(sub, msg)
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
            if isinstance(exc, PoisonMessage):  # such as a missing dedupe key
                return Decision(Action.DEAD_LETTER, reason="poison", error=exc)
            return decide(self.retry, attempt, error=exc)
        finally:
            handling.pop(task, None)
            stats = self.stats  # the handler-time histogram
            took = self._now() - started
            stats.handled += 1
            stats.handler_seconds += took
            stats.handler_buckets[bisect.bisect_left(HANDLER_BUCKETS, took)] += 1
        if task in self._timed_out:  # the handler swallowed its cancellation
            return self._watchdog.expired(task, msg, attempt)
        if self._forced:  # likewise, under a forced shutdown: never ack it
            await self._settler.release(sub, msg)
            raise asyncio.CancelledError
        if outcome is None:
            return ACK_DECISION
        try:
            return decide(self.retry, attempt, outcome)
        except TypeError as exc:
            self.stats.errors += 1
            log.error("consumer %s: %s", self.name, exc)
            return decide(self.retry, attempt, error=exc)
