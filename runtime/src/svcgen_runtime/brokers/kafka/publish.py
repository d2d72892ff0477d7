"""Producing to Kafka: one record confirmed with ``acks=all``, and the topics it goes to.

``send`` maps aiokafka's errors onto the runtime's (retriable ones and timeouts mean
"the broker is away", the others will not go away); ``publish`` first creates a topic
it has not seen, with this broker's partitions and replication factor, through the
admin client; ``ensure_topics`` / ``delete_topics`` are the idempotent topic
administration that subscriptions and tests use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Final

from aiokafka.admin import NewTopic
from aiokafka.errors import KafkaError, KafkaTimeoutError

from ...errors import BrokerConnectionError, BrokerError, ConfigurationError
from ...message import safe_headers
from .clients import KafkaClients

log = logging.getLogger(__package__)  # the adapter's one logger, as before

TOPIC_ALREADY_EXISTS: Final = 36


class KafkaPublisher(KafkaClients):
    """Publishing and topic administration over a broker's producer and admin client."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        client_id: str | None,
        request_timeout_ms: int,
        partitions: int,
        replication_factor: int,
    ) -> None:
        super().__init__(
            name, url, client_id=client_id, request_timeout_ms=request_timeout_ms
        )
        self.partitions = partitions
        self.replication_factor = replication_factor
        self._known_topics: set[str] = set()

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

    async def ensure_topics(
        self,
        names: Iterable[str],
        *,
        partitions: int | None = None,
        replication_factor: int | None = None,
    ) -> None:
        """Create the topics that do not exist yet (idempotent), with ``partitions``
        and ``replication_factor`` (default: the broker's)."""
        admin = await self._admin_client()
        topics = [
            NewTopic(
                n,
                partitions or self.partitions,
                replication_factor or self.replication_factor,
            )
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

    async def partition_counts(self, names: Iterable[str]) -> dict[str, int]:
        """The number of partitions of each topic of ``names`` that exists."""
        admin = await self._admin_client()
        try:
            described = await admin.describe_topics(list(dict.fromkeys(names)))
        except KafkaError as exc:
            raise BrokerConnectionError(
                f"kafka broker {self.name!r} could not describe topics "
                f"({type(exc).__name__}: {exc}); check the broker"
            ) from exc
        counts: dict[str, int] = {}
        for topic in described:
            name = topic.get("topic", topic.get("name"))
            if topic.get("error_code", 0) == 0 and isinstance(name, str):
                counts[name] = len(topic.get("partitions") or [])
        return counts

    async def require_partitions(self, names: Iterable[str], wanted: int) -> None:
        """Refuse topics that exist with fewer than ``wanted`` partitions: the
        replicas beyond their count would get none to read."""
        for topic, count in (await self.partition_counts(names)).items():
            if count < wanted:
                raise ConfigurationError(
                    f"kafka topic {topic!r} has {count} partition(s) but {wanted} "
                    f"are asked for: add partitions with kafka-topics --alter --topic "
                    f"{topic} --partitions {wanted}, or lower the partitions option "
                    f"to {count}"
                )

    async def delete_topics(self, names: Iterable[str]) -> None:
        """Delete topics (for tests and tooling); missing ones are ignored."""
        topics = list(dict.fromkeys(names))
        admin = await self._admin_client()
        await admin.delete_topics(topics)
        self._known_topics.difference_update(topics)
