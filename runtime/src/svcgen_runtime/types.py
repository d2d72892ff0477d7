"""Aliases and Protocols shared across the runtime: the seams components plug into."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

Readiness = Callable[[], bool]
"""True when the service can take work: started, consuming, not draining."""

Exposition = Callable[[], Awaitable[bytes]]
"""What a server calls to answer ``/metrics``."""

Reason = Callable[[], str]
"""Why the service is not ready, in a few words (the body of a 503 ``/readyz``)."""

Started = Callable[[], bool]
"""True once the service has started: until then user routes answer 503."""


@runtime_checkable
class Component(Protocol):
    """Something the Application starts, drains and stops: consumers, task workers,
    schedules, HTTP servers. The Application calls, in order: ``start``;
    on shutdown ``stop_intake``, ``drain(timeout)``, ``force`` (only when the drain
    did not finish), ``close``."""

    name: str

    @property
    def ready(self) -> bool: ...

    async def start(self) -> None: ...

    def stop_intake(self) -> None: ...

    async def drain(self, timeout: float) -> bool: ...

    async def force(self) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class Resource(Protocol):
    """Something opened before any component starts and closed after all have stopped
    (cache, database, storage)."""

    name: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class Probed(Protocol):
    """A server that answers ``/readyz`` and ``/metrics`` (the HTTP server, the
    HealthServer): the Application binds both when it starts, before the server
    starts (it starts first, so ``/healthz`` answers while the rest starts)."""

    def bind(
        self,
        readiness: Readiness,
        metrics: Exposition,
        *,
        reason: Reason | None = None,
        started: Started | None = None,
    ) -> None: ...


class Service(Protocol):
    """What ``svcgen_runtime.metrics`` reads of a running service (an Application)."""

    @property
    def name(self) -> str: ...

    @property
    def ready(self) -> bool: ...

    @property
    def consumers(self) -> Sequence[Component]: ...
