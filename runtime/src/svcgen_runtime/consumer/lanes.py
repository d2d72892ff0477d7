"""Per-key ordering lanes: with ``ordering`` ``key`` or ``partition``, the messages of
one key (or one source partition) run one at a time, in fetch order.

A worker that takes a delivery whose lane is free claims the lane, runs it, then
runs whatever other workers queued behind it in the lane (``next``), and frees the
lane when it is empty; a worker that finds the lane taken queues the delivery there
and goes back to the inbox. Other keys keep every other worker busy meanwhile.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Hashable

from ..brokers.base import Ordering
from ..message import InboundMessage
from .inbox import Delivery


def _message_key(msg: InboundMessage) -> Hashable:
    return msg.key


def _partition_key(msg: InboundMessage) -> Hashable:
    position = msg.position
    if "partition" in position:
        # A source partition and its retry topic's partition of the same number
        # are separate logs: separate lanes.
        return (position.get("topic"), position["partition"])
    return msg.key


class Lanes:
    """The busy lanes of one consumer: key → deliveries waiting behind the running one."""

    __slots__ = ("_busy", "key")

    def __init__(self, ordering: Ordering) -> None:
        self._busy: dict[Hashable, collections.deque[Delivery]] = {}
        self.key: Callable[[InboundMessage], Hashable] = (
            _partition_key if ordering == "partition" else _message_key
        )
        """The lane a message belongs to."""

    def claim(self, key: Hashable, delivery: Delivery) -> bool:
        """True when lane ``key`` was free and is now the caller's to run;
        otherwise ``delivery`` waits in it."""
        waiting = self._busy.get(key)
        if waiting is not None:
            waiting.append(delivery)
            return False
        self._busy[key] = collections.deque()
        return True

    def next(self, key: Hashable) -> Delivery | None:
        """The next delivery waiting in the caller's lane; None frees the lane."""
        waiting = self._busy[key]
        if waiting:
            return waiting.popleft()
        del self._busy[key]
        return None

    def take_all(self) -> list[Delivery]:
        """Every waiting delivery (a forced shutdown releases them); the lanes empty."""
        waiting = [delivery for lane in self._busy.values() for delivery in lane]
        self._busy.clear()
        return waiting
