"""What each broker gives the contract suite: a broker factory, names, cleanup, faults.

Every real broker supplies one ``Harness`` in ``tests/contract/harness_<kind>.py``
(class ``Harness``); ``tests/contract/conftest.py`` parametrizes the suite over them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, Protocol

from svcgen_runtime.brokers.base import Broker


def unique(prefix: str) -> str:
    """A name no other test run uses: ``<prefix>-<12 hex>`` (dots/dashes only)."""
    return f"{prefix}-{secrets.token_hex(6)}"


class Harness(Protocol):
    kind: str
    """The broker kind, as in the spec (``kafka``, ``rabbitmq``, ``nats``, ``redis``, ``mqtt``, ``memory``)."""

    supports_crash: bool
    """False only for the in-process memory broker (it dies with its process)."""

    def broker(self, name: str = "test") -> Broker:
        """A new, unconnected Broker talking to the loopback server."""

    def source(self, prefix: str) -> str:
        """A fresh, unique source name valid for this broker (recorded for cleanup)."""

    def consumer_options(self) -> Mapping[str, Any]:
        """Options for ``Consumer(options=...)`` that keep tests fast (short claim idle,
        short session timeouts …)."""

    def ack_wait(self) -> float:
        """``Consumer(ack_wait=...)`` for tests: how soon the broker redelivers an
        unsettled delivery of a dead consumer, where it has such a timer."""

    async def cut_connections(self) -> None:
        """Drop every client connection from the server side (rabbitmqctl
        close_all_connections, CLIENT KILL, restart …)."""

    async def refuse_publishes(self, target: str) -> bool:
        """Make the server refuse every publish to ``target`` (a declared queue,
        subject or stream) from now on; False where the harness has no way to."""

    async def cleanup(self) -> None:
        """Delete every queue/topic/stream/consumer that ``source`` named, with their
        dead-letter and retry destinations."""

    def broker_script(self) -> str:
        """Python source of an expression that builds this broker inside a subprocess
        (e.g. ``RedisBroker(name='test', url='redis://127.0.0.1:6379/0')``), preceded by
        the import lines it needs, as ``'from x import Y\\n' + expression`` split on the
        last line: the crash test runs consumers in a child process."""
