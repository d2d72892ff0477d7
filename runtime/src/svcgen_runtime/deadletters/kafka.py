"""Kafka dead letters: a position of the tool's own, since Kafka cannot delete a record.

The runtime produces a consumer's dead letters to its dead-letter topic (``acks=all``)
and nothing reads them. Kafka removes records only by retention, so "removed" here
means "behind the tool's position": the committed offsets of a consumer group of the
tool's own on the dead-letter topic, ``svcgen-dlq.<group>`` (``POSITION_GROUP``),
which no consumer joins (the tool assigns the partitions itself and commits).

* ``list`` reads each partition from that position (the log start when nothing is
  committed) to the end it had when the command began, and shows the records of this
  consumer that are still pending, oldest first (by record timestamp).
* ``replay`` produces each to its source (``acks=all``, awaited), then moves the
  position past it: interrupted (SIGKILL included), the next run resends at most the
  record that was produced and not yet recorded as done.
* ``purge`` of all moves the position to the end read: the records stay in the topic
  until its retention deletes them, and the tool no longer shows them.
* Selected ids (``partition:offset``): the position can only move over a prefix of a
  partition that is all done, so a record replayed or purged while an earlier one is
  still pending is recorded as a *mark*: a record in ``<dead_letter>.svcgen-dlq-marks``
  (one partition, created on first use) naming the group, the partition and offset,
  and what was done. ``list`` and ``replay --all`` leave marked records out, exactly
  as if the position had passed them, so a record is never shown or sent again after
  it went; once the position passes a mark, the mark no longer matters. Marks are
  written after the send was confirmed, so a run killed between the two resends that
  one record, as above.

Records of other consumers sharing the topic (``x-svcgen-consumer`` naming another)
are neither shown nor sent; the position moves over them (their own consumer's tool
has its own group). One replay or purge per consumer at a time: two at once would
each move the same position.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Collection, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from ..errors import BrokerConnectionError, require

require("aiokafka", "kafka")

from aiokafka import AIOKafkaConsumer  # noqa: E402
from aiokafka.errors import KafkaError  # noqa: E402
from aiokafka.structs import TopicPartition  # noqa: E402

from ..brokers.kafka.clients import stop_clients  # noqa: E402
from ..brokers.kafka.publish import KafkaPublisher  # noqa: E402
from . import DeadLetter, DeadLetterPlace, replay_headers  # noqa: E402
from .shared import belongs, chosen, replay_each  # noqa: E402

POSITION_GROUP: Final = "svcgen-dlq.{group}"
"""The tool's consumer group on the dead-letter topic: its committed offsets are
where the pending dead letters of ``group`` start."""
MARKS_SUFFIX: Final = ".svcgen-dlq-marks"
"""``<dead_letter><MARKS_SUFFIX>`` keeps the marks of records done out of order."""
MARK_GROUP: Final = "x-svcgen-dlq-group"
MARK_DONE: Final = "x-svcgen-dlq-done"
MARK_ACTION: Final = "x-svcgen-dlq-action"
READ_WAIT_MS: Final = 500
FETCH_MAX_WAIT_MS: Final = 100
CONFIRM_WAIT_MS: Final = READ_WAIT_MS
"""The fetch that confirms nothing lies past a partition's reported end offset
(a few long-polls of ``FETCH_MAX_WAIT_MS``)."""
IDLE_READS: Final = 4
"""Empty fetches of ``READ_WAIT_MS`` after which a partition counts as read to its
end although its end offset was not reached (an end offset a server overstates)."""
REQUEST_TIMEOUT_MS: Final = 30000


class _Ref(NamedTuple):
    """Where one pending dead letter is, and its key as the bytes it was."""

    partition: int
    offset: int
    key: bytes | None


@dataclass(slots=True)
class _Partition:
    """One partition of the dead-letter topic as a scan found it."""

    tp: TopicPartition
    position: int
    """The first offset not yet done (committed, or the log start)."""
    end: int
    """The offset after the last one read."""
    ours: list[int] = field(default_factory=list)
    """Offsets of this consumer's records read, ascending."""
    done: set[int] = field(default_factory=set)
    """Offsets of ``ours`` that were marked or done by this run."""
    cursor: int = 0

    def advanced(self) -> int:
        """The first offset not done: the position the group may commit."""
        ours, done = self.ours, self.done
        while self.cursor < len(ours) and ours[self.cursor] in done:
            self.cursor += 1
        return ours[self.cursor] if self.cursor < len(ours) else self.end


@dataclass(slots=True)
class _Scan:
    partitions: dict[int, _Partition]
    pending: list[tuple[DeadLetter, _Ref]]


class KafkaDeadLetters:
    """One consumer's dead letters on a Kafka dead-letter topic (see the module)."""

    def __init__(
        self,
        publisher: KafkaPublisher,
        consumer: AIOKafkaConsumer,
        place: DeadLetterPlace,
        partitions: Sequence[TopicPartition],
    ) -> None:
        self._publisher = publisher
        self._consumer = consumer
        self._place = place
        self._tps = list(partitions)
        self._group = POSITION_GROUP.format(group=place.group)
        self.marks_topic = place.dead_letter + MARKS_SUFFIX

    async def list(self, limit: int | None = None) -> list[DeadLetter]:
        scan = await self._scan(limit)
        letters = [letter for letter, _ in scan.pending]
        return letters if limit is None else letters[:limit]

    async def replay(
        self,
        ids: Collection[str] | None,
        *,
        rate: float | None = None,
        sent: Callable[[DeadLetter], None] | None = None,
    ) -> int:
        scan = await self._scan(None)
        entries = chosen(scan.pending, ids, self._place.dead_letter)

        async def send(letter: DeadLetter, ref: _Ref) -> None:
            await self._publisher.send(
                letter.target(self._place),
                letter.body,
                key=ref.key,
                headers=replay_headers(letter, group=self._place.group),
            )

        async def remove(letter: DeadLetter, ref: _Ref) -> None:
            await self._done(scan, ref, "replayed")

        return await replay_each(
            entries, rate=rate, send=send, remove=remove, sent=sent
        )

    async def purge(self, ids: Collection[str] | None) -> int:
        scan = await self._scan(None)
        entries = chosen(scan.pending, ids, self._place.dead_letter)
        if ids is None:
            # Everything read is done: the position moves to the end read.
            for part in scan.partitions.values():
                if part.end > part.position:
                    await self._commit(part.tp, part.end)
            return len(entries)
        for _, ref in entries:
            await self._done(scan, ref, "purged")
        return len(entries)

    async def close(self) -> None:
        try:
            await stop_clients(self._consumer)
        finally:
            await self._publisher.close()

    # -- the position and the marks ---------------------------------------------

    async def _done(self, scan: _Scan, ref: _Ref, action: str) -> None:
        """Record one pending record as done: move the position over it when every
        record before it is done too, else write its mark."""
        part = scan.partitions[ref.partition]
        part.done.add(ref.offset)
        position = part.advanced()
        if position > part.position:
            await self._commit(part.tp, position)
            part.position = position
        if ref.offset >= part.position:
            await self._mark(ref, action)

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        try:
            await self._consumer.commit({tp: offset})
        except KafkaError as exc:
            raise BrokerConnectionError(
                f"kafka: could not commit the position {offset} of group "
                f"{self._group!r} on {tp.topic}[{tp.partition}] "
                f"({type(exc).__name__}: {exc}); run the command again"
            ) from exc

    async def _mark(self, ref: _Ref, action: str) -> None:
        await self._publisher.ensure_topics([self.marks_topic], partitions=1)
        await self._publisher.send(
            self.marks_topic,
            b"",
            key=self._group.encode(),
            headers={
                MARK_GROUP: self._group,
                MARK_DONE: f"{ref.partition}:{ref.offset}",
                MARK_ACTION: action,
            },
        )

    async def _marks(self) -> dict[int, set[int]]:
        """The offsets this group marked done, by partition."""
        if self.marks_topic not in await self._topics():
            return {}
        counts = await self._publisher.partition_counts([self.marks_topic])
        tps = [
            TopicPartition(self.marks_topic, i)
            for i in range(counts.get(self.marks_topic, 0))
        ]
        reader = _new_consumer(self._publisher, self._place, None)
        marks: dict[int, set[int]] = {}
        try:
            await self._start(reader)
            reader.assign(tps)
            await reader.seek_to_beginning(*tps)
            ends = await reader.end_offsets(tps)
            for tp in tps:
                async with aclosing(_records(reader, tp, ends[tp])) as records:
                    async for record in records:
                        _add_mark(marks, self._group, _headers(record.headers))
        finally:
            await stop_clients(reader)
        return marks

    # -- reading -------------------------------------------------------------------

    async def _scan(self, limit: int | None) -> _Scan:
        """Read the pending dead letters (at most ``limit`` per partition)."""
        scan = _Scan({}, [])
        if not self._tps:
            return scan
        consumer = self._consumer
        try:
            begins = await consumer.beginning_offsets(self._tps)
            ends = await consumer.end_offsets(self._tps)
            marks = await self._marks()
            keyed: list[tuple[tuple[float, int, int], DeadLetter, _Ref]] = []
            for tp in self._tps:
                committed = await consumer.committed(tp)
                start = max(begins[tp], committed or 0)
                part = _Partition(tp, start, start)
                part.done = {o for o in marks.get(tp.partition, ()) if o >= start}
                scan.partitions[tp.partition] = part
                consumer.seek(tp, start)
                found = 0
                async with aclosing(_records(consumer, tp, ends[tp], part)) as records:
                    async for record in records:
                        headers = _headers(record.headers)
                        if not belongs(headers, self._place):
                            continue
                        part.ours.append(record.offset)
                        if record.offset in part.done:
                            continue
                        letter, ref = _letter(tp.partition, record, headers)
                        keyed.append(((record.timestamp, *ref[:2]), letter, ref))
                        found += 1
                        if limit is not None and found >= limit:
                            break
        except KafkaError as exc:
            raise BrokerConnectionError(
                f"kafka: reading the dead letters of {self._place.consumer!r} from "
                f"{self._place.dead_letter!r} failed ({type(exc).__name__}: {exc}); "
                "check the broker and run the command again"
            ) from exc
        keyed.sort(key=lambda item: item[0])
        scan.pending = [(letter, ref) for _, letter, ref in keyed]
        return scan

    async def _topics(self) -> set[str]:
        # The consumer's metadata, not the admin client's describe: describing a
        # topic that does not exist makes some servers create it.
        topics: set[str] = await self._consumer.topics()
        return topics

    async def _start(self, consumer: AIOKafkaConsumer) -> None:
        try:
            await consumer.start()
        except BaseException as exc:
            await stop_clients(consumer)
            if not isinstance(exc, Exception):
                raise
            raise BrokerConnectionError(
                f"kafka: cannot reach {','.join(self._publisher.servers)} "
                f"({type(exc).__name__}: {exc}); start Kafka or fix the url"
            ) from exc

    async def _open(self) -> None:
        """Start the position group's consumer and assign it the dead-letter topic."""
        await self._start(self._consumer)
        topic = self._place.dead_letter
        if topic not in await self._topics():
            return  # nothing was ever dead-lettered there
        counts = await self._publisher.partition_counts([topic])
        self._tps = [TopicPartition(topic, i) for i in range(counts.get(topic, 0))]
        if self._tps:
            self._consumer.assign(self._tps)


async def _records(
    consumer: AIOKafkaConsumer,
    tp: TopicPartition,
    end: int,
    part: _Partition | None = None,
) -> AsyncGenerator[Any, None]:
    """The records of ``tp`` from the consumer's position to the end: up to ``end``,
    then on until a fetch comes back empty, because a server's end offset can
    understate what is there (Tansu 0.6 counts record batches, not records: five
    dead letters produced in one batch leave an end offset of 1). ``part.end``
    follows what was read."""
    nxt, idle = await consumer.position(tp), 0
    while True:
        wait = READ_WAIT_MS if nxt < end else CONFIRM_WAIT_MS
        batch = await consumer.getmany(tp, timeout_ms=wait)
        records = batch.get(tp, [])
        if not records:
            if nxt >= end:
                break  # read to the end, and nothing after it
            idle += 1
            if idle >= IDLE_READS:
                return  # the end offset overstated what there is
            continue
        idle = 0
        for record in records:
            nxt = record.offset + 1
            if part is not None:
                part.end = nxt
            yield record
    if part is not None:
        part.end = max(part.end, end)  # gaps (transaction markers) before the end


def _add_mark(marks: dict[int, set[int]], group: str, headers: dict[str, str]) -> None:
    partition, _, offset = headers.get(MARK_DONE, "").partition(":")
    if headers.get(MARK_GROUP) == group and partition.isdigit() and offset.isdigit():
        marks.setdefault(int(partition), set()).add(int(offset))


def _headers(raw: Sequence[tuple[str, bytes | None]] | None) -> dict[str, str]:
    return {
        name: "" if value is None else value.decode("utf-8", "replace")
        for name, value in raw or ()
    }


def _letter(
    partition: int, record: Any, headers: dict[str, str]
) -> tuple[DeadLetter, _Ref]:
    key: bytes | None = record.key
    ref = _Ref(partition, record.offset, key)
    letter = DeadLetter(
        id=f"{partition}:{record.offset}",
        body=b"" if record.value is None else record.value,
        headers=headers,
        key=None if key is None else key.decode("utf-8", "replace"),
    )
    return letter, ref


async def open_queue(url: str, place: DeadLetterPlace) -> KafkaDeadLetters:
    """The dead letters of ``place`` on the Kafka cluster at ``url``."""
    publisher = KafkaPublisher(
        "dlq",
        url,
        client_id="svcgen-dlq",
        request_timeout_ms=REQUEST_TIMEOUT_MS,
        partitions=1,
        replication_factor=int(place.options.get("replication_factor", 1)),
    )
    group = POSITION_GROUP.format(group=place.group)
    consumer = _new_consumer(publisher, place, group)
    queue = KafkaDeadLetters(publisher, consumer, place, [])
    try:
        await queue._open()
    except BaseException:
        await queue.close()
        raise
    return queue


def _new_consumer(
    publisher: KafkaPublisher, place: DeadLetterPlace, group: str | None
) -> AIOKafkaConsumer:
    """A consumer that never joins ``group``: it is assigned partitions and commits
    (or, with no group, only reads)."""
    return AIOKafkaConsumer(
        bootstrap_servers=publisher.servers,
        client_id=f"{publisher.client_id}-{place.consumer}",
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=REQUEST_TIMEOUT_MS,
        # short long-polls: a fetch in flight at the old position delays the first
        # fetch after a seek by up to this long
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )


__all__ = ["MARKS_SUFFIX", "POSITION_GROUP", "KafkaDeadLetters", "open_queue"]
