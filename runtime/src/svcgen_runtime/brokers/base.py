"""The seam every broker adapter implements: a Broker that makes Subscriptions.

An adapter only *translates*: the consume loop (``svcgen_runtime.consumer``) owns
concurrency, timeouts, the retry policy and dead-letter decisions, and calls one of
the Subscription's settle methods per delivery. The contract every adapter keeps:

* ``subscribe`` declares the topology idempotently (source, consumer group/durable,
  dead-letter and retry/delay destinations) and returns a Subscription whose broker
  prefetch/``max_ack_pending``/``COUNT`` is bounded by ``spec.concurrency``.
* ``fetch(n, timeout)`` returns at most ``n`` deliveries, waiting up to ``timeout``
  seconds for the first; ``[]`` on timeout. It is cancellation-safe: a delivery taken
  from the broker but not returned stays redeliverable. A lost connection raises
  ``BrokerConnectionError``; the loop then backs off and subscribes again.
* ``ack`` / ``requeue`` / ``retry`` / ``dead_letter`` / ``release`` settle one delivery.
  Any republish (retry topic, delay queue, dead-letter destination) is confirmed by the
  broker *before* the original is acknowledged. ``release`` never acknowledges: the
  broker must deliver the message again (it is used for handlers cancelled by a forced
  shutdown, and for a delivery whose settle failed).
* ``close`` flushes pending acknowledgements/commits and stops intake; unsettled
  deliveries stay unacknowledged so the broker redelivers them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

from ..errors import ConfigurationError
from ..message import InboundMessage

Ordering: TypeAlias = Literal["none", "key", "partition"]


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """What a consumer asks of its broker.

    Attributes:
        consumer: the consumer's name (used for consumer tags, DLQ headers, logs).
        source: topic / queue / subject / stream to read.
        group: consumer group / durable name / queue name shared by replicas.
        concurrency: handlers in flight at most; bounds the broker-side prefetch.
        dead_letter: where dead letters go; ``None`` drops them after logging.
        ordering: ``key`` or ``partition`` keeps per-key order (the loop enforces it).
        ack_wait: seconds the broker waits for a settle before redelivering, where
            the broker has such a timer (NATS ``ack_wait``, Redis claim idle time).
        options: adapter-specific settings, named in each adapter's docstring.
    """

    consumer: str
    source: str
    group: str
    concurrency: int = 1
    dead_letter: str | None = None
    ordering: Ordering = "none"
    ack_wait: float = 30.0
    options: Mapping[str, Any] = field(default_factory=dict)

    def check_options(self, kind: str, known: frozenset[str]) -> None:
        """Refuse an option the ``kind`` adapter does not know, naming those it does."""
        unknown = sorted(set(self.options) - known)
        if unknown:
            raise ConfigurationError(
                f"consumer {self.consumer!r}: unknown {kind} option(s) "
                f"{', '.join(unknown)}; use {', '.join(sorted(known))}"
            )


@runtime_checkable
class Subscription(Protocol):
    """One consumer's live attachment to a source."""

    heartbeat_interval: float | None
    """When set, the loop calls ``in_progress`` at this interval while a handler runs."""

    async def fetch(
        self, max_messages: int, timeout: float
    ) -> Sequence[InboundMessage]: ...

    async def ack(self, msg: InboundMessage) -> None: ...

    async def requeue(self, msg: InboundMessage) -> None:
        """Deliver again soon with ``delivery_count + 1``."""

    async def retry(self, msg: InboundMessage, after: float) -> None:
        """Deliver again no sooner than ``after`` seconds, with ``delivery_count + 1``."""

    async def dead_letter(
        self, msg: InboundMessage, headers: Mapping[str, str]
    ) -> None:
        """Publish to the dead-letter destination (confirmed), then settle the original."""

    async def release(self, msg: InboundMessage, *, stopping: bool = True) -> None:
        """Give the delivery back unacknowledged so the broker redelivers it.

        ``stopping``: the consumer is shutting down (the adapter may stop intake
        first); False after a failed settle, when the consumer goes on consuming.
        """

    async def in_progress(self, msg: InboundMessage) -> None:
        """Tell the broker the handler is still working (extends its ack timer)."""

    async def close(self) -> None: ...


@runtime_checkable
class Broker(Protocol):
    """A named connection to one broker."""

    name: str
    kind: str

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    @property
    def connected(self) -> bool: ...

    async def publish(
        self,
        target: str,
        body: bytes,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish one message and wait for the broker to confirm it."""

    async def subscribe(self, spec: SubscriptionSpec) -> Subscription: ...
