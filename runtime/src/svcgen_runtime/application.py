"""The Application: one lifecycle, one root cancellation token, the only signal handler."""

from __future__ import annotations

import asyncio
import enum
import logging
import signal
import time
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any, Final

from .brokers.base import Broker
from .cancel import CancelToken
from .metrics import exposition
from .middleware import Hook, hook_name
from .types import Component, Probed, Resource

log = logging.getLogger(__name__)

EXIT_OK: Final = 0
EXIT_FORCED: Final = 1
EXIT_START_FAILED: Final = 3


class State(enum.Enum):
    CREATED = "created"
    STARTING = "starting"
    RUNNING = "running"
    DRAINING = "draining"
    STOPPED = "stopped"


class Application:
    """Hosts an optional HTTP server (or health listener) and any number of consumers.

    Start: start the HTTP server (or health listener) first, so ``/healthz`` answers
    200 from the first second while ``/readyz`` answers 503 with what it waits for and
    user routes answer 503 with ``Retry-After`` → open resources → connect every
    broker at once → run the ``on_start`` hooks, one after another in their order →
    subscribe every consumer (task workers too) at once (a consumer
    is started once it can really receive: Kafka partitions assigned in both its
    groups) → start the other components (schedules) at once → ready. The first failure
    cancels the rest of its step, and ``serve()`` returns 3 after closing what opened.

    Shutdown on the first SIGTERM/SIGINT (or ``shutdown()``): not ready → stop intake
    everywhere → drain in-flight handlers and requests up to ``drain_timeout`` →
    cancel what remains (released, never acked) → run the ``on_stop`` hooks →
    flush acks/commits → close brokers → close resources. A second signal (or
    ``shutdown(force=True)``) skips the drain. ``serve()`` returns 0 after a
    complete drain and 1 after a forced one.

    Hooks (``partial(hook, ctx)``) run once per process, one at a time in listed
    order. A failing ``on_start`` hook fails the start: one log line names it,
    then ``serve()`` closes what opened and returns 3. The ``on_stop`` hooks run
    if every ``on_start`` hook ran (also when a later step of the start fails), with
    the brokers and resources still open; a failing one is logged and the next
    still runs. They run in listed order, not reversed: ``on_start`` and ``on_stop``
    are two lists, not pairs, so each runs as service.yaml writes it.

    Args:
        name: the service's name, for logs.
        brokers: every broker connection the components use.
        consumers: consumers to run.
        components: other long-running parts (task workers, schedules).
        resources: opened first, closed last (cache, database, storage).
        http: the HTTP server (routes and probes), or a ``HealthServer``.
        on_start: hooks run after the brokers connect, before any consumer starts.
        on_stop: hooks run after the drain, before anything closes.
        drain_timeout: seconds the drain may take before it is forced.
        handle_signals: install SIGINT/SIGTERM handlers; switch off when embedding.
    """

    def __init__(
        self,
        *,
        name: str,
        brokers: Sequence[Broker] = (),
        consumers: Sequence[Component] = (),
        components: Sequence[Component] = (),
        resources: Sequence[Resource] = (),
        http: Component | None = None,
        on_start: Sequence[Hook] = (),
        on_stop: Sequence[Hook] = (),
        drain_timeout: float = 25.0,
        handle_signals: bool = True,
    ) -> None:
        self.name = name
        self.brokers = list(brokers)
        self.consumers: list[Component] = list(consumers)
        self.components = list(components)
        self.resources = list(resources)
        self.http = http
        self.on_start = list(on_start)
        self.on_stop = list(on_stop)
        self._hooks = "not run"  # → "starting" → "started" → "stopped"
        self.drain_timeout = drain_timeout
        self.handle_signals = handle_signals
        self.token = CancelToken()
        self.state = State.CREATED
        self.forced = False
        self._force = asyncio.Event()
        self._started = asyncio.Event()
        self._signals = 0
        self._phase = "not started"
        names = [c.name for c in [*self.consumers, *self.components]]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(
                f"component names must be unique; repeated: {', '.join(dupes)}"
            )

    # -- state -----------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Started, not draining, and every consumer consuming."""
        return (
            self.state is State.RUNNING
            and all(c.ready for c in self.consumers)
            and all(c.ready for c in self.components)
        )

    def not_ready_reason(self) -> str:
        """Why ``ready`` is False, in a few words (the ``/readyz`` body says it)."""
        if self.state is State.STARTING and self._phase != "starting consumers":
            return f"starting: {self._phase}"
        waiting = [c.name for c in [*self.consumers, *self.components] if not c.ready]
        if self.state is State.STARTING:
            return "starting: waiting for " + (", ".join(waiting) or "the last steps")
        if self.state is State.RUNNING:
            return "not consuming: " + (", ".join(waiting) or "none")
        return str(self.state.value)

    def consumer(self, name: str) -> Component:
        for c in self.consumers:
            if c.name == name:
                return c
        raise KeyError(f"no consumer named {name!r}")

    async def wait_started(self) -> None:
        await self._started.wait()

    def shutdown(self, *, force: bool = False) -> None:
        """Begin a graceful shutdown; ``force`` (or a second call) skips the drain."""
        if self.token.cancelled or force:
            self.forced = True
            self._force.set()
        self.token.cancel("shutdown")

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals == 1:
            log.info(
                "%s: %s received; draining (send it again to stop at once)",
                self.name,
                name,
            )
            self.shutdown()
        else:
            log.warning("%s: second %s received; skipping the drain", self.name, name)
            self.shutdown(force=True)

    # -- running ---------------------------------------------------------------

    def run(self) -> int:
        """Run until shut down; return the process exit status."""
        return asyncio.run(self.serve())

    async def serve(self) -> int:
        """Start everything, wait for a shutdown request, stop everything; return the exit status."""
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        if self.handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._on_signal, sig)
                installed.append(sig)
        try:
            try:
                await self._start()
            except Exception as failure:
                exc = first_error(failure)
                log.error(
                    "%s: start-up failed: %s: %s", self.name, type(exc).__name__, exc
                )
                await self._stop_all()
                return EXIT_START_FAILED
            await self.token.wait()
            return await self._shutdown()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def _all_components(self) -> list[Component]:
        http = [self.http] if self.http is not None else []
        return [*self.consumers, *self.components, *http]

    async def _start(self) -> None:
        began = time.monotonic()
        self.state = State.STARTING
        if isinstance(self.http, Probed):
            self.http.bind(
                lambda: self.ready,
                lambda: exposition(self),
                reason=self.not_ready_reason,
                started=self._started.is_set,
            )
        if self.http is not None:
            self._phase = "starting http"
            await self.http.start()
        self._phase = "opening resources"
        for resource in self.resources:
            await resource.open()
        self._phase = "connecting brokers " + ", ".join(b.name for b in self.brokers)
        await together(broker.connect() for broker in self.brokers)
        await self._start_hooks()
        self._phase = "starting consumers"
        await together(c.start() for c in self.consumers)
        # Then the rest (schedules): a schedule's first fire may publish to a source
        # a consumer here reads, which must be subscribed by then.
        await together(c.start() for c in self.components)
        self.state = State.RUNNING
        self._phase = "started"
        self._started.set()
        log.info(
            "%s: started in %.2fs (%d consumer(s), %d component(s), http=%s)",
            self.name,
            time.monotonic() - began,
            len(self.consumers),
            len(self.components),
            self.http is not None,
        )

    async def _start_hooks(self) -> None:
        """The ``on_start`` hooks in order, once per process; the first failure
        fails the start."""
        if self._hooks != "not run":
            raise RuntimeError(f"{self.name}: the on_start hooks have run already")
        self._hooks = "starting"
        for hook in self.on_start:
            name = hook_name(hook)
            self._phase = f"on_start hook {name}"
            try:
                await hook()
            except Exception as exc:
                log.exception("%s: on_start hook %s failed", self.name, name)
                raise HookError(f"on_start hook {name} failed: {exc}") from exc
        self._hooks = "started"

    async def _stop_hooks(self) -> None:
        """The ``on_stop`` hooks in order, once, if every ``on_start`` hook ran;
        a failure is logged and the next hook still runs."""
        if self._hooks != "started":
            return
        self._hooks = "stopped"
        for hook in self.on_stop:
            try:
                await hook()
            except Exception:
                log.exception("%s: on_stop hook %s failed", self.name, hook_name(hook))

    async def _shutdown(self) -> int:
        started = time.monotonic()
        self.state = State.DRAINING
        components = self._all_components()
        for component in components:
            component.stop_intake()
        drained = await self._drain(components)
        if not drained:
            self.forced = True
            for component in components:
                await component.force()
        await self._stop_all()
        took = time.monotonic() - started
        log.info(
            "%s: stopped in %.2fs, drain %s; %s",
            self.name,
            took,
            "complete" if drained else "forced",
            self.summary(),
        )
        return EXIT_OK if drained else EXIT_FORCED

    def summary(self) -> str:
        """Counts over every consumer, for the one shutdown line."""
        totals: dict[str, int] = {}
        for component in [*self.consumers, *self.components]:
            stats = getattr(component, "stats", None)
            if stats is None:
                continue
            for key in (
                "received",
                "acked",
                "requeued",
                "retried",
                "dead_lettered",
                "errors",
                "timeouts",
                "released",
            ):
                totals[key] = totals.get(key, 0) + int(getattr(stats, key, 0))
        return " ".join(f"{k}={v}" for k, v in totals.items()) or "no consumers"

    async def _drain(self, components: list[Component]) -> bool:
        if self._force.is_set():
            return False
        timeout = self.drain_timeout
        drains: asyncio.Future[list[bool]] = asyncio.gather(
            *(c.drain(timeout) for c in components)
        )
        force: asyncio.Future[Any] = asyncio.ensure_future(self._force.wait())
        try:
            waiting: list[asyncio.Future[Any]] = [drains, force]
            done, _ = await asyncio.wait(
                waiting,
                return_when=asyncio.FIRST_COMPLETED,
                timeout=timeout + 1.0,
            )
        finally:
            force.cancel()
        if drains not in done:
            drains.cancel()
            await asyncio.gather(drains, return_exceptions=True)
            return False
        return all(drains.result())

    async def _stop_all(self) -> None:
        await self._stop_hooks()
        self.state = State.STOPPED
        for component in reversed(self._all_components()):
            try:
                await component.close()
            except Exception:
                log.exception("%s: closing %s failed", self.name, component.name)
        for broker in reversed(self.brokers):
            try:
                await broker.close()
            except Exception:
                log.exception("%s: closing broker %s failed", self.name, broker.name)
        for resource in reversed(self.resources):
            try:
                await resource.close()
            except Exception:
                log.exception(
                    "%s: closing resource %s failed", self.name, resource.name
                )


class HookError(Exception):
    """An ``on_start`` hook raised: the start fails (its cause is the hook's error)."""


async def together(steps: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run ``steps`` concurrently; the first failure cancels the others and is raised
    (as an ``ExceptionGroup``; ``first_error`` unwraps it)."""
    async with asyncio.TaskGroup() as group:
        for step in steps:
            group.create_task(step)


def first_error(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (``together``'s failures), else ``exc``."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
