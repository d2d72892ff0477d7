"""``Prefetched``: the source's records taken out of aiokafka's buffer, not handed out yet.

aiokafka fetches a partition again only once everything it buffered for that partition
has been consumed (``Fetcher._get_actions_per_node`` skips a partition that still has
records). Taken from aiokafka one ``fetch(1)`` at a time (``concurrency: 1``), a batch
held back the partition's next fetch for as long as the loop took to handle all of it,
so every fetch cycle was a round trip plus the whole batch's handling (at 1,000 msg/s
and the 500 ms default, ~500 records). The subscription therefore empties aiokafka's
buffer of a partition in one call and keeps what it did not hand out here, so that
aiokafka's next fetch is under way while these are handled.

Bounded like aiokafka's own buffer, by ``max_partition_fetch_bytes`` per partition: at
most one fetch's records here and the next fetch's in aiokafka. Held records are not
taken (the tracker does not know them), so commits stay below them; a revocation
forgets them (the group reads them again from the committed offset); records handed to
the subscription but not out go back in front (``unread``), never through a seek.

Below ``PARTIAL_BELOW`` permits a long poll's answer is not taken whole: all ~500 records
of one were decoded before the first handler ran, which then started 1.5-2.6 ms after
the answer against 0.15-0.2 ms for a ``getone()`` loop (``benchmarks/latency.py
--kafka-fetch-trace``). The subscription then takes the free permits' records, and
each later take twice as many as the one before, from ``FIRST_CHUNK`` up to
``LAST_CHUNK``, then the rest: no handler waits for more than the records before it
to be decoded (taking the rest at the third take held the 17th record 0.8-1.2 ms),
and aiokafka's next fetch goes out once about half the answer is handled, while the
other half is (the take that empties aiokafka's buffer turns the loop for it). At
higher concurrency the answer is still taken whole: leaving records in aiokafka there
cost 15 % of the throughput (its next fetch waited on every partial take).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition


def rewind(
    consumer: AIOKafkaConsumer, batches: Mapping[TopicPartition, Sequence[Any]]
) -> None:
    """Seek each assigned partition back to the first record of its batch (records
    taken but not handed out): the consumer reads them again."""
    assigned = consumer.assignment()
    for tp, records in batches.items():
        if records and tp in assigned:
            consumer.seek(tp, records[0].offset)


PARTIAL_BELOW: Final = 16
"""Permits below which a long poll's answer is taken in chunks."""

FIRST_CHUNK: Final = 4
"""Records taken after the free permits' ones of a long poll's answer."""

LAST_CHUNK: Final = 256
"""The largest chunk of a long poll's answer; the take after it takes the rest."""

FETCH_TURNS: Final = 3
"""Turns of the event loop after a take that emptied aiokafka's buffer of a partition:
its fetcher then sends the next fetch request (its notice, its routine and the
request's task take one each). A lone worker turns the loop only once a ``SLICE``
(``consumer/loop.py``), so without them that request went out after the whole
answer was handled (a 300-record answer: 0.2-0.3 ms after its last handler; with
them 0.5-0.6 ms before it), and on Tansu at 1,000 msg/s more of the records sent
meanwhile waited for the next answer (``benchmarks/README.md``, the latency section)."""


class Prefetched:
    """Records of ``consumer`` taken from aiokafka's buffer and not handed out yet,
    per partition, in offset order (held ones before anything fetched after them)."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._held: dict[TopicPartition, collections.deque[Any]] = {}
        # Partitions whose last long poll aiokafka may still hold part of: the
        # size of the next chunk to take.
        self._partial: dict[TopicPartition, int] = {}

    async def take(self, tp: TopicPartition, room: int) -> list[Any]:
        """Up to ``room`` records of ``tp``: held ones, else all aiokafka has
        buffered for it, in doubling chunks after a partial ``after`` (what does
        not fit is held). Never waits for records; a take that empties aiokafka's
        buffer lets the event loop turn ``FETCH_TURNS`` times."""
        if tp not in self._held:
            limit = chunk = self._partial.pop(tp, None)
            if chunk is not None:
                limit = max(room, chunk)
            batch = await self._consumer.getmany(tp, timeout_ms=0, max_records=limit)
            records = batch.get(tp, [])
            if chunk is not None and len(records) == limit and chunk < LAST_CHUNK:
                self._partial[tp] = chunk * 2  # aiokafka may hold more of it
            self._hold(tp, records)
            if records and (limit is None or len(records) < limit):
                # aiokafka's buffer of ``tp`` is empty now: its next fetch goes out
                # while these are handled (what was taken is held: safe to cancel).
                for _ in range(FETCH_TURNS):
                    await asyncio.sleep(0)
        return self.pop(tp, room)

    def after(
        self,
        batches: Mapping[TopicPartition, Sequence[Any]],
        room: int,
        *,
        partial: bool = False,
    ) -> dict[TopicPartition, list[Any]]:
        """A long poll's ``batches`` held behind what is held; up to ``room`` of
        the held records returned, partition by partition. ``partial``: aiokafka
        may hold more of the same answer (taken by ``take``, ``FIRST_CHUNK`` first)."""
        out: dict[TopicPartition, list[Any]] = {}
        for tp, records in batches.items():
            if partial:
                self._partial[tp] = FIRST_CHUNK
            self._hold(tp, records)
            if room > 0 and (first := self.pop(tp, room)):
                out[tp] = first
                room -= len(first)
        return out

    def unread(self, batches: Mapping[TopicPartition, Sequence[Any]]) -> None:
        """Put records handed to the subscription but not out (a cancelled fetch,
        no room left) back in front, for partitions still assigned."""
        assigned = self._consumer.assignment()
        for tp, records in batches.items():
            if records and tp in assigned:
                held = self._held.setdefault(tp, collections.deque())
                held.extendleft(reversed(records))

    async def position(self, tp: TopicPartition) -> int:
        """The offset of the first record of ``tp`` not handed out: the first held,
        else aiokafka's position."""
        held = self._held.get(tp)
        return held[0].offset if held else int(await self._consumer.position(tp))

    def forget(self, tps: Iterable[TopicPartition]) -> None:
        for tp in tps:
            self._held.pop(tp, None)
            self._partial.pop(tp, None)

    def clear(self) -> None:
        self._held.clear()
        self._partial.clear()

    def single(self) -> TopicPartition | None:
        """The partition records are held of, when there is exactly one."""
        held = self._held
        return next(iter(held)) if len(held) == 1 else None

    def _hold(self, tp: TopicPartition, records: Sequence[Any]) -> None:
        if records:
            self._held.setdefault(tp, collections.deque()).extend(records)

    def pop(self, tp: TopicPartition, n: int) -> list[Any]:
        held = self._held.get(tp)
        if held is None:
            return []
        # ``concurrency: 1`` pops one record a fetch: no comprehension for it.
        out = (
            [held.popleft()]
            if n == 1
            else [held.popleft() for _ in range(min(n, len(held)))]
        )
        if not held:
            del self._held[tp]
        return out
