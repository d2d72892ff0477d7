"""The message a handler receives, the header names the runtime writes, and the
one place any header is made valid for every broker (``safe_headers``)."""

from __future__ import annotations

import math
import re
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
DLQ_ID: Final = "x-svcgen-dead-letter-id"
"""A unique id the runtime stamps on every dead letter (``svcgen dlq`` selects by it
where the broker has no position of its own)."""
REPLAY_GROUP: Final = "x-svcgen-replay-group"
"""The consumer group a replayed dead letter is for (``svcgen dlq replay``): on a
broker where several groups read the source (Kafka, NATS, MQTT shared topics), a
consumer of another group acks it without handling it."""
ERROR_MESSAGE_LIMIT: Final = 512

HEADER_VALUE_LIMIT: Final = 4096
"""UTF-8 bytes a header value keeps (longer ones end in ``…``): far below every
broker's own bound (MQTT strings 64 KiB, AMQP frames 128 KiB, NATS and Kafka 1 MiB
messages)."""
HEADER_NAME_LIMIT: Final = 255
"""UTF-8 bytes a header name keeps: AMQP field-table names are short strings."""
HEADERS_TOTAL_LIMIT: Final = 65536
"""UTF-8 bytes of all names and values together; headers past it are dropped (the
runtime's own first), so the headers fit one AMQP frame and any broker's packet."""
ELLIPSIS: Final = "…"


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


def due_header(now: float, after: float) -> str:
    """The ``x-svcgen-due`` value for ``after`` seconds past ``now`` (Unix seconds).

    Written in milliseconds and rounded up, so the header is never earlier than
    the delay it stands for.
    """
    return f"{math.ceil((now + after) * 1000.0) / 1000.0:.3f}"


def attempt_from_headers(headers: Mapping[str, str], default: int = 1) -> int:
    """Read the runtime's attempt header; fall back to ``default`` when absent or bad."""
    raw = headers.get(ATTEMPT_HEADER)
    if raw is None:
        return default
    try:
        return max(int(raw), 1)
    except ValueError:
        return default


def _unsafe_pattern() -> re.Pattern[str]:
    # What some broker refuses or mangles in a header: C0/C1 controls and DEL (MQTT
    # strings, NATS and AMQP lines), lone surrogates (not UTF-8: encoding raises),
    # Unicode non-characters (Mosquitto rejects them as malformed UTF-8).
    planes = "".join(
        f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17)
    )
    return re.compile(
        rf"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufdd0-\ufdef{planes}]"
    )


_UNSAFE: Final = _unsafe_pattern()
_BREAK: Final = r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]"
_LINE_BREAKS: Final = re.compile(rf"[ \t]*(?:{_BREAK}[ \t]*)+")
_NAME_UNSAFE: Final = re.compile(rf"[\s:]|{_UNSAFE.pattern}")
LINE_SEPARATOR: Final = " | "
"""What a line break in a header value becomes: the lines stay readable on one."""


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\t":
        return " "
    return char.encode("unicode_escape").decode("ascii")


def _bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes on a character boundary, ending in ``…``."""
    if len(text) * 4 <= limit:
        return text  # fits whatever the characters are: skip the encode
    raw = text.encode()
    if len(raw) <= limit:
        return text
    cut = raw[: limit - len(ELLIPSIS.encode())].decode("utf-8", "ignore")
    return cut + ELLIPSIS


def safe_text(text: str, limit: int = HEADER_VALUE_LIMIT) -> str:
    """``text`` as a header value every broker takes, still readable.

    Line breaks (with the blanks around them) become `` | ``, a tab a space; other
    control characters, lone surrogates and non-characters become visible escapes
    (``\\x00``, ``\\udcff``); the result is cut to ``limit`` UTF-8 bytes with ``…``.
    """
    # isprintable() is false for every character _UNSAFE matches (controls, line
    # separators, surrogates, unassigned code points) and costs far less.
    if not text.isprintable() and _UNSAFE.search(text) is not None:
        text = _LINE_BREAKS.sub(LINE_SEPARATOR, text)
        text = _UNSAFE.sub(_escape, text)
    return _bounded(text, limit)


def safe_headers(
    headers: Mapping[str, str] | None, key: tuple[str, str | None] | None = None
) -> dict[str, str]:
    """A copy of ``headers`` that every broker accepts as it is.

    Every adapter's publish, republish and dead-letter path sends its headers
    through here, so one message is valid on each: values through ``safe_text``;
    names also lose whitespace and ``:`` (NATS headers are ``Name: value`` lines)
    and are cut to ``HEADER_NAME_LIMIT`` bytes; past ``HEADERS_TOTAL_LIMIT`` bytes
    the rest are dropped, the runtime's own ``x-svcgen-`` headers kept first.

    Args:
        headers: string headers (values need not be valid UTF-8 or one line).
        key: ``(header name, key)`` for adapters that carry the key in a header;
            added when the key is not None.
    """
    out: dict[str, str] = {}
    if headers:
        size = 0
        for name, value in headers.items():
            # Short printable headers (nearly all) pass as they are, cheaply.
            if (
                len(name) * 4 > HEADER_NAME_LIMIT
                or not name.isprintable()
                or " " in name
                or ":" in name
            ):
                name = safe_text(_NAME_UNSAFE.sub("_", name), HEADER_NAME_LIMIT)
            if (
                not isinstance(value, str)
                or len(value) * 4 > HEADER_VALUE_LIMIT
                or not value.isprintable()
            ):
                value = safe_text(str(value))
            out[name] = value
            size += len(name) + len(value)
        if size * 4 > HEADERS_TOTAL_LIMIT:
            out = _within_total(out)
    if key is not None and key[1] is not None:
        out[key[0]] = safe_text(key[1])
    return out


def _within_total(headers: dict[str, str]) -> dict[str, str]:
    """The headers that fit HEADERS_TOTAL_LIMIT, the runtime's own first."""
    out: dict[str, str] = {}
    total = 0
    for name, value in sorted(headers.items(), key=_own_first):
        size = len(name.encode()) + len(value.encode())
        if total + size <= HEADERS_TOTAL_LIMIT:
            total += size
            out[name] = value
    return out


def _own_first(item: tuple[str, str]) -> bool:
    return not item[0].startswith("x-svcgen-")
