"""Aliases and Protocols shared across the runtime: the seams components plug into."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

Readiness = Callable[[], bool]
"""True when the service can take work: started, consuming, not draining."""


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
