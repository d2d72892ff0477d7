"""Dead letters a consumer set aside: list them, read one, send them back, purge.

``svcgen dlq`` opens a ``DeadLetterQueue`` on one consumer's dead-letter destination
(``open_dead_letters``) and calls it; each broker kind has its module here, tested
against its real broker. What every kind shares is in this module: the record of one
dead letter (its ``x-svcgen-*`` headers read), the headers a replayed message
carries, and the pace of a replay.

A replay sends a dead letter back to the consumer's source and removes it from the
dead-letter destination only after the broker confirmed the send, so a replay
interrupted at any point (even SIGKILL) loses nothing: run again, it sends what is
left, and at most the one message in flight arrives twice.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from .. import message as m

REPLAYED_PREFIX: Final = "x-svcgen-replayed-"
"""A replayed message keeps the dead-letter headers it had under this prefix
(``x-svcgen-reason`` → ``x-svcgen-replayed-reason``), so the handler and a later
dead letter can tell it was replayed and why it had failed."""
REPLAYED_AT: Final = "x-svcgen-replayed-at"
"""Unix time of the replay."""
REPLAY_COUNT: Final = "x-svcgen-replay-count"
"""How many times this message was replayed (1 on the first replay)."""

_DEAD_LETTER_HEADERS: Final = (
    m.DLQ_SOURCE,
    m.DLQ_ATTEMPTS,
    m.DLQ_CONSUMER,
    m.DLQ_ERROR_TYPE,
    m.DLQ_ERROR_MESSAGE,
    m.DLQ_FAILED_AT,
    m.DLQ_REASON,
    m.DLQ_ID,
)
_RESET_HEADERS: Final = (
    m.ATTEMPT_HEADER,
    m.DUE_HEADER,
    m.DEFERRED_HEADER,
    m.REPLAY_GROUP,
)
"""Headers a replay drops: the attempt count starts again, nothing is deferred."""


@dataclass(frozen=True, slots=True)
class DeadLetterPlace:
    """Where one consumer's dead letters are, and where a replay sends them.

    Attributes:
        consumer: the consumer's name (its dead letters carry it in
            ``x-svcgen-consumer``).
        dead_letter: the dead-letter destination (topic, queue, subject, stream).
        source: the consumer's source, where a replay sends a dead letter back;
            a dead letter whose ``x-svcgen-original-source`` names another address
            (a wildcard source) goes back there.
        group: the consumer's group.
        options: the consumer's broker options, as its subscription gets them
            (NATS ``dead_letter_stream``, RabbitMQ ``queue_type``, ...).
    """

    consumer: str
    dead_letter: str
    source: str
    group: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead letter as the broker holds it.

    Attributes:
        id: what ``show``, ``replay`` and ``purge`` select it by: the broker's own
            position where it has one (Kafka ``partition:offset``, a Redis entry
            id, a JetStream sequence), else the ``x-svcgen-dead-letter-id`` the
            runtime stamps on every dead letter.
        body: the payload as it was.
        headers: every header, the runtime's ``x-svcgen-*`` ones included.
        key: the message key, where the broker has one.
    """

    id: str
    body: bytes
    headers: Mapping[str, str]
    key: str | None = None

    @property
    def failed_at(self) -> float | None:
        """Unix time it was dead-lettered (None when no svcgen runtime did it)."""
        return _number(self.headers.get(m.DLQ_FAILED_AT))

    @property
    def reason(self) -> str | None:
        """``exhausted``, ``rejected``, ``poison``, ... (``x-svcgen-reason``)."""
        return self.headers.get(m.DLQ_REASON)

    @property
    def attempts(self) -> int | None:
        """Handler attempts made before it was dead-lettered."""
        value = _number(self.headers.get(m.DLQ_ATTEMPTS))
        return None if value is None else int(value)

    @property
    def error_type(self) -> str | None:
        return self.headers.get(m.DLQ_ERROR_TYPE)

    @property
    def error_message(self) -> str | None:
        return self.headers.get(m.DLQ_ERROR_MESSAGE)

    def target(self, place: DeadLetterPlace) -> str:
        """Where a replay sends it: the address it was read from, else the source."""
        return self.headers.get(m.DLQ_SOURCE) or place.source

    def summary(self) -> dict[str, Any]:
        """The fields ``svcgen dlq list`` prints (and ``--json`` writes)."""
        return {
            "id": self.id,
            "failed_at": self.failed_at,
            "reason": self.reason,
            "attempts": self.attempts,
            "error_type": self.error_type,
            "error_message": self.error_message,
        }


def replay_headers(
    letter: DeadLetter, *, group: str | None = None, now: float | None = None
) -> dict[str, str]:
    """The headers a replayed ``letter`` is sent with.

    The message's own headers stay as they were; the attempt count starts again
    (the attempt, due and deferral headers are dropped); the dead-letter headers
    move under ``x-svcgen-replayed-`` and the replay's time and count are added.
    ``group`` (the consumer's group) goes in ``x-svcgen-replay-group``: consumers of
    other groups reading the same source ack the message without handling it.
    """
    headers = {
        name: value
        for name, value in letter.headers.items()
        if name not in _DEAD_LETTER_HEADERS and name not in _RESET_HEADERS
    }
    for name in _DEAD_LETTER_HEADERS:
        if name in letter.headers:
            headers[REPLAYED_PREFIX + name.removeprefix("x-svcgen-")] = letter.headers[
                name
            ]
    previous = _number(letter.headers.get(REPLAY_COUNT)) or 0
    headers[REPLAY_COUNT] = str(int(previous) + 1)
    headers[REPLAYED_AT] = f"{time.time() if now is None else now:.3f}"
    if group is not None:
        headers[m.REPLAY_GROUP] = group
    return m.safe_headers(headers)


class Pace:
    """At most ``rate`` sends a second (None or <= 0: no limit), evenly spaced."""

    def __init__(
        self, rate: float | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = 1.0 / rate if rate and rate > 0 else 0.0
        self._clock = clock
        self._next = 0.0

    async def wait(self) -> None:
        """Return when the next send may go."""
        if not self._interval:
            return
        now = self._clock()
        if self._next > now:
            await asyncio.sleep(self._next - now)
            now = self._next
        self._next = max(now, self._next) + self._interval


class DeadLetterQueue(Protocol):
    """One consumer's dead letters on one broker (``open_dead_letters`` makes it)."""

    async def list(self, limit: int | None = None) -> list[DeadLetter]:
        """The dead letters, oldest first (at most ``limit``), none removed."""
        ...

    async def replay(
        self,
        ids: Collection[str] | None,
        *,
        rate: float | None = None,
        sent: Callable[[DeadLetter], None] | None = None,
    ) -> int:
        """Send the dead letters with these ids (None: all) back to their source
        with ``replay_headers``, at most ``rate`` a second; each is removed from
        the dead-letter destination only after the broker confirmed its send, then
        ``sent`` is called with it. Returns how many were sent. An id that is not
        there raises ``DeadLetterNotFound`` before anything is sent."""
        ...

    async def purge(self, ids: Collection[str] | None) -> int:
        """Remove the dead letters with these ids (None: all); how many went."""
        ...

    async def close(self) -> None: ...


async def open_dead_letters(
    kind: str, url: str, place: DeadLetterPlace
) -> DeadLetterQueue:
    """Connect to a ``kind`` broker at ``url`` and open ``place``'s dead letters.

    Each kind's module (``svcgen_runtime.deadletters.<kind>``) has
    ``async def open_queue(url, place) -> DeadLetterQueue``; its client library is
    the kind's extra (``svcgen-runtime[kafka]``, ...).
    """
    module = importlib.import_module(f"{__name__}.{kind}")
    queue: DeadLetterQueue = await module.open_queue(url, place)
    return queue


class DeadLetterNotFound(LookupError):
    """An id given to ``show``, ``replay`` or ``purge`` is not a dead letter there."""


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


__all__ = [
    "REPLAYED_AT",
    "REPLAYED_PREFIX",
    "REPLAY_COUNT",
    "DeadLetter",
    "DeadLetterNotFound",
    "DeadLetterPlace",
    "DeadLetterQueue",
    "Pace",
    "open_dead_letters",
    "replay_headers",
]
