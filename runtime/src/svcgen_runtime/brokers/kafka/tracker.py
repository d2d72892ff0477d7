"""The partition tracker: what one Kafka subscription handed out, finished and committed.

Per partition of the current assignment, the offsets handed out in order, the ones
finished out of order, the commit point (the first offset not yet done) and the
offset last committed; across partitions, how many deliveries finished since the last
commit (``COMMIT_BATCH`` starts one early) and the deliveries released after a failed
settle, kept for the next fetch. Bookkeeping only: the commits themselves go through
the consumers (``commits``).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from aiokafka.structs import TopicPartition

from ...message import InboundMessage

COMMIT_BATCH: Final = 256
"""Finished messages that start a commit before ``commit_interval`` is up. At full
speed the interval alone let a SIGKILL re-read half a second of work (tens of
thousands of records); with one commit in flight at a time, a crash re-reads about
this many plus what finished during that commit's round trip."""


class Progress:
    """Deliveries finished since the last commit, over every partition."""

    __slots__ = ("batch_full", "dirty", "finished")

    def __init__(self) -> None:
        self.dirty = asyncio.Event()
        """Set when some partition's commit point moved."""
        self.batch_full = asyncio.Event()
        """Set when ``COMMIT_BATCH`` deliveries finished since the last commit."""
        self.finished = 0

    def reset(self) -> None:
        """A commit starts: what finished so far is in it."""
        self.dirty.clear()
        self.batch_full.clear()
        self.finished = 0


@dataclass(slots=True)
class Partition:
    """Offsets handed out from one partition during one assignment, in order."""

    tp: TopicPartition
    progress: Progress
    taken: collections.deque[int] = field(default_factory=collections.deque)
    done: set[int] = field(default_factory=set)
    commit_to: int | None = None
    committed: int | None = None
    live: bool = True
    """False once the partition is revoked or the subscription closed."""

    def finish(self, offset: int) -> bool:
        """Mark ``offset`` done and count it; return True when the commit point moved.

        The one place a finished delivery is counted (ack, retry, dead letter): the
        ack's hot path calls it directly.
        """
        taken, done = self.taken, self.done
        if taken and taken[0] == offset:  # in order: the common case
            taken.popleft()
            self.commit_to = offset + 1
            moved = True
        else:
            done.add(offset)
            moved = False
        while taken and taken[0] in done:
            first = taken.popleft()
            done.discard(first)
            self.commit_to = first + 1
            moved = True
        progress = self.progress
        if moved:
            progress.dirty.set()
        progress.finished += 1
        if progress.finished == COMMIT_BATCH:
            progress.batch_full.set()
        return moved

    @property
    def pending_commit(self) -> int | None:
        if self.commit_to is not None and self.commit_to != self.committed:
            return self.commit_to
        return None


@dataclass(slots=True)
class Handle:
    """What a delivery's ``native`` carries: where it came from, to settle it."""

    part: Partition
    offset: int
    key: bytes | None


class PendingCommit(NamedTuple):
    """A partition whose commit point moved past what was committed."""

    part: Partition
    offset: int


class PartitionTracker:
    """The partitions of one subscription's assignment and its released deliveries."""

    def __init__(self) -> None:
        self.parts: dict[TopicPartition, Partition] = {}
        self.progress = Progress()
        self.released: collections.deque[InboundMessage] = collections.deque()
        """Deliveries given back after a failed settle, for the next fetch."""

    def partition(self, tp: TopicPartition) -> Partition:
        """The bookkeeping of ``tp``, started on its first delivery."""
        part = self.parts.get(tp)
        if part is None:
            part = self.parts[tp] = Partition(tp, self.progress)
        return part

    def take_released(self, max_messages: int) -> list[InboundMessage]:
        """Released deliveries to hand out again, skipping revoked partitions'."""
        out: list[InboundMessage] = []
        released = self.released
        while released and len(out) < max_messages:
            msg = released.popleft()
            handle: Handle = msg.native
            if handle.part.live:
                out.append(msg)
        return out

    def commit_point(self, tp: TopicPartition) -> int | None:
        """Where ``tp`` would be committed now; None before it finished anything."""
        part = self.parts.get(tp)
        return part.commit_to if part is not None else None

    def held(self, tps: Iterable[TopicPartition]) -> list[Partition]:
        """The bookkeeping of those of ``tps`` this subscription holds."""
        return [p for tp in tps if (p := self.parts.get(tp)) is not None]

    def drop(self, tps: Iterable[TopicPartition]) -> None:
        """Forget revoked partitions: their deliveries can no longer be settled."""
        for tp in tps:
            part = self.parts.pop(tp, None)
            if part is not None:
                part.live = False

    def clear(self) -> None:
        """The subscription closed: nothing it handed out can be settled any more."""
        for part in self.parts.values():
            part.live = False
        self.parts.clear()
        self.released.clear()


def pending_commits(parts: Iterable[Partition]) -> list[PendingCommit]:
    """The partitions of ``parts`` with a commit point not yet committed."""
    return [
        PendingCommit(p, pos) for p in parts if (pos := p.pending_commit) is not None
    ]
