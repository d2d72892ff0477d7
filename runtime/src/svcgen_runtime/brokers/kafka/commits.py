"""Committing a Kafka subscription's progress: each partition's commit point, through
the consumer (and so the group) that reads it.

A commit starts once ``COMMIT_BATCH`` deliveries finished or ``commit_interval``
seconds after a commit point moved, whichever comes first, never more than one in
flight; revoked partitions commit before they go, and ``close`` commits what is left.
A failed commit only costs a warning: the group re-reads from the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from ...cancel import cancel_and_wait
from .tracker import Partition, PartitionTracker, pending_commits

log = logging.getLogger(__package__)  # the adapter's one logger, as before

CLOSE_COMMIT_TIMEOUT: Final = 5.0
"""Seconds ``close`` waits for its last commit before giving up (the group re-reads)."""


class Committer:
    """The commit loop of one subscription and the commits it, a rebalance or a
    close asks for."""

    def __init__(
        self,
        tracker: PartitionTracker,
        consumers: Sequence[AIOKafkaConsumer],
        owner: Callable[[TopicPartition], AIOKafkaConsumer],
        *,
        consumer_name: str,
        interval: float,
    ) -> None:
        self._tracker = tracker
        self._consumers = consumers
        self._owner = owner
        self._name = consumer_name
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(
            self._loop(), name=f"kafka-commit-{self._name}"
        )

    async def _loop(self) -> None:
        """Commit once a batch of messages is done or the interval is up, whichever
        comes first; never more than one commit in flight."""
        progress = self._tracker.progress
        while True:
            await progress.dirty.wait()
            if not progress.batch_full.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._interval):
                        await progress.batch_full.wait()
            progress.reset()
            if not await self.commit(self._tracker.parts.values()):
                progress.dirty.set()  # try again after the next interval
                await asyncio.sleep(self._interval)

    async def commit(self, parts: Iterable[Partition]) -> bool:
        """Commit every partition's contiguous done point; True when it succeeded.

        Each offset goes through the consumer (and group) that owns its partition.
        """
        pending = pending_commits(parts)
        ok = True
        for consumer in self._consumers:
            mine = [c for c in pending if self._owner(c.part.tp) is consumer]
            if not mine:
                continue
            try:
                await consumer.commit(
                    {c.part.tp: OffsetAndMetadata(c.offset, "") for c in mine}
                )
            except KafkaError as exc:
                log.warning(
                    "kafka consumer %s: commit failed (%s: %s); finished messages "
                    "after the last commit may be delivered again",
                    self._name,
                    type(exc).__name__,
                    exc,
                )
                ok = False
                continue
            for part, pos in mine:
                if part.committed is None or pos > part.committed:
                    part.committed = pos
        return ok

    async def close(self) -> None:
        """Stop the loop and commit what is done, for at most ``CLOSE_COMMIT_TIMEOUT``."""
        if self._task is not None:
            await cancel_and_wait([self._task], what="kafka committer")
        try:
            async with asyncio.timeout(CLOSE_COMMIT_TIMEOUT):
                await self.commit(list(self._tracker.parts.values()))
        except TimeoutError:
            log.warning(
                "kafka consumer %s: last commit timed out; finished messages after "
                "the previous commit will be delivered again",
                self._name,
            )
