"""``Dedupe``: run a consumer's handler at most once per message key, in one database
transaction with the key's record.

The handler runs inside ``database.transaction()`` whose first statement records
the key (``INSERT ... ON CONFLICT DO NOTHING``). A duplicate arriving while the first
is still running waits on that row's lock, then sees the conflict (the first
committed) or inserts (the first rolled back). The transaction commits before the
consume loop acks the delivery, so a crash between the two redelivers a message
whose key is recorded: it is then acked without running the handler.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from ..errors import ConfigurationError, PoisonMessage
from ..message import InboundMessage
from ..outcome import Ack, Outcome
from ..resources.database.base import DatabaseError, Queries
from .store import MESSAGE_ID_HEADER, Effects

log = logging.getLogger(__package__)

T = TypeVar("T")
Handler = Callable[[T, InboundMessage], Awaitable[Outcome | None]]

DEFAULT_KEY: Final = f"header:{MESSAGE_ID_HEADER}"
DEFAULT_WINDOW: Final = 7 * 24 * 3600.0
KEY_LIMIT: Final = 1000
"""The longest key accepted, in characters (a longer one is poison)."""
_KEY: Final = re.compile(r"^(header|body):([A-Za-z0-9_.\-]{1,200})$")


class DedupeKeyError(PoisonMessage):
    """A message has no usable dedupe key: it is dead-lettered at once as poison,
    since running it could not be made at-most-once."""


class _Rollback(Exception):
    """Raised inside the transaction to undo it when the handler asked for a retry."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


async def _still_committable(tx: Queries, consumer: str) -> None:
    """Fail unless the transaction can commit. A statement that failed in it (an
    error the handler caught) aborts it, and PostgreSQL answers COMMIT of an aborted
    transaction with a silent rollback: the message would be acked with its key and
    work undone. One more statement raises instead, and the message is retried."""
    try:
        await tx.execute("SELECT 1")
    except DatabaseError as exc:
        raise DatabaseError(
            f"consumer {consumer!r}: a statement of the handler failed and its error "
            "was caught, which aborts the message's transaction (nothing is kept): "
            "catch database errors around `async with db.transaction()`, a savepoint "
            "that undoes only its own statements"
        ) from exc


class Dedupe:
    """A consumer's dedupe: ``Consumer(..., dedupe=Dedupe(effects=..., key=...))``.

    Args:
        effects: the service's ``Effects`` (its database holds the keys).
        key: ``header:<name>`` (a message header) or ``body:<field>`` (a top-level
            field of a JSON object body, a string or a number).
        window: seconds a key is remembered after its handler committed; a
            duplicate arriving later runs again.
    """

    def __init__(
        self,
        *,
        effects: Effects,
        key: str = DEFAULT_KEY,
        window: float = DEFAULT_WINDOW,
    ) -> None:
        match = _KEY.match(key)
        if match is None:
            raise ConfigurationError(
                f"dedupe key {key!r} is not 'header:<name>' or 'body:<field>': "
                "write e.g. 'header:svcgen-message-id' or 'body:order_id'"
            )
        if not window > 0:
            raise ConfigurationError(
                f"dedupe window must be positive seconds, got {window!r}"
            )
        self.effects = effects
        self.key = key
        self.source, self.field = match.group(1), match.group(2)
        self.window = float(window)
        self.consumer = ""
        self.recorded = 0
        """Keys recorded (handlers that ran and committed)."""

    @property
    def skipped(self) -> int:
        """Deliveries acked without running the handler: their key was recorded
        (the count ``Effects`` keeps per consumer for ``/metrics``)."""
        return self.effects.skipped.get(self.consumer, 0)

    def key_of(self, msg: InboundMessage) -> str:
        """The message's dedupe key, or ``DedupeKeyError`` saying why there is none."""
        value: object = None
        if self.source == "header":
            headers = msg.headers
            value = headers.get(self.field)
            if value is None:
                lowered = self.field.lower()
                value = next(
                    (v for k, v in headers.items() if k.lower() == lowered), None
                )
        else:
            try:
                body = json.loads(msg.body)
            except (ValueError, UnicodeDecodeError):
                body = None
            if not isinstance(body, dict):
                raise DedupeKeyError(
                    f"consumer {self.consumer!r} dedupes on {self.key!r} but the body "
                    "is not a JSON object: send one, or dedupe on a header"
                )
            value = body.get(self.field)
            if isinstance(value, bool) or not isinstance(value, str | int):
                value = None
        text = "" if value is None else str(value)
        if not text:
            raise DedupeKeyError(
                f"consumer {self.consumer!r} dedupes on {self.key!r} but the message "
                "has none: set it when publishing (or use an outbox publisher, which "
                f"sets {MESSAGE_ID_HEADER})"
            )
        if len(text) > KEY_LIMIT:
            raise DedupeKeyError(
                f"consumer {self.consumer!r}: the dedupe key {self.key!r} is "
                f"{len(text)} characters, more than {KEY_LIMIT}: use a shorter id"
            )
        return text

    def wrap(self, consumer: str, handler: Handler[T]) -> Handler[T]:
        """``handler`` run at most once per key for ``consumer`` (the loop calls this
        once, at construction); registers the window with the expiry pass."""
        if self.consumer and self.consumer != consumer:
            raise ConfigurationError(
                f"one Dedupe serves one consumer; it already serves "
                f"{self.consumer!r}, not {consumer!r}: make one per consumer"
            )
        self.consumer = consumer
        self.effects.windows[consumer] = self.window
        self.effects.skipped.setdefault(consumer, 0)
        insert = (
            f"INSERT INTO {self.effects.table('dedupe')} (consumer, key)"
            " VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        database = self.effects.database

        async def deduped(payload: T, msg: InboundMessage) -> Outcome | None:
            key = self.key_of(msg)
            try:
                async with database.routed_transaction() as tx:
                    if not await tx.execute(insert, consumer, key):
                        self.effects.skipped[consumer] += 1
                        log.debug(
                            "consumer %s: message %s has key %s already done; "
                            "acking it without running the handler",
                            consumer,
                            msg.id,
                            key,
                        )
                        return None
                    outcome = await handler(payload, msg)
                    if outcome is not None and not isinstance(outcome, Ack):
                        raise _Rollback(outcome)  # retried later: not done
                    await _still_committable(tx, consumer)
            except _Rollback as undone:
                return undone.outcome
            self.recorded += 1
            return outcome

        return deduped
