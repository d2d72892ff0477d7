"""The message a handler receives, and the header names the runtime writes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

ATTEMPT_HEADER: Final = "x-svcgen-attempt"
"""Delivery count carried across republishes (retry topics, delay queues, re-adds)."""
DUE_HEADER: Final = "x-svcgen-due"
"""Unix time before which a message must not be handled (retries, delayed tasks)."""
KEY_HEADER: Final = "x-svcgen-key"
"""The message key, for brokers that have no key of their own (AMQP, NATS)."""
DEFERRED_HEADER: Final = "x-svcgen-deferred"
"""Deliveries spent waiting for the due time; they do not count as attempts."""

DLQ_SOURCE: Final = "x-svcgen-original-source"
DLQ_ATTEMPTS: Final = "x-svcgen-attempts"
DLQ_CONSUMER: Final = "x-svcgen-consumer"
DLQ_ERROR_TYPE: Final = "x-svcgen-error-type"
DLQ_ERROR_MESSAGE: Final = "x-svcgen-error-message"
DLQ_FAILED_AT: Final = "x-svcgen-failed-at"
DLQ_REASON: Final = "x-svcgen-reason"
ERROR_MESSAGE_LIMIT: Final = 512


@dataclass(slots=True)
class InboundMessage:
    """One delivery of a message.

    Attributes:
        id: the broker's id for the message (message id, stream id, topic/partition/offset).
        source: the topic, queue, subject or stream it came from.
        body: the raw payload.
        key: the partition/ordering key, when the broker has one.
        headers: string headers (the runtime's own start with ``x-svcgen-``).
        delivery_count: 1 on the first delivery, counting every redelivery.
        timestamp: when the broker received it (Unix seconds), if known.
        position: broker position, e.g. ``{"partition": 0, "offset": 41}``,
            ``{"delivery_tag": 7}``, ``{"stream_id": "1700000000000-0"}``.
        native: the adapter's own handle; not part of the public API.
    """

    id: str
    source: str
    body: bytes
    key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delivery_count: int = 1
    timestamp: float | None = None
    position: Mapping[str, Any] = field(default_factory=dict)
    native: Any = field(default=None, repr=False, compare=False)


def deferrals(headers: Mapping[str, str]) -> int:
    """Deliveries this message spent waiting for its due time (not handler attempts)."""
    raw = headers.get(DEFERRED_HEADER)
    try:
        return max(int(raw), 0) if raw is not None else 0
    except ValueError:
        return 0


def due_in(headers: Mapping[str, str], now: float) -> float:
    """Seconds until the message's due time; 0 when it has none or it has passed."""
    raw = headers.get(DUE_HEADER)
    if raw is None:
        return 0.0
    try:
        return max(float(raw) - now, 0.0)
    except ValueError:
        return 0.0


def attempt_from_headers(headers: Mapping[str, str], default: int = 1) -> int:
    """Read the runtime's attempt header; fall back to ``default`` when absent or bad."""
    raw = headers.get(ATTEMPT_HEADER)
    if raw is None:
        return default
    try:
        return max(int(raw), 1)
    except ValueError:
        return default
