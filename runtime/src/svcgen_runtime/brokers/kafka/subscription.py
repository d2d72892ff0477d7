"""``KafkaSubscription``: fetching from a subscription's two consumers and settling.

``fetch`` hands out released deliveries first, then what the consumers buffered,
else waits on both; records taken but not handed out are given back by a seek. A
retry record not yet due pauses its partition until then. Settling marks offsets done
in the ``tracker`` (retries and dead letters are produced first); ``commits`` commits
them; a rebalance commits and forgets the revoked partitions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import ConsumerStoppedError, KafkaError
from aiokafka.structs import TopicPartition

from ...errors import BrokerConnectionError, ConfigurationError
from ...message import DUE_HEADER, InboundMessage, attempt_from_headers, due_header
from ...retry import next_attempt_headers
from ..base import SubscriptionSpec
from .clients import CoordinatorWatch, Listener, buffered, settled, stop_consumer
from .commits import Committer
from .prefetch import PARTIAL_BELOW, Prefetched, rewind
from .publish import KafkaPublisher
from .tracker import Handle, PartitionTracker

TURN: Final = 0.05
"""Seconds buffered records are taken from one partition first before the next one's:
a partition that just arrived waits at most this times the others' count."""

log = logging.getLogger(__package__)  # the adapter's one logger, as before


class KafkaSubscription:
    """One subscription: a source consumer and a retry-topic consumer, each in its group."""

    heartbeat_interval: float | None = None

    def __init__(
        self,
        broker: KafkaPublisher,
        spec: SubscriptionSpec,
        consumer: AIOKafkaConsumer,
        retry_consumer: AIOKafkaConsumer,
        retry_topic: str,
        *,
        commit_interval: float,
        lost_after: float,
    ) -> None:
        self._broker = broker
        self._spec = spec
        self._consumer = consumer
        self._retry_consumer = retry_consumer
        # Retry topic first: its records are older work, and it holds few.
        self._consumers = (retry_consumer, consumer)
        self._retry_topic = retry_topic
        self._tracker = PartitionTracker()
        self._prefetched = Prefetched(consumer)
        self._committer = Committer(
            self._tracker,
            self._consumers,
            self._owner,
            consumer_name=spec.consumer,
            interval=commit_interval,
        )
        self._wakeups: dict[TopicPartition, asyncio.TimerHandle] = {}
        self._closed = False
        self._coordinators = CoordinatorWatch(
            self._consumers, spec.consumer, lost_after
        )
        self._failure: BaseException | None = None
        self._turn = 0  # the partition buffered takes start from, for TURN seconds
        self._turn_ends = 0.0
        self.listener = Listener(self.revoked, self.assigned)
        """The source consumer's rebalance listener."""
        self.retry_listener = Listener(self.revoked, self.assigned)
        """The retry consumer's rebalance listener."""

    def start(self) -> None:
        self._committer.start()

    @property
    def receiving(self) -> bool:
        """Both groups have assigned this member its partitions: records can arrive."""
        return self.listener.joined.is_set() and self.retry_listener.joined.is_set()

    async def wait_assigned(self, timeout: float) -> None:
        """Wait until both groups have assigned partitions (``receiving``).

        aiokafka's ``start`` waits for the assignment too, but may return before the
        listener ran; a consumer reported started before its retry group had joined
        handled a due retry seconds late (the retry group was still rebalancing).
        """
        try:
            async with asyncio.timeout(timeout):
                await self.listener.joined.wait()
                await self.retry_listener.joined.wait()
        except TimeoutError:
            raise BrokerConnectionError(
                f"kafka consumer {self._spec.consumer!r}: its groups assigned no "
                f"partitions within {timeout:g}s; check that Kafka is healthy"
            ) from None

    def _owner(self, tp: TopicPartition) -> AIOKafkaConsumer:
        return self._retry_consumer if tp.topic == self._retry_topic else self._consumer

    # -- fetching --------------------------------------------------------------

    async def fetch(
        self, max_messages: int, timeout: float
    ) -> Sequence[InboundMessage]:
        # The common case at low concurrency: records held of the one partition the
        # source was assigned; nothing released, the retry consumer's buffer empty.
        tp = self._prefetched.single()
        if (
            tp is not None
            and self.listener.partitions == 1
            and not self._closed
            and self._failure is None
            and not self._tracker.released
            and settled(self._consumer)
            and not buffered(self._retry_consumer)
        ):
            self._coordinators.reached()
            records = self._prefetched.pop(tp, max_messages)
            return self._accept(self._consumer, {tp: records}, max_messages)
        deadline = time.monotonic() + timeout
        while True:
            if self._closed:
                raise BrokerConnectionError(
                    f"kafka consumer {self._spec.consumer!r} is closed; subscribe again"
                )
            if self._failure is not None:
                # One consumer failed while the other's records were returned.
                failure, self._failure = self._failure, None
                raise failure
            # Released deliveries first, then what the consumers hold, without waiting
            # (a rebalancing consumer would block: it is left to the wait below).
            tracker = self._tracker
            out = tracker.take_released(max_messages) if tracker.released else []
            got = False
            for consumer in self._consumers:
                room = max_messages - len(out)
                held = consumer is self._consumer  # Prefetched holds the source's only
                if room > 0 and settled(consumer) and (held or buffered(consumer)):
                    try:
                        batches = await self._get(consumer, 0.0, room)
                    except BrokerConnectionError as exc:
                        if not out:
                            raise
                        self._failure = exc  # raised by the next fetch
                        break
                    if batches:
                        got = True
                        out += self._accept(consumer, batches, room)
            left = max(deadline - time.monotonic(), 0.0)
            if not out and left > 0:
                got, out = await self._wait(max_messages, left)
            if got:
                self._coordinators.reached()
            else:
                self._coordinators.check()
            if out or deadline <= time.monotonic():
                return out

    async def _get(
        self, consumer: AIOKafkaConsumer, timeout: float, room: int
    ) -> dict[TopicPartition, list[Any]]:
        source = consumer is self._consumer
        try:
            parts = sorted(consumer.assignment()) if timeout == 0.0 else []
            if len(parts) > 1 or (parts and source):
                return await self._take_in_turn(consumer, parts, room)
            partial = not source or self._spec.concurrency < PARTIAL_BELOW
            batches: dict[TopicPartition, list[Any]] = await consumer.getmany(
                timeout_ms=int(timeout * 1000), max_records=room if partial else None
            )
            if source:  # whole unless partial: aiokafka fetches again (prefetch.py)
                batches = self._prefetched.after(batches, room, partial=partial)
        except (KafkaError, ConsumerStoppedError) as exc:
            raise BrokerConnectionError(
                f"kafka consumer {self._spec.consumer!r} failed "
                f"({type(exc).__name__}: {exc}); it is re-created"
            ) from exc
        return batches

    async def _take_in_turn(
        self, consumer: AIOKafkaConsumer, parts: list[TopicPartition], room: int
    ) -> dict[TopicPartition, list[Any]]:
        """Up to ``room`` buffered records, from one partition first, the next one
        after ``TURN`` seconds. aiokafka's ``getmany`` drains its buffer in the order
        the fetches arrived, a partition's thousands of small records before the next
        one's: after a rebalance the partitions a crashed member held (their
        in-flight records at the committed offset) would wait behind the others'.
        A turn in time, not per call: a fast consumer still empties one partition's
        buffer at a time, so aiokafka refetches it while the others are read (taking
        from each in every call emptied all at once, then waited on all: measured,
        a third slower on one process reading six partitions)."""
        now = time.monotonic()
        if now >= self._turn_ends:
            self._turn, self._turn_ends = self._turn + 1, now + TURN
        start = self._turn % len(parts)
        out: dict[TopicPartition, list[Any]] = {}
        source = consumer is self._consumer
        for tp in parts[start:] + parts[:start]:
            if room <= 0:
                break
            if source:
                records = await self._prefetched.take(tp, room)
            else:
                batch = await consumer.getmany(tp, timeout_ms=0, max_records=room)
                records = batch.get(tp, [])
            if records:
                out[tp] = records
                room -= len(records)
        return out

    async def _wait(
        self, room: int, timeout: float
    ) -> tuple[bool, list[InboundMessage]]:
        """Wait on both consumers; take from whichever has records first.

        The source is waited on in this task, the retry consumer in a task of its own
        whose end cuts this wait short (a task for the source too put two more turns
        of the event loop between a long poll's answer and its first handler).
        Records a consumer took but this fetch does not return (it was cancelled,
        or both consumers answered at once beyond ``room``) are given back.
        """
        retry = asyncio.create_task(self._get(self._retry_consumer, timeout, room))
        batches: dict[TopicPartition, list[Any]] = {}
        limit: asyncio.Timeout | None = None

        def cut_short(_: object) -> None:
            if limit is not None:  # not once the source's wait is over
                limit.reschedule(0.0)

        retry.add_done_callback(cut_short)
        try:
            async with asyncio.timeout(timeout) as limit:
                try:
                    batches = await self._get(self._consumer, timeout, room)
                except BrokerConnectionError as exc:
                    self._failure = exc
        except TimeoutError:
            pass  # the retry consumer answered first, or neither did in time
        except BaseException:
            retry.cancel()
            if got_back := _result(retry):
                self._give_back(self._retry_consumer, got_back)
            raise
        finally:
            limit = None  # the source's wait is over: the retry's end no longer cuts it
            retry.remove_done_callback(cut_short)
        out: list[InboundMessage] = []
        got = False
        if not retry.done():
            retry.cancel()  # still waiting: it ends before it takes anything
        elif not retry.cancelled() and (error := retry.exception()) is not None:
            self._failure = self._failure or error
        elif retried := _result(retry):
            got = True
            out += self._accept(self._retry_consumer, retried, room)
        if batches:
            got = True
            out += self._accept(self._consumer, batches, room - len(out))
        if not out and self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        return got, out

    def _give_back(
        self, consumer: AIOKafkaConsumer, batches: Mapping[TopicPartition, Any]
    ) -> None:
        """Records taken but not handed out: the source's back to ``Prefetched``,
        the retry consumer's read again after a seek."""
        if consumer is self._consumer:
            self._prefetched.unread(batches)
        else:
            rewind(consumer, batches)

    def _accept(
        self,
        consumer: AIOKafkaConsumer,
        batches: Mapping[TopicPartition, Sequence[Any]],
        room: int,
    ) -> list[InboundMessage]:
        """Turn up to ``room`` records into deliveries; seek back to the rest."""
        out: list[InboundMessage] = []
        now = time.time()
        source = self._spec.source
        for tp, records in batches.items():
            space = room - len(out)
            if len(records) > space:  # both consumers answered one wait at once
                self._give_back(consumer, {tp: records[max(space, 0) :]})
                if space <= 0:
                    continue
                records = records[:space]
            topic, partition = tp.topic, tp.partition
            retrying = topic == self._retry_topic
            part = self._tracker.partition(tp)
            take = part.taken.append
            prefix = f"{topic}/{partition}/"
            # Positional construction: this loop runs once per message.
            for rec in records:
                offset = rec.offset
                raw = rec.headers
                headers = {k: _text(v) for k, v in raw} if raw else {}
                if retrying:
                    due = _due(headers)
                    if due > now:
                        self._hold(tp, offset, due - now)
                        break
                take(offset)
                key, value, stamp = rec.key, rec.value, rec.timestamp
                out.append(
                    InboundMessage(
                        prefix + str(offset),
                        source,
                        b"" if value is None else value,
                        None if key is None else _text(key),
                        headers,
                        attempt_from_headers(headers) if headers else 1,
                        None if stamp is None else stamp / 1000.0,
                        {"topic": topic, "partition": partition, "offset": offset},
                        Handle(part, offset, key),
                    )
                )
        return out

    def _hold(self, tp: TopicPartition, offset: int, delay: float) -> None:
        """Rewind a retry partition to a record not yet due and pause it until then."""
        consumer = self._retry_consumer
        consumer.seek(tp, offset)
        consumer.pause(tp)
        old = self._wakeups.pop(tp, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        # A few ms late rather than early: the due check uses the wall clock.
        self._wakeups[tp] = loop.call_later(delay + 0.005, self._wake, tp)

    def _wake(self, tp: TopicPartition) -> None:
        self._wakeups.pop(tp, None)
        if not self._closed and tp in self._retry_consumer.assignment():
            self._retry_consumer.resume(tp)

    # -- settling --------------------------------------------------------------

    def _handle(self, msg: InboundMessage) -> Handle:
        handle: Handle = msg.native
        if not handle.part.live:
            raise _gone(msg)
        return handle

    async def ack(self, msg: InboundMessage) -> None:
        # The hot path, inlined: mark done (and counted), the commit loop picks it up.
        handle: Handle = msg.native
        part = handle.part
        if not part.live:
            raise _gone(msg)
        part.finish(handle.offset)

    async def requeue(self, msg: InboundMessage) -> None:
        await self._again(msg, 0.0)

    async def retry(self, msg: InboundMessage, after: float) -> None:
        await self._again(msg, after)

    async def _again(self, msg: InboundMessage, after: float) -> None:
        handle = self._handle(msg)
        # msg.headers, not the record's: the consume loop may have added some (deferrals).
        headers = next_attempt_headers(msg.headers, msg.delivery_count)
        headers[DUE_HEADER] = due_header(time.time(), after)
        await self._broker.send(
            self._retry_topic, msg.body, key=handle.key, headers=headers
        )
        await self.ack(msg)

    async def dead_letter(
        self, msg: InboundMessage, headers: Mapping[str, str]
    ) -> None:
        handle = self._handle(msg)
        target = self._spec.dead_letter
        if target is None:
            raise ConfigurationError(
                f"consumer {self._spec.consumer!r} has no dead-letter topic; set dead_letter"
            )
        await self._broker.send(target, msg.body, key=handle.key, headers=headers)
        await self.ack(msg)

    async def release(self, msg: InboundMessage, *, stopping: bool = True) -> None:
        """Leave the offset undone: the commit point never passes it.

        While stopping, the group reads it again after this member closes or loses
        the partition. After a failed settle it is kept for the next ``fetch``:
        Kafka records do not change, so handing out the same record again is a
        re-read, without seeking the partition back over the records behind it.
        """
        handle: Handle = msg.native
        if not stopping and not self._closed and handle.part.live:
            self._tracker.released.append(msg)

    async def in_progress(self, msg: InboundMessage) -> None:
        return None

    # -- rebalances, lag, close ------------------------------------------------

    async def revoked(self, revoked: set[TopicPartition]) -> None:
        """Before a rebalance: commit what is done, forget the rest (it is re-read)."""
        parts = self._tracker.held(revoked)
        if parts and not self._closed:
            await self._committer.commit(parts)
        self._tracker.drop(revoked)
        self._prefetched.forget(revoked)
        for tp in revoked:
            wake = self._wakeups.pop(tp, None)
            if wake is not None:
                wake.cancel()

    def assigned(self, assigned: set[TopicPartition]) -> None:
        # ``revoked`` dropped the old assignment's bookkeeping; the commits start this.
        log.info(
            "kafka consumer %s assigned %s",
            self._spec.consumer,
            ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))
            or "nothing",
        )

    async def lag(self) -> int | None:
        """Messages of the source's assigned partitions past the group's commit
        point: not yet acknowledged (the retry topic is not counted)."""
        consumer = self._consumer
        total, known = 0, False
        for tp in consumer.assignment():
            end = consumer.highwater(tp)  # from the last fetch; None before one
            if end is None:
                continue
            point = self._tracker.commit_point(tp)
            if point is None:
                point = await consumer.committed(tp)
            if point is None:
                point = await self._prefetched.position(tp)
            total += max(0, end - point)
            known = True
        return total if known else None

    async def close(self) -> None:
        """Commit what is done, cancel retry timers, leave both groups."""
        if self._closed:
            return
        for wake in self._wakeups.values():
            wake.cancel()
        self._wakeups.clear()
        await self._committer.close()
        self._closed = True
        self._tracker.clear()
        self._prefetched.clear()
        for consumer in self._consumers:
            await stop_consumer(consumer, self._spec.consumer)


def _result(get: asyncio.Task[dict[TopicPartition, list[Any]]]) -> Any:
    """The records a finished ``getmany`` task took, else None (errors are dropped)."""
    if not get.done() or get.cancelled() or get.exception() is not None:
        return None
    return get.result()


def _gone(msg: InboundMessage) -> BrokerConnectionError:
    return BrokerConnectionError(
        f"message {msg.id} belongs to a partition this consumer no longer holds; "
        "the group delivers it again"
    )


def _due(headers: Mapping[str, str]) -> float:
    raw = headers.get(DUE_HEADER)
    if raw is None:
        return 0.0
    try:
        return float(raw)
    except ValueError:
        return 0.0


def _text(value: bytes | None) -> str:
    return "" if value is None else value.decode("utf-8", "replace")
