"""Kafka adapter (aiokafka): consumer groups with contiguous manual commits and a retry topic.

| outcome          | Kafka                                                                 |
|------------------|-----------------------------------------------------------------------|
| Ack              | mark the offset done; commit the highest contiguous done offset + 1   |
|                  | per partition (after ``COMMIT_BATCH`` done or ``commit_interval`` s,  |
|                  | whichever first, one commit in flight; on revoke, on close)           |
| Nack requeue     | produce to ``<source>.retry`` with attempt+1 (acked), then mark done  |
| Nack no requeue  | produce to the dead-letter topic (acked, ``acks=all``), then mark done|
| Retry(after)     | produce to ``<source>.retry`` with attempt+1 and ``x-svcgen-due``;    |
|                  | a not-yet-due record pauses its retry partition until due             |
| delivery_count   | the ``x-svcgen-attempt`` header, else 1 (Kafka does not count reads)  |
| release          | the offset stays undone (the commit point stays below it); after a    |
|                  | failed settle the delivery is kept and handed out by a later fetch,   |
|                  | while stopping the group re-reads it after the rebalance or restart   |
| crash mid-handler| nothing past an unfinished offset is committed: the group re-reads it |
| reconnect        | aiokafka reconnects by itself (a cut connection costs a retry); after |
|                  | a session without a group coordinator ``fetch`` raises, the loop      |
|                  | re-subscribes, and uncommitted offsets are read again                 |
| rebalance        | revoked partitions commit what is done first; the source group and   |
|                  | the retry group rebalance independently                               |

One subscription is two aiokafka consumers, both with ``enable_auto_commit=False``:
one in group ``spec.group`` reads the source, one in group ``spec.group + retry_suffix``
(``<group>.retry``) reads the retry topic, and each partition's offsets are committed
through the consumer, and so the group, that reads it. Two consumers because aiokafka
keeps one fetch in flight per broker and consumer: with one consumer for both topics,
the long poll of the mostly empty retry topic, sent while the source's records were
still buffered, held up the source's next fetch (measured: about half the throughput
at ``fetch_max_wait_ms=500``). Two groups rather than one so that a retry consumer
joining or leaving never stops the source consumers of the group, and the reverse.

Handlers finish out of order, so each partition keeps the offsets it handed out in
order and commits only up to the first one not yet done: a crash never skips an
unfinished message, at the price of redelivering finished ones behind it
(at-least-once). ``release`` leaves a delivery undone, so the commit point stays below
it. While stopping, it is read again after the next rebalance or restart of the group
member. After a failed settle (``stopping=False``) the subscription keeps the delivery
and the next ``fetch`` hands it out again before anything new (the consume loop backs
off first); it is not sought back to, since a seek would also re-read, and with a
bounded fetch keep re-reading, the records behind it. A revoked partition's kept
deliveries are dropped (the group re-reads them). ``fetch(n)`` first takes what the two
consumers have already buffered (retry topic first, ``getmany(max_records=...)``, at
most ``n`` in all), and otherwise waits on both at once and takes from whichever
answers; records taken but not handed out (both answered, or the fetch was cancelled)
are given back by seeking their partition to them. What aiokafka prefetches is bounded
in bytes by ``max_partition_fetch_bytes``.

Retry records wait in the retry topic: a record not yet due is not handed out; its
partition is paused and rewound to it, and resumed by a timer at the due time. The
retry topic is first in, first out per partition, so a long delay holds back shorter
ones queued behind it in the same partition.

Options (``KafkaBroker`` keywords, overridable per consumer in ``options``):
``session_timeout_ms`` (10000), ``heartbeat_interval_ms`` (a third of it),
``max_poll_interval_ms`` (300000), ``commit_interval`` seconds (0.5),
``auto_offset_reset`` (``earliest``), ``max_partition_fetch_bytes`` (16 KiB per unit of
concurrency, 64 KiB to 1 MiB), ``fetch_max_wait_ms`` (500, aiokafka's default; the retry
consumer uses at most ``RETRY_FETCH_MAX_WAIT_MS``, 500, since a resumed retry partition
waits for the poll in flight). Broker-only: ``client_id``, ``partitions`` and
``replication_factor`` for the topics it creates, ``retry_suffix`` (``.retry``, also the
retry group's suffix), ``request_timeout_ms`` (40000).

Upgrading from the one-consumer layout: retry-topic offsets committed under
``spec.group`` are not read by ``<group>.retry``, which starts at ``auto_offset_reset``
(at-least-once: finished retries may run once more).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..cancel import cancel_and_wait
from ..errors import (
    BrokerConnectionError,
    BrokerError,
    ConfigurationError,
    require,
)
from ..message import (
    DUE_HEADER,
    InboundMessage,
    attempt_from_headers,
    due_header,
    safe_headers,
)
from ..retry import next_attempt_headers
from .base import SubscriptionSpec

require("aiokafka", "kafka")

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # noqa: E402
from aiokafka.abc import ConsumerRebalanceListener  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402
from aiokafka.errors import (  # noqa: E402
    ConsumerStoppedError,
    KafkaError,
    KafkaTimeoutError,
)
from aiokafka.structs import OffsetAndMetadata, TopicPartition  # noqa: E402

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS: Final = 36
RETRY_FETCH_MAX_WAIT_MS: Final = 500
"""The retry consumer's long poll at most: a resumed retry partition is fetched when
the poll in flight returns, so this bounds how late a due retry is read."""
COMMIT_BATCH: Final = 256
"""Finished messages that start a commit before ``commit_interval`` is up. At full
speed the interval alone let a SIGKILL re-read half a second of work (tens of
thousands of records); with one commit in flight at a time, a crash re-reads about
this many plus what finished during that commit's round trip."""
CLOSE_COMMIT_TIMEOUT: Final = 5.0
"""Seconds ``close`` waits for its last commit before giving up (the group re-reads)."""
ABANDONED_STOP_TIMEOUT: Final = 15.0
"""Seconds the broker's ``close`` waits for subscriptions whose start was cancelled
to finish starting and stop (a group join takes a few seconds)."""

_CONSUMER_OPTIONS: Final = frozenset(
    {
        "session_timeout_ms",
        "heartbeat_interval_ms",
        "max_poll_interval_ms",
        "commit_interval",
        "auto_offset_reset",
        "max_partition_fetch_bytes",
        "fetch_max_wait_ms",
    }
)


def _servers(url: str) -> list[str]:
    """``kafka://h1:9092,h2:9092`` or ``h1:9092,h2`` → ``["h1:9092", "h2:9092"]``."""
    rest = url.split("://", 1)[1] if "://" in url else url
    hosts = [h.strip() for h in rest.strip("/").split(",") if h.strip()]
    if not hosts:
        raise ConfigurationError(
            f"kafka url {url!r} names no server; use host:port[,host:port]"
        )
    return [h if ":" in h else f"{h}:9092" for h in hosts]


def _text(value: bytes | None) -> str:
    return "" if value is None else value.decode("utf-8", "replace")


class KafkaBroker:
    """A named connection to a Kafka cluster: one producer, one admin client.

    Args:
        name: the spec's broker name.
        url: bootstrap servers, ``host:port[,host:port]`` (a ``kafka://`` prefix is allowed).
        client_id: the Kafka client id; default ``svcgen-<name>``.
        partitions: partitions of topics this adapter creates.
        replication_factor: replication factor of topics this adapter creates.
        retry_suffix: the retry topic is ``<source><retry_suffix>``.
        request_timeout_ms: how long one Kafka request may take.
        session_timeout_ms, heartbeat_interval_ms, max_poll_interval_ms,
        commit_interval, auto_offset_reset, max_partition_fetch_bytes,
        fetch_max_wait_ms: consumer defaults, see the module docstring; a
            consumer's ``options`` override them.
    """

    kind = "kafka"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        client_id: str | None = None,
        partitions: int = 1,
        replication_factor: int = 1,
        retry_suffix: str = ".retry",
        request_timeout_ms: int = 40000,
        session_timeout_ms: int = 10000,
        heartbeat_interval_ms: int | None = None,
        max_poll_interval_ms: int = 300000,
        commit_interval: float = 0.5,
        auto_offset_reset: str = "earliest",
        max_partition_fetch_bytes: int | None = None,
        fetch_max_wait_ms: int = 500,
    ) -> None:
        if partitions < 1 or replication_factor < 1:
            raise ConfigurationError(
                f"kafka broker {name!r}: partitions and replication_factor must be at least 1"
            )
        self.name = name
        self.url = url
        self.servers = _servers(url)
        self.client_id = client_id or f"svcgen-{name}"
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.retry_suffix = retry_suffix
        self.request_timeout_ms = request_timeout_ms
        self.consumer_defaults: dict[str, Any] = {
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": heartbeat_interval_ms,
            "max_poll_interval_ms": max_poll_interval_ms,
            "commit_interval": commit_interval,
            "auto_offset_reset": auto_offset_reset,
            "max_partition_fetch_bytes": max_partition_fetch_bytes,
            "fetch_max_wait_ms": fetch_max_wait_ms,
        }
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        # Concurrent first publishes to new topics each found no admin client and
        # started one; all but the last were never closed (unclosed sockets).
        self._admin_lock = asyncio.Lock()
        self._lock = asyncio.Lock()
        self._known_topics: set[str] = set()
        self._abandoned: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        return self._producer is not None

    async def connect(self) -> None:
        async with self._lock:
            if self._producer is not None:
                return
            producer = AIOKafkaProducer(
                bootstrap_servers=self.servers,
                client_id=self.client_id,
                acks="all",
                enable_idempotence=False,
                request_timeout_ms=self.request_timeout_ms,
                linger_ms=0,
            )
            try:
                await producer.start()
            except BaseException as exc:
                # Cancelled too: a half-started client keeps its connections open.
                await _stop_clients(producer)
                if not isinstance(exc, Exception):
                    raise
                raise BrokerConnectionError(
                    f"kafka broker {self.name!r} cannot reach {','.join(self.servers)} "
                    f"({type(exc).__name__}: {exc}); start Kafka or fix the url"
                ) from exc
            self._producer = producer

    async def close(self) -> None:
        abandoned, self._abandoned = self._abandoned, set()
        if abandoned:  # subscriptions whose start was cancelled: stop them first
            _, late = await asyncio.wait(abandoned, timeout=ABANDONED_STOP_TIMEOUT)
            for task in late:
                log.warning(
                    "kafka broker %s: a cancelled subscription did not stop within "
                    "%ss; its connections are dropped",
                    self.name,
                    ABANDONED_STOP_TIMEOUT,
                )
                task.cancel()
        producer, self._producer = self._producer, None
        admin, self._admin = self._admin, None
        try:
            if producer is not None:
                await producer.stop()
        finally:
            if admin is not None:
                await admin.close()

    async def _ready_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            await self.connect()
        assert self._producer is not None
        return self._producer

    async def send(
        self,
        target: str,
        body: bytes,
        *,
        key: bytes | None,
        headers: Mapping[str, str],
    ) -> None:
        """Produce one record and wait for the broker's acknowledgement (``acks=all``)."""
        producer = await self._ready_producer()
        try:
            await producer.send_and_wait(
                target,
                body,
                key=key,
                # Values are bytes: a lone surrogate would not encode; the same
                # text as on every other broker.
                headers=[(k, v.encode()) for k, v in safe_headers(headers).items()],
            )
        except KafkaError as exc:
            # Retriable errors (timeouts, lost connections) mean "try again later";
            # the others (record too large, not authorized) will not go away.
            down = exc.retriable or isinstance(exc, KafkaTimeoutError)
            error = BrokerConnectionError if down else BrokerError
            raise error(
                f"kafka broker {self.name!r} did not confirm a record to {target!r} "
                f"({type(exc).__name__}: {exc}); check the broker and the record"
            ) from exc

    async def publish(
        self,
        target: str,
        body: bytes,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if target not in self._known_topics:
            # Create it with this broker's partitions rather than the server's
            # auto-create default; a cluster that refuses (ACLs) may still accept
            # the record, so only a failed send is an error.
            try:
                await self.ensure_topics([target])
            except BrokerError as exc:
                log.debug("kafka broker %s: %s", self.name, exc)
        await self.send(
            target,
            body,
            key=None if key is None else key.encode(),
            headers=headers or {},
        )

    async def _started_admin(self) -> AIOKafkaAdminClient:
        """The admin client, started once (callers hold ``_admin_lock``)."""
        if self._admin is not None:
            return self._admin
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.servers,
            client_id=f"{self.client_id}-admin",
            request_timeout_ms=self.request_timeout_ms,
        )
        try:
            await admin.start()
        except BaseException as exc:
            await _stop_clients(admin)
            if not isinstance(exc, Exception):
                raise
            raise BrokerConnectionError(
                f"kafka broker {self.name!r} cannot reach {','.join(self.servers)} "
                f"to create topics ({type(exc).__name__}: {exc}); start Kafka or fix the url"
            ) from exc
        self._admin = admin
        return admin

    async def ensure_topics(self, names: Iterable[str]) -> None:
        """Create the topics that do not exist yet (idempotent)."""
        async with self._admin_lock:
            admin = await self._started_admin()
        topics = [
            NewTopic(n, self.partitions, self.replication_factor)
            for n in dict.fromkeys(names)
        ]
        if not topics:
            return
        try:
            response = await admin.create_topics(topics)
        except KafkaError as exc:
            raise BrokerConnectionError(
                f"kafka broker {self.name!r} could not create topics "
                f"({type(exc).__name__}: {exc}); check the broker"
            ) from exc
        for topic, code, message in response.topic_errors:
            if code in (0, TOPIC_ALREADY_EXISTS):
                self._known_topics.add(topic)
            else:
                raise BrokerError(
                    f"kafka broker {self.name!r} refused to create topic {topic!r} "
                    f"(error {code}: {message}); create it by hand or fix its name"
                )

    async def delete_topics(self, names: Iterable[str]) -> None:
        """Delete topics (for tests and tooling); missing ones are ignored."""
        topics = list(dict.fromkeys(names))
        await self.ensure_topics([])
        assert self._admin is not None
        await self._admin.delete_topics(topics)
        self._known_topics.difference_update(topics)

    async def subscribe(self, spec: SubscriptionSpec) -> KafkaSubscription:
        options = {**self.consumer_defaults}
        unknown = sorted(set(spec.options) - _CONSUMER_OPTIONS)
        if unknown:
            raise ConfigurationError(
                f"consumer {spec.consumer!r}: unknown kafka option(s) {', '.join(unknown)}; "
                f"use {', '.join(sorted(_CONSUMER_OPTIONS))}"
            )
        options.update(spec.options)
        await self.connect()
        retry_topic = spec.source + self.retry_suffix
        topics = [spec.source, retry_topic]
        await self.ensure_topics(
            topics if spec.dead_letter is None else [*topics, spec.dead_letter]
        )
        fetch_bytes = options["max_partition_fetch_bytes"] or min(
            max(spec.concurrency * 16384, 65536), 1048576
        )
        session_ms = int(options["session_timeout_ms"])
        wait_ms = int(options["fetch_max_wait_ms"])

        def consumer(group: str, client: str, wait: int) -> AIOKafkaConsumer:
            return AIOKafkaConsumer(
                bootstrap_servers=self.servers,
                client_id=client,
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset=options["auto_offset_reset"],
                session_timeout_ms=session_ms,
                heartbeat_interval_ms=options["heartbeat_interval_ms"]
                or max(session_ms // 3, 100),
                max_poll_interval_ms=int(options["max_poll_interval_ms"]),
                max_partition_fetch_bytes=fetch_bytes,
                fetch_max_bytes=fetch_bytes * 4,
                fetch_max_wait_ms=wait,
                request_timeout_ms=self.request_timeout_ms,
            )

        client = f"{self.client_id}-{spec.consumer}"
        # Two consumers, two groups: aiokafka keeps one fetch in flight per broker, so
        # a long poll of the (usually empty) retry topic would hold up the source's
        # next fetch if one consumer read both (measured: half the throughput).
        source_consumer = consumer(spec.group, client, wait_ms)
        retry_consumer = consumer(
            spec.group + self.retry_suffix,
            f"{client}{self.retry_suffix}",
            min(wait_ms, RETRY_FETCH_MAX_WAIT_MS),
        )
        sub = KafkaSubscription(
            self,
            spec,
            source_consumer,
            retry_consumer,
            retry_topic,
            commit_interval=float(options["commit_interval"]),
            lost_after=session_ms / 1000.0,
        )
        source_consumer.subscribe([spec.source], listener=sub.listener)
        retry_consumer.subscribe([retry_topic], listener=sub.listener)
        # start() waits for the group join (seconds): both groups join at once.
        starting = asyncio.gather(
            source_consumer.start(), retry_consumer.start(), return_exceptions=True
        )
        try:
            # Never cancelled halfway: aiokafka drops a connection it is still
            # handshaking when start() is cancelled, and nothing can close it then.
            started = await asyncio.shield(starting)
        except asyncio.CancelledError:
            # A shutdown while the consume loop subscribes again: the start finishes
            # in the background, then both consumers stop (close() waits for it).
            self._abandoned.add(
                asyncio.create_task(
                    _stop_once_started(starting, source_consumer, retry_consumer)
                )
            )
            raise
        failed = [exc for exc in started if isinstance(exc, BaseException)]
        if failed:
            await _stop_clients(source_consumer, retry_consumer)
            exc = failed[0]
            raise BrokerConnectionError(
                f"kafka consumer {spec.consumer!r} could not start "
                f"({type(exc).__name__}: {exc}); check that Kafka is reachable"
            ) from exc
        sub.start()
        return sub


@dataclass(slots=True)
class _Partition:
    """Offsets handed out from one partition during one assignment, in order."""

    tp: TopicPartition
    taken: collections.deque[int] = field(default_factory=collections.deque)
    done: set[int] = field(default_factory=set)
    commit_to: int | None = None
    committed: int | None = None
    live: bool = True
    """False once the partition is revoked or the subscription closed."""

    def finish(self, offset: int) -> bool:
        """Mark ``offset`` done; return True when the commit point moved."""
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
        return moved

    @property
    def pending_commit(self) -> int | None:
        if self.commit_to is not None and self.commit_to != self.committed:
            return self.commit_to
        return None


@dataclass(slots=True)
class _Handle:
    part: _Partition
    offset: int
    key: bytes | None


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, sub: KafkaSubscription) -> None:
        self._sub = sub

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._sub.revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._sub.assigned(assigned)


class KafkaSubscription:
    """One subscription: a source consumer and a retry-topic consumer, each in its group."""

    heartbeat_interval: float | None = None

    def __init__(
        self,
        broker: KafkaBroker,
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
        self._commit_interval = commit_interval
        self._parts: dict[TopicPartition, _Partition] = {}
        self._wakeups: dict[TopicPartition, asyncio.TimerHandle] = {}
        self._dirty = asyncio.Event()
        self._done_since_commit = 0
        self._batch_full = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self._closed = False
        self._lost_after = lost_after
        self._lost_since: float | None = None
        self._failure: BaseException | None = None
        self._released: collections.deque[InboundMessage] = collections.deque()
        """Deliveries given back after a failed settle, for the next fetch."""
        self.listener = _Listener(self)

    def start(self) -> None:
        self._committer = asyncio.create_task(
            self._commit_loop(), name=f"kafka-commit-{self._spec.consumer}"
        )

    def _owner(self, tp: TopicPartition) -> AIOKafkaConsumer:
        return self._retry_consumer if tp.topic == self._retry_topic else self._consumer

    # -- fetching --------------------------------------------------------------

    async def fetch(
        self, max_messages: int, timeout: float
    ) -> Sequence[InboundMessage]:
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
            # Released deliveries first, then what the consumers hold already, without
            # waiting (a consumer whose group is rebalancing would block, so it is
            # left to the wait below).
            out = self._take_released(max_messages) if self._released else []
            got = False
            for consumer in self._consumers:
                room = max_messages - len(out)
                if room > 0 and _settled(consumer):
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
                self._lost_since = None
            else:
                self._check_coordinator()
            if out or deadline <= time.monotonic():
                return out

    async def _get(
        self, consumer: AIOKafkaConsumer, timeout: float, room: int
    ) -> dict[TopicPartition, list[Any]]:
        try:
            batches: dict[TopicPartition, list[Any]] = await consumer.getmany(
                timeout_ms=int(timeout * 1000), max_records=room
            )
        except (KafkaError, ConsumerStoppedError) as exc:
            raise BrokerConnectionError(
                f"kafka consumer {self._spec.consumer!r} failed "
                f"({type(exc).__name__}: {exc}); it is re-created"
            ) from exc
        return batches

    async def _wait(
        self, room: int, timeout: float
    ) -> tuple[bool, list[InboundMessage]]:
        """Wait on both consumers; take from whichever has records first.

        Records a consumer took but this fetch does not return (it was cancelled,
        or both consumers answered at once beyond ``room``) are given back by a
        seek, so the consumer reads them again.
        """
        gets = [
            asyncio.create_task(self._get(c, timeout, room)) for c in self._consumers
        ]
        try:
            await asyncio.wait(
                gets, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        except BaseException:
            for consumer, get in zip(self._consumers, gets, strict=True):
                get.cancel()  # no-op when done
                batches = _result(get)
                if batches:
                    _give_back(consumer, batches)
            raise
        out: list[InboundMessage] = []
        got = False
        for consumer, get in zip(self._consumers, gets, strict=True):
            if not get.done():
                get.cancel()  # still waiting: it ends before it takes anything
            elif (exc := get.exception()) is not None:
                self._failure = self._failure or exc
            elif batches := get.result():
                got = True
                out += self._accept(consumer, batches, room - len(out))
        if not out and self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        return got, out

    def _take_released(self, max_messages: int) -> list[InboundMessage]:
        """Released deliveries to hand out again, skipping revoked partitions'."""
        out: list[InboundMessage] = []
        released = self._released
        while released and len(out) < max_messages:
            msg = released.popleft()
            handle: _Handle = msg.native
            if handle.part.live:
                out.append(msg)
        return out

    def _check_coordinator(self) -> None:
        """Raise once a group coordinator has been unreachable for a session.

        aiokafka retries forever on its own; after a session timeout the group has
        dropped this member anyway, so the consume loop should report not-consuming
        and subscribe again (which also re-declares the topics).
        """
        lost = False
        for consumer in self._consumers:
            coordinator = getattr(consumer, "_coordinator", None)
            lost = lost or getattr(coordinator, "coordinator_id", 0) is None
        if not lost:
            self._lost_since = None
            return
        now = time.monotonic()
        if self._lost_since is None:
            self._lost_since = now
        elif now - self._lost_since > self._lost_after:
            raise BrokerConnectionError(
                f"kafka consumer {self._spec.consumer!r} has not reached its group "
                f"coordinator for {now - self._lost_since:.0f}s; it is re-created"
            )

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
                consumer.seek(tp, records[space].offset)  # a later fetch reads them
                if space <= 0:
                    continue
                records = records[:space]
            topic, partition = tp.topic, tp.partition
            retrying = topic == self._retry_topic
            part = self._parts.get(tp)
            if part is None:
                part = self._parts[tp] = _Partition(tp)
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
                        _Handle(part, offset, key),
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

    def _handle(self, msg: InboundMessage) -> _Handle:
        handle: _Handle = msg.native
        if not handle.part.live:
            raise _gone(msg)
        return handle

    def _finish(self, handle: _Handle) -> None:
        if handle.part.finish(handle.offset):
            self._dirty.set()
        self._done_since_commit += 1
        if self._done_since_commit == COMMIT_BATCH:
            self._batch_full.set()

    async def ack(self, msg: InboundMessage) -> None:
        # The hot path, inlined: mark done, let the commit loop pick it up.
        handle: _Handle = msg.native
        part = handle.part
        if not part.live:
            raise _gone(msg)
        if part.finish(handle.offset):
            self._dirty.set()
        self._done_since_commit += 1
        if self._done_since_commit == COMMIT_BATCH:
            self._batch_full.set()

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
        self._finish(self._handle(msg))

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
        self._finish(self._handle(msg))

    async def release(self, msg: InboundMessage, *, stopping: bool = True) -> None:
        """Leave the offset undone: the commit point never passes it.

        While stopping, the group reads it again after this member closes or loses
        the partition. After a failed settle it is kept for the next ``fetch``:
        Kafka records do not change, so handing out the same record again is a
        re-read, without seeking the partition back over the records behind it.
        """
        handle: _Handle = msg.native
        if not stopping and not self._closed and handle.part.live:
            self._released.append(msg)

    async def in_progress(self, msg: InboundMessage) -> None:
        return None

    # -- commits ---------------------------------------------------------------

    async def _commit_loop(self) -> None:
        """Commit once a batch of messages is done or the interval is up, whichever
        comes first; never more than one commit in flight."""
        while True:
            await self._dirty.wait()
            if not self._batch_full.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._commit_interval):
                        await self._batch_full.wait()
            self._dirty.clear()
            self._batch_full.clear()
            self._done_since_commit = 0
            if not await self._commit(self._parts.values()):
                self._dirty.set()  # try again after the next interval
                await asyncio.sleep(self._commit_interval)

    async def _commit(self, parts: Iterable[_Partition]) -> bool:
        """Commit every partition's contiguous done point; True when it succeeded.

        Each offset goes through the consumer (and group) that owns its partition.
        """
        pending = [(p, pos) for p in parts if (pos := p.pending_commit) is not None]
        ok = True
        for consumer in self._consumers:
            mine = [(p, pos) for p, pos in pending if self._owner(p.tp) is consumer]
            if not mine:
                continue
            try:
                await consumer.commit(
                    {p.tp: OffsetAndMetadata(pos, "") for p, pos in mine}
                )
            except KafkaError as exc:
                log.warning(
                    "kafka consumer %s: commit failed (%s: %s); finished messages "
                    "after the last commit may be delivered again",
                    self._spec.consumer,
                    type(exc).__name__,
                    exc,
                )
                ok = False
                continue
            for part, pos in mine:
                if part.committed is None or pos > part.committed:
                    part.committed = pos
        return ok

    async def revoked(self, revoked: set[TopicPartition]) -> None:
        """Before a rebalance: commit what is done, forget the rest (it is re-read)."""
        parts = [p for tp in revoked if (p := self._parts.get(tp)) is not None]
        if parts and not self._closed:
            await self._commit(parts)
        for tp in revoked:
            part = self._parts.pop(tp, None)
            if part is not None:
                part.live = False
            wake = self._wakeups.pop(tp, None)
            if wake is not None:
                wake.cancel()

    def assigned(self, assigned: set[TopicPartition]) -> None:
        # Bookkeeping of the previous assignment was dropped in ``revoked``; the new one
        # starts from the committed offsets.
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
            part = self._parts.get(tp)
            point = part.commit_to if part is not None else None
            if point is None:
                point = await consumer.committed(tp)
            if point is None:
                point = await consumer.position(tp)
            total += max(0, end - point)
            known = True
        return total if known else None

    async def close(self) -> None:
        """Commit what is done, cancel retry timers, leave both groups."""
        if self._closed:
            return
        if self._committer is not None:
            await cancel_and_wait([self._committer], what="kafka committer")
        for wake in self._wakeups.values():
            wake.cancel()
        self._wakeups.clear()
        try:
            async with asyncio.timeout(CLOSE_COMMIT_TIMEOUT):
                await self._commit(list(self._parts.values()))
        except TimeoutError:
            log.warning(
                "kafka consumer %s: last commit timed out; finished messages after "
                "the previous commit will be delivered again",
                self._spec.consumer,
            )
        self._closed = True
        for part in self._parts.values():
            part.live = False
        self._parts.clear()
        self._released.clear()
        for consumer in self._consumers:
            await self._stop(consumer)

    async def _stop(self, consumer: AIOKafkaConsumer) -> None:
        """Leave the group; a broker that cannot be reached only costs a warning."""
        try:
            await consumer.stop()
        except asyncio.CancelledError:
            # aiokafka can leak a CancelledError of its own tasks when the broker is
            # unreachable; only a cancellation of this task may propagate.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            log.warning(
                "kafka consumer %s: stopped uncleanly (broker unreachable)",
                self._spec.consumer,
            )
        except KafkaError as exc:
            log.warning(
                "kafka consumer %s: stopping failed (%s: %s)",
                self._spec.consumer,
                type(exc).__name__,
                exc,
            )


async def _stop_clients(*clients: Any) -> None:
    """Stop aiokafka clients that failed or were cancelled while starting.

    Shielded: a second cancellation of the caller does not leave them half-closed
    (their connections would otherwise stay open until garbage collection).
    """

    async def stop(client: Any) -> None:
        if isinstance(client, AIOKafkaAdminClient):
            await client.close()
        else:
            await client.stop()

    stopping = asyncio.gather(*(stop(c) for c in clients), return_exceptions=True)
    for result in await asyncio.shield(stopping):
        if isinstance(result, BaseException):
            log.debug("kafka: stopping a client that did not start failed: %r", result)


async def _stop_once_started(
    starting: asyncio.Future[Any], *consumers: AIOKafkaConsumer
) -> None:
    await asyncio.wait([starting])
    await _stop_clients(*consumers)


def _settled(consumer: AIOKafkaConsumer) -> bool:
    """False while the consumer's group reassigns partitions (``getmany`` would block)."""
    subscription = getattr(consumer, "_subscription", None)
    return getattr(subscription, "reassignment_in_progress", True) is False


def _result(get: asyncio.Task[dict[TopicPartition, list[Any]]]) -> Any:
    """The records a finished ``getmany`` task took, else None (errors are dropped)."""
    if not get.done() or get.cancelled() or get.exception() is not None:
        return None
    return get.result()


def _give_back(
    consumer: AIOKafkaConsumer, batches: Mapping[TopicPartition, Any]
) -> None:
    """Rewind each partition to the first record taken but not handed out."""
    assigned = consumer.assignment()
    for tp, records in batches.items():
        if records and tp in assigned:
            consumer.seek(tp, records[0].offset)


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
