"""``KafkaBroker``, the adapter: its options, and ``subscribe``, which ties the parts.

A subscription is two consumers (the source in ``spec.group``, the retry topic in
``spec.group + retry_suffix``) made and started by ``clients``, reading topics created
by ``publish``, handed to a ``KafkaSubscription`` that tracks and commits what they
deliver (see the package docstring).
"""

from __future__ import annotations

from typing import Any, Final

from ...errors import ConfigurationError
from ..base import SubscriptionSpec
from .membership import CHOICES
from .publish import KafkaPublisher
from .subscription import KafkaSubscription

RETRY_FETCH_MAX_WAIT_MS: Final = 500
"""The retry consumer's long poll, whatever the source's ``fetch_max_wait_ms``: a
resumed retry partition is fetched when the poll in flight returns, so this bounds
how late a due retry is read. Not shortened with the source's: the retry topic is
mostly empty, and an empty long poll answered every 10 ms (a source tuned for
latency) cost the source's deliveries 0.5-0.9 ms at p99 in ``benchmarks/latency.py``
on the same event loop."""

OPTIONS: Final = frozenset(
    {
        "session_timeout_ms",
        "heartbeat_interval_ms",
        "max_poll_interval_ms",
        "commit_interval",
        "auto_offset_reset",
        "max_partition_fetch_bytes",
        "fetch_max_wait_ms",
        "partitions",
        "replication_factor",
        "membership",
    }
)


class KafkaBroker(KafkaPublisher):
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
        fetch_max_wait_ms, membership: consumer defaults, see the package docstring; a
            consumer's ``options`` override them (``partitions`` and
            ``replication_factor`` too, for the topics its subscription creates).
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
        membership: str = "dynamic",
    ) -> None:
        if partitions < 1 or replication_factor < 1:
            raise ConfigurationError(
                f"kafka broker {name!r}: partitions and replication_factor must be at least 1"
            )
        super().__init__(
            name,
            url,
            client_id=client_id,
            request_timeout_ms=request_timeout_ms,
            partitions=partitions,
            replication_factor=replication_factor,
        )
        self.retry_suffix = retry_suffix
        self.consumer_defaults: dict[str, Any] = {
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": heartbeat_interval_ms,
            "max_poll_interval_ms": max_poll_interval_ms,
            "commit_interval": commit_interval,
            "auto_offset_reset": auto_offset_reset,
            "max_partition_fetch_bytes": max_partition_fetch_bytes,
            "fetch_max_wait_ms": fetch_max_wait_ms,
            "partitions": partitions,
            "replication_factor": replication_factor,
            "membership": membership,
        }

    async def subscribe(self, spec: SubscriptionSpec) -> KafkaSubscription:
        options = {**self.consumer_defaults}
        spec.check_options(self.kind, OPTIONS)
        options.update(spec.options)
        if options["membership"] not in CHOICES:
            raise ConfigurationError(
                f"consumer {spec.consumer!r}: kafka membership "
                f"{options['membership']!r} is not one of {', '.join(CHOICES)}"
            )
        await self.connect()
        retry_topic = spec.source + self.retry_suffix
        topics = [spec.source, retry_topic]
        partitions = int(options["partitions"])
        await self.ensure_topics(
            topics if spec.dead_letter is None else [*topics, spec.dead_letter],
            partitions=partitions,
            replication_factor=int(options["replication_factor"]),
        )
        if partitions > 1:
            await self.require_partitions(topics, partitions)
        fetch_bytes = options["max_partition_fetch_bytes"] or min(
            max(spec.concurrency * 16384, 65536), 1048576
        )
        wait_ms = int(options["fetch_max_wait_ms"])
        client = f"{self.client_id}-{spec.consumer}"
        # Two consumers, two groups: aiokafka keeps one fetch in flight per broker, so
        # a long poll of the (usually empty) retry topic would hold up the source's
        # next fetch if one consumer read both (measured: half the throughput).
        source_consumer = self._new_consumer(
            spec.group, client, options, fetch_bytes=fetch_bytes, wait_ms=wait_ms
        )
        retry_consumer = self._new_consumer(
            spec.group + self.retry_suffix,
            f"{client}{self.retry_suffix}",
            options,
            fetch_bytes=fetch_bytes,
            wait_ms=RETRY_FETCH_MAX_WAIT_MS,
        )
        sub = KafkaSubscription(
            self,
            spec,
            source_consumer,
            retry_consumer,
            retry_topic,
            commit_interval=float(options["commit_interval"]),
            lost_after=int(options["session_timeout_ms"]) / 1000.0,
        )
        source_consumer.subscribe([spec.source], listener=sub.listener)
        retry_consumer.subscribe([retry_topic], listener=sub.retry_listener)
        # Both groups join at once (seconds each); subscribed once both assigned.
        await self._start_consumers(spec.consumer, source_consumer, retry_consumer)
        sub.start()
        try:
            await sub.wait_assigned(self.request_timeout_ms / 1000)
        except BaseException:
            await sub.close()
            raise
        return sub
