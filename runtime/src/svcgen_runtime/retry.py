"""The one retry policy every adapter shares: attempts, backoff, and what to do next."""

from __future__ import annotations

import enum
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from . import message as m
from .outcome import Ack, Nack, Outcome, Retry


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how late a failed message is tried again.

    Args:
        max_attempts: deliveries allowed, counting the first; the next failure
            dead-letters the message.
        initial: backoff before the second attempt, in seconds.
        max: upper bound of any backoff, in seconds.
        jitter: full jitter (a uniform draw in ``[0, backoff]``) when true.
        backoff: ``exponential`` doubles per attempt, ``constant`` keeps ``initial``.
    """

    max_attempts: int = 3
    initial: float = 1.0
    max: float = 60.0
    jitter: bool = True
    backoff: Literal["exponential", "constant"] = "exponential"

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial < 0 or self.max < 0:
            raise ValueError("backoff durations must not be negative")

    def delay(self, attempt: int) -> float:
        """Backoff after the ``attempt``-th delivery failed (attempt starts at 1)."""
        if self.backoff == "constant":
            ceiling = min(self.max, self.initial)
        else:
            # The exponent is bounded: 2.0 ** 1024 overflows, and a backoff that
            # counts failures in a row (a lost broker) can reach such an attempt.
            doublings = min(max(attempt - 1, 0), 1000)
            ceiling = min(self.max, self.initial * 2.0**doublings)
        return random.uniform(0.0, ceiling) if self.jitter else ceiling


class Action(enum.Enum):
    ACK = "ack"
    REQUEUE = "requeue"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"
    DEFER = "defer"
    """Not due yet: hand it back until its due time; not an attempt."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What the consume loop asks the adapter to do with a delivery."""

    action: Action
    after: float = 0.0
    reason: str = ""
    error: BaseException | None = None


ACK_DECISION: Decision = Decision(Action.ACK)


def decide(
    policy: RetryPolicy,
    delivery_count: int,
    outcome: Outcome | None = None,
    error: BaseException | None = None,
) -> Decision:
    """Turn a handler's outcome (or its exception/timeout) into one adapter action."""
    if error is not None:
        return _again(
            policy, delivery_count, policy.delay(delivery_count), error, "error"
        )
    if outcome is None or isinstance(outcome, Ack):
        return ACK_DECISION
    if isinstance(outcome, Nack):
        if not outcome.requeue:
            return Decision(Action.DEAD_LETTER, reason="rejected")
        if delivery_count >= policy.max_attempts:
            return Decision(Action.DEAD_LETTER, reason="exhausted")
        return Decision(Action.REQUEUE, reason="requeued")
    if isinstance(outcome, Retry):
        return _again(policy, delivery_count, outcome.after, None, "retry")
    raise TypeError(
        f"a handler returned {outcome!r}; return Ack(), Nack(requeue=...), Retry(after=...) "
        "or None"
    )


def _again(
    policy: RetryPolicy,
    delivery_count: int,
    after: float,
    error: BaseException | None,
    reason: str,
) -> Decision:
    if delivery_count >= policy.max_attempts:
        return Decision(Action.DEAD_LETTER, reason="exhausted", error=error)
    return Decision(Action.RETRY, after=after, reason=reason, error=error)


def dead_letter_headers(
    msg: m.InboundMessage,
    *,
    consumer: str,
    reason: str,
    error: BaseException | None,
    now: float | None = None,
    attempts: int | None = None,
) -> dict[str, str]:
    """Headers that say where a dead letter came from and why it failed.

    ``attempts`` is the handler attempts made (deliveries spent waiting for a due
    time excluded); it defaults to the delivery count.
    """
    headers = dict(msg.headers)
    error_type = type(error).__name__ if error is not None else reason
    # One readable line: a multi-line error text (pydantic's) is no valid header
    # value on MQTT or NATS, and a header the broker refuses loses the dead letter.
    error_message = m.safe_text(str(error)) if error is not None else reason
    if len(error_message) > m.ERROR_MESSAGE_LIMIT:
        error_message = error_message[: m.ERROR_MESSAGE_LIMIT - 1] + "…"
    headers.update(
        {
            m.DLQ_SOURCE: msg.source,
            m.DLQ_ATTEMPTS: str(msg.delivery_count if attempts is None else attempts),
            m.DLQ_CONSUMER: consumer,
            m.DLQ_ERROR_TYPE: error_type,
            m.DLQ_ERROR_MESSAGE: error_message,
            m.DLQ_FAILED_AT: f"{time.time() if now is None else now:.3f}",
            m.DLQ_REASON: reason,
            m.DLQ_ID: uuid.uuid4().hex,
        }
    )
    return headers


def next_attempt_headers(
    headers: Mapping[str, str], delivery_count: int
) -> dict[str, str]:
    """Headers for a republished copy: the attempt counter moves to the next delivery."""
    out = dict(headers)
    out[m.ATTEMPT_HEADER] = str(delivery_count + 1)
    return out
