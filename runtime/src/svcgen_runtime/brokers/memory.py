"""In-process broker: the embedded default and the engine of users' fast tests.

It keeps the same state machine as the real brokers, with no server:

| outcome          | memory                                                         |
|------------------|----------------------------------------------------------------|
| Ack              | forget the delivery                                            |
| Nack requeue     | back to the ready queue; the next delivery counts one more     |
| Nack no requeue  | publish to the dead-letter destination, then forget            |
| Retry(after)     | delayed heap keyed by due time; ready again when due           |
| delivery_count   | counted per message on every delivery                          |
| consumer stopped | its unacked deliveries go back to the queue for the next one   |

Each (source, group) pair is a queue: consumers of one group compete, two groups
each receive every message published after they first subscribed (messages
published before any group subscribed wait for the first group).
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from ..errors import BrokerConnectionError
from ..message import InboundMessage, safe_headers
from .base import SubscriptionSpec

_ids = itertools.count(1)


@dataclass(slots=True)
class _Entry:
    id: str
    body: bytes
    key: str | None
    headers: dict[str, str]
    timestamp: float
    deliveries: int = 0


class _Delayed(NamedTuple):
    """A retry waiting in the heap: soonest first, then in the order it came."""

    due: float
    """``time.monotonic()`` seconds."""
    sequence: int
    entry: _Entry


@dataclass(slots=True)
class _Queue:
    ready: collections.deque[_Entry] = field(default_factory=collections.deque)
    delayed: list[_Delayed] = field(default_factory=list)
    """A heap."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def promote_due(self, now: float) -> float | None:
        """Move due entries to ready; return seconds until the next one is due."""
        delayed = self.delayed
        while delayed and delayed[0].due <= now:
            self.ready.append(heapq.heappop(delayed).entry)
        return delayed[0].due - now if delayed else None

    def put(self, entry: _Entry) -> None:
        self.ready.append(entry)
        self.changed.set()


@dataclass(slots=True)
class _Topic:
    groups: dict[str, _Queue] = field(default_factory=dict)
    backlog: _Queue = field(default_factory=_Queue)


OPTIONS: Final[frozenset[str]] = frozenset()
"""The memory broker takes no subscription options (any given are ignored)."""


class MemoryBroker:
    """A broker that lives in this process. ``name`` is the spec's broker name."""

    kind = "memory"

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self._topics: dict[str, _Topic] = collections.defaultdict(_Topic)
        self._connected = False
        self._seq = itertools.count()

    @property
    def connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        self._connected = True

    async def close(self) -> None:
        self._connected = False

    async def publish(
        self,
        target: str,
        body: bytes,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.publish_nowait(target, body, key=key, headers=headers)

    def publish_nowait(
        self,
        target: str,
        body: bytes,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Publish without awaiting (the memory broker confirms at once); return the id."""
        topic = self._topics[target]
        msg_id = str(next(_ids))
        now = time.time()
        hdrs = safe_headers(headers)  # what a real broker would carry
        if not topic.groups:
            topic.backlog.put(_Entry(msg_id, body, key, hdrs, now))
        for queue in topic.groups.values():
            queue.put(_Entry(msg_id, body, key, dict(hdrs), now))
        return msg_id

    async def subscribe(self, spec: SubscriptionSpec) -> MemorySubscription:
        if not self._connected:
            raise BrokerConnectionError(f"memory broker {self.name!r} is not connected")
        topic = self._topics[spec.source]
        queue = topic.groups.get(spec.group)
        if queue is None:
            queue = topic.groups[spec.group] = (
                topic.backlog if not topic.groups else _Queue()
            )
            if queue is topic.backlog:
                topic.backlog = _Queue()
        if spec.dead_letter is not None:
            self._topics[spec.dead_letter]  # declare it, so it can be read before use
        return MemorySubscription(self, spec, queue)

    # -- inspection, for tests -------------------------------------------------

    def messages(self, target: str) -> list[InboundMessage]:
        """Messages waiting in ``target`` (every group, and the backlog), without taking them."""
        topic = self._topics.get(target)
        if topic is None:
            return []
        queues = [topic.backlog, *topic.groups.values()]
        seen: dict[str, InboundMessage] = {}
        for queue in queues:
            entries = [*queue.ready, *(d.entry for d in sorted(queue.delayed))]
            for e in entries:
                seen.setdefault(e.id, _to_message(target, e, e.deliveries))
        return list(seen.values())

    def pending(self, target: str) -> int:
        """Messages of ``target`` not yet acknowledged by any group (ready or delayed)."""
        topic = self._topics.get(target)
        if topic is None:
            return 0
        queues = [topic.backlog, *topic.groups.values()]
        return sum(len(q.ready) + len(q.delayed) for q in queues)

    def _delay(self, queue: _Queue, entry: _Entry, due: float) -> None:
        heapq.heappush(queue.delayed, _Delayed(due, next(self._seq), entry))
        queue.changed.set()


def _to_message(source: str, e: _Entry, deliveries: int) -> InboundMessage:
    return InboundMessage(
        id=e.id,
        source=source,
        body=e.body,
        key=e.key,
        headers=e.headers,
        delivery_count=deliveries,
        timestamp=e.timestamp,
        position={"id": e.id},
        native=e,
    )


class MemorySubscription:
    """One consumer's attachment to a memory queue."""

    heartbeat_interval: float | None = None

    def __init__(
        self, broker: MemoryBroker, spec: SubscriptionSpec, queue: _Queue
    ) -> None:
        self._broker = broker
        self._spec = spec
        self._queue = queue
        self._unacked: dict[int, _Entry] = {}
        self._closed = False

    async def fetch(
        self, max_messages: int, timeout: float
    ) -> Sequence[InboundMessage]:
        queue = self._queue
        deadline = time.monotonic() + timeout
        while True:
            if self._closed or not self._broker.connected:
                raise BrokerConnectionError(
                    f"memory broker {self._broker.name!r} is closed"
                )
            wait = queue.promote_due(time.monotonic())
            if queue.ready:
                return self._take(max_messages)
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            queue.changed.clear()
            try:
                async with asyncio.timeout(left if wait is None else min(left, wait)):
                    await queue.changed.wait()
            except TimeoutError:
                pass

    def _take(self, n: int) -> list[InboundMessage]:
        ready = self._queue.ready
        source = self._spec.source
        out: list[InboundMessage] = []
        while ready and len(out) < n:
            entry = ready.popleft()
            entry.deliveries += 1
            self._unacked[id(entry)] = entry
            out.append(_to_message(source, entry, entry.deliveries))
        return out

    def _settle(self, msg: InboundMessage) -> _Entry:
        entry: _Entry = msg.native
        if self._unacked.pop(id(entry), None) is None:
            raise BrokerConnectionError(
                f"message {msg.id} is not held by this subscription (already settled or "
                "released)"
            )
        return entry

    async def ack(self, msg: InboundMessage) -> None:
        self._settle(msg)

    async def requeue(self, msg: InboundMessage) -> None:
        self._queue.put(self._settle(msg))

    async def retry(self, msg: InboundMessage, after: float) -> None:
        entry = self._settle(msg)
        entry.headers = dict(msg.headers)  # as a republish would carry them
        # In-process, so the monotonic clock: a wall-clock step cannot make it early.
        self._broker._delay(self._queue, entry, time.monotonic() + after)

    async def dead_letter(
        self, msg: InboundMessage, headers: Mapping[str, str]
    ) -> None:
        entry: _Entry = msg.native
        if id(entry) not in self._unacked:
            self._settle(msg)  # raises: not held
        assert self._spec.dead_letter is not None
        # Published before the original is forgotten, as a real broker's confirm.
        self._broker.publish_nowait(
            self._spec.dead_letter, entry.body, key=entry.key, headers=headers
        )
        self._settle(msg)

    async def release(self, msg: InboundMessage, *, stopping: bool = True) -> None:
        entry = self._settle(msg)
        self._queue.ready.appendleft(entry)
        self._queue.changed.set()

    async def in_progress(self, msg: InboundMessage) -> None:
        return None

    async def lag(self) -> int | None:
        """Messages waiting for this group: ready or not yet due."""
        return len(self._queue.ready) + len(self._queue.delayed)

    async def close(self) -> None:
        """Return every unacked delivery to the queue: the next consumer gets it."""
        self._closed = True
        if self._unacked:
            self._queue.ready.extendleft(reversed(list(self._unacked.values())))
            self._unacked.clear()
            self._queue.changed.set()
