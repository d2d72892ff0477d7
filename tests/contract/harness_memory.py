"""The memory broker's harness: the in-process baseline the real brokers are held to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from svcgen_runtime.brokers.base import Broker
from svcgen_runtime.brokers.memory import MemoryBroker

from .harness import unique


class Harness:
    kind = "memory"
    supports_crash = False

    def __init__(self) -> None:
        self._shared = MemoryBroker("test")
        self._brokers: list[MemoryBroker] = []

    def broker(self, name: str = "test") -> Broker:
        # Every "connection" reaches the same in-process broker state, as clients of
        # one server would.
        return _Connection(self._shared)

    def source(self, prefix: str) -> str:
        return unique(prefix)

    def consumer_options(self) -> Mapping[str, Any]:
        return {}

    def ack_wait(self) -> float:
        return 2.0

    async def cut_connections(self) -> None:
        await self._shared.close()
        await self._shared.connect()

    async def refuse_publishes(self, target: str) -> bool:
        return False  # no server-side refusal to set up: the test fakes one

    async def cleanup(self) -> None:
        return None


class _Connection(MemoryBroker):
    """A handle on a shared MemoryBroker, so publishers and consumers meet."""

    def __init__(self, shared: MemoryBroker) -> None:
        super().__init__(shared.name)
        self._topics = shared._topics
        self._shared = shared

    @property
    def connected(self) -> bool:
        return self._connected and self._shared.connected

    async def connect(self) -> None:
        self._connected = True
        await self._shared.connect()
