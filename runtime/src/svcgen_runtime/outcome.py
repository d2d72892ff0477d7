"""What a handler returns: Ack, Nack(requeue) or Retry(after)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Ack:
    """The message is done; the broker may forget it."""


@dataclass(frozen=True, slots=True)
class Nack:
    """The handler refused the message.

    ``requeue=True`` redelivers it (its delivery_count grows, and it is
    dead-lettered once ``max_attempts`` is reached); ``requeue=False`` sends it
    to the dead-letter destination now.
    """

    requeue: bool = True


@dataclass(frozen=True, slots=True)
class Retry:
    """Deliver the message again, no sooner than ``after`` seconds from now."""

    after: float

    def __post_init__(self) -> None:
        if self.after < 0:
            raise ValueError(f"Retry(after={self.after}) must not be negative")


Outcome: TypeAlias = Ack | Nack | Retry
