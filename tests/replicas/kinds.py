"""What the replica test and benchmark need of each broker kind: its server, unique
names recorded for cleanup, the options that keep a crash short, a publisher.

Kafka, RabbitMQ, NATS and Redis are the shared servers on loopback (cleaned up by the
contract harnesses, which record every name they hand out); MQTT runs on a private
Mosquitto whose queue limit is above the backlog (the shared one keeps Mosquitto's
default of 1,000 queued QoS 1 messages per session and drops the rest).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Final

from svcgen_runtime.brokers.base import Broker
from svcgen_runtime.brokers.kafka import KafkaBroker
from svcgen_runtime.brokers.mqtt import MqttBroker
from tests.contract.harness import Harness, unique

KINDS: Final = ("kafka", "rabbitmq", "nats", "redis", "mqtt")

PARTITIONS: Final = 6
"""Partitions of the Kafka source: two per replica."""
KAFKA_SESSION: Final = 15.0
"""Seconds of the Kafka group session: how long a SIGKILLed member would keep its
partitions if no replacement took them over. The members are static
(``membership: static``), so the killed replica's replacement, under the same name,
takes them back as it joins: on Tansu a join takes about half a session and a static
member's join and sync three more seconds, so the session must be above about 10 s
for that to be within it."""
ACK_WAIT: Final = 5.0
"""Seconds NATS waits for an ack before redelivering (the consumer's ``ack_wait``)."""
CLAIM_IDLE: Final = 5.0
"""Seconds a Redis entry stays pending before another consumer claims it (the
consumer's ``claim_idle``; the reclaim pass runs every second)."""

TUNING: Final[dict[str, dict[str, str]]] = {
    "kafka": {
        "partitions": str(PARTITIONS),
        "session_timeout": f"{KAFKA_SESSION:g}s",
        "membership": "static",
    },
    "nats": {"ack_wait": f"{ACK_WAIT:g}s"},
    "redis": {"claim_idle": f"{CLAIM_IDLE:g}s"},
}
"""The spec options (``consumers[].options``) each kind's crash recovery depends on."""


@dataclass
class Target:
    """One kind's server and the names one run uses on it."""

    kind: str
    url: str
    source: str
    group: str
    harness: Harness | None = None
    """The contract harness that cleans up ``source`` (None: a private server)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def publisher(self) -> Broker:
        if self.harness is not None:
            return self.harness.broker("publisher")
        return MqttBroker("publisher", self.url)

    async def prepare(self) -> None:
        """Kafka: create the source with ``PARTITIONS`` partitions before any
        replica starts, and check the count (the test's spec asks for the same with
        ``partitions``; the benchmark's, untuned, would create one)."""
        if self.kind != "kafka":
            return
        admin = KafkaBroker("admin", self.url, partitions=PARTITIONS)
        try:
            await admin.connect()
            await admin.ensure_topics([self.source])
            count = await partition_count(admin, self.source)
            if count != PARTITIONS:
                raise AssertionError(
                    f"{self.source} has {count} partitions, not {PARTITIONS}"
                )
        finally:
            await admin.close()

    async def cleanup(self) -> None:
        if self.harness is not None:
            await self.harness.cleanup()


async def partition_count(broker: KafkaBroker, topic: str) -> int:
    """Partitions of ``topic`` as the cluster's metadata tells them."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=broker.url.removeprefix("kafka://"))
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return len(described[0]["partitions"])


def target(kind: str, mqtt_url: str | None = None) -> Target:
    """A fresh source and group on ``kind``'s server (MQTT: on ``mqtt_url``)."""
    group = unique("replicas")
    if kind == "mqtt":
        if mqtt_url is None:
            raise ValueError("mqtt needs the URL of a private Mosquitto")
        return Target(kind, mqtt_url, f"svcgen-test/{unique('replicas')}", group)
    module = importlib.import_module(f"tests.contract.harness_{kind}")
    harness: Harness = module.Harness()
    source = harness.source("replicas")
    url = str(module.URL)
    return Target(kind, url, source, group, harness)
