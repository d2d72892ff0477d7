"""The aiokafka clients of one Kafka broker and their lifecycle.

The producer (started by ``connect``), the admin client (started once, under its
lock), the consumers of each subscription (made here, started together and shielded
from cancellation, stopped with a warning at worst), and the subscriptions whose start
was cancelled, which ``close`` waits for. A client that failed or was cancelled while
starting is always stopped: aiokafka would otherwise keep its connections open. And
what a subscription reads off its consumers without a request: whether a group is
rebalancing (``settled``), whether records are buffered (``buffered``), whether the
coordinators have been gone for a session (``CoordinatorWatch``), and each
consumer's rebalance ``Listener``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from ...errors import BrokerConnectionError, ConfigurationError
from .membership import claim_instance, leave_when_stopped, release_instance

log = logging.getLogger(__package__)  # the adapter's one logger, as before

instances: dict[AIOKafkaConsumer, tuple[str, str]] = {}
"""The group and instance id of each static member made here and not yet stopped."""

ABANDONED_STOP_TIMEOUT: Final = 15.0
"""Seconds the broker's ``close`` waits for subscriptions whose start was cancelled
to finish starting and stop (a group join takes a few seconds)."""


def bootstrap_servers(url: str) -> list[str]:
    """``kafka://h1:9092,h2:9092`` or ``h1:9092,h2`` → ``["h1:9092", "h2:9092"]``."""
    rest = url.split("://", 1)[1] if "://" in url else url
    hosts = [h.strip() for h in rest.strip("/").split(",") if h.strip()]
    if not hosts:
        raise ConfigurationError(
            f"kafka url {url!r} names no server; use host:port[,host:port]"
        )
    return [h if ":" in h else f"{h}:9092" for h in hosts]


class KafkaClients:
    """The connections of one named Kafka broker: one producer, one admin client."""

    def __init__(
        self, name: str, url: str, *, client_id: str | None, request_timeout_ms: int
    ) -> None:
        self.name = name
        self.url = url
        self.servers = bootstrap_servers(url)
        self.client_id = client_id or f"svcgen-{name}"
        self.request_timeout_ms = request_timeout_ms
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        # Concurrent first publishes to new topics each found no admin client and
        # started one; all but the last were never closed (unclosed sockets).
        self._admin_lock = asyncio.Lock()
        self._lock = asyncio.Lock()
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
            await self._start(producer)
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

    async def _admin_client(self) -> AIOKafkaAdminClient:
        """The admin client, started once."""
        async with self._admin_lock:
            if self._admin is not None:
                return self._admin
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.servers,
                client_id=f"{self.client_id}-admin",
                request_timeout_ms=self.request_timeout_ms,
            )
            await self._start(admin, purpose="to create topics ")
            self._admin = admin
            return admin

    async def _start(
        self, client: AIOKafkaProducer | AIOKafkaAdminClient, *, purpose: str = ""
    ) -> None:
        """Start the producer or the admin client; stop it if that fails."""
        try:
            await client.start()
        except BaseException as exc:
            # Cancelled too: a half-started client keeps its connections open.
            await stop_clients(client)
            if not isinstance(exc, Exception):
                raise
            raise BrokerConnectionError(
                f"kafka broker {self.name!r} cannot reach {','.join(self.servers)} "
                f"{purpose}({type(exc).__name__}: {exc}); start Kafka or fix the url"
            ) from exc

    def _new_consumer(
        self,
        group: str,
        client: str,
        options: Mapping[str, Any],
        *,
        fetch_bytes: int,
        wait_ms: int,
    ) -> AIOKafkaConsumer:
        """A consumer of ``group`` that commits only when told to; with ``membership:
        static``, under a claimed instance id (``membership``)."""
        session_ms = int(options["session_timeout_ms"])
        instance = claim_instance(group) if options["membership"] == "static" else None
        consumer = AIOKafkaConsumer(
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
            fetch_max_wait_ms=wait_ms,
            request_timeout_ms=self.request_timeout_ms,
            group_instance_id=instance,
        )
        if instance is not None:
            instances[consumer] = (group, instance)
        return consumer

    async def _start_consumers(
        self, consumer_name: str, *consumers: AIOKafkaConsumer
    ) -> None:
        """Start ``consumers`` together (each ``start`` waits for its group join).

        Never cancelled halfway: aiokafka drops a connection it is still handshaking
        when ``start`` is cancelled, and nothing can close it then. Cancelled, the
        start goes on in the background and the consumers stop once it is over
        (``close`` waits for that); failed, they are stopped at once.
        """
        starting = asyncio.gather(
            *(c.start() for c in consumers), return_exceptions=True
        )
        try:
            started = await asyncio.shield(starting)
        except asyncio.CancelledError:
            # A shutdown while the consume loop subscribes again.
            self._abandoned.add(
                asyncio.create_task(_stop_once_started(starting, *consumers))
            )
            raise
        failed = [exc for exc in started if isinstance(exc, BaseException)]
        for consumer, result in zip(consumers, started, strict=True):
            static = instances.get(consumer)
            if static is not None and not isinstance(result, BaseException):
                leave_when_stopped(consumer._coordinator, static[1])
        if failed:
            await stop_clients(*consumers)
            exc = failed[0]
            raise BrokerConnectionError(
                f"kafka consumer {consumer_name!r} could not start "
                f"({type(exc).__name__}: {exc}); check that Kafka is reachable"
            ) from exc


async def stop_clients(
    *clients: AIOKafkaProducer | AIOKafkaConsumer | AIOKafkaAdminClient,
) -> None:
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
    try:
        for result in await asyncio.shield(stopping):
            if isinstance(result, BaseException):
                log.debug(
                    "kafka: stopping a client that did not start failed: %r", result
                )
    finally:
        for client in clients:
            release(client)


async def _stop_once_started(
    starting: asyncio.Future[Any], *consumers: AIOKafkaConsumer
) -> None:
    await asyncio.wait([starting])
    await stop_clients(*consumers)


async def stop_consumer(consumer: AIOKafkaConsumer, consumer_name: str) -> None:
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
            "kafka consumer %s: stopped uncleanly (broker unreachable)", consumer_name
        )
    except KafkaError as exc:
        log.warning(
            "kafka consumer %s: stopping failed (%s: %s)",
            consumer_name,
            type(exc).__name__,
            exc,
        )
    finally:
        release(consumer)


def release(client: Any) -> None:
    """Give up the instance id of a static member that stopped (``claims``)."""
    static = instances.pop(client, None)
    if static is not None:
        release_instance(*static)


def settled(consumer: AIOKafkaConsumer) -> bool:
    """False while the consumer's group reassigns partitions (``getmany`` would block)."""
    subscription = getattr(consumer, "_subscription", None)
    return getattr(subscription, "reassignment_in_progress", True) is False


def buffered(consumer: AIOKafkaConsumer) -> bool:
    """Whether aiokafka holds fetched records (or a fetch error) for ``consumer``;
    True when it cannot tell. Asking an empty buffer through ``getmany`` costs a
    few microseconds a fetch, most of a fetch at ``concurrency: 1``."""
    records = getattr(getattr(consumer, "_fetcher", None), "_records", None)
    return True if records is None else bool(records)


class CoordinatorWatch:
    """Raises once a group coordinator has been unreachable for a session.

    aiokafka retries forever on its own; after a session timeout the group has
    dropped this member anyway, so the consume loop should report not-consuming
    and subscribe again (which also re-declares the topics).
    """

    def __init__(
        self, consumers: Sequence[AIOKafkaConsumer], name: str, lost_after: float
    ) -> None:
        self._consumers = consumers
        self._name = name
        self._lost_after = lost_after
        self._lost_since: float | None = None

    def reached(self) -> None:
        """Records came: the coordinators are there."""
        self._lost_since = None

    def check(self) -> None:
        """Raise ``BrokerConnectionError`` once a coordinator has been unknown for
        ``lost_after`` seconds (nothing came meanwhile)."""
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
                f"kafka consumer {self._name!r} has not reached its group "
                f"coordinator for {now - self._lost_since:.0f}s; it is re-created"
            )


class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """One consumer's rebalance listener, passing revocations and assignments on.
    ``joined`` is set once its group has assigned it partitions (or none, when the
    group has more members than partitions)."""

    def __init__(
        self,
        revoked: Callable[[set[TopicPartition]], Awaitable[None]],
        assigned: Callable[[set[TopicPartition]], None],
    ) -> None:
        self._revoked = revoked
        self._assigned = assigned
        self.joined = asyncio.Event()
        self.partitions = 0
        """How many partitions the group assigned this member (0 while it rebalances)."""

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.partitions = 0
        await self._revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._assigned(assigned)
        self.partitions = len(assigned)
        self.joined.set()
