"""The broker kinds: one row per kind, everything the generator knows about it.

The spec's ``kind``, the ``svcgen new --broker`` choices, the plan's runtime
classes, ``svcgen new``'s default URLs, the AsyncAPI protocols and the spec's
per-kind checks all read ``BROKERS``. A kind has one name everywhere: the spec's
``kind``, the runtime module ``svcgen_runtime.brokers.<kind>`` and its extra.
Adding a kind is a row here (and its name in ``BrokerKind``), the adapter package
and its tests; see CONTRIBUTING.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

BrokerKind = Literal["memory", "kafka", "rabbitmq", "nats", "redis", "mqtt"]
"""The kinds, in the order the spec's JSON Schema and error messages list them."""

Use = Literal["consume", "publish", "task"]
Ordering = Literal["key", "partition"]
AddressField = Literal["source", "target", "dead_letter", "group"]
"""Where an address appears: a consumer's source or group, a publisher's target,
a consumer's or task's dead-letter destination."""

AddressRule = Callable[[str, AddressField], str | None]
"""Why a kind's broker would refuse an address in a field, or None."""


def _any_address(value: str, field: AddressField) -> str | None:
    return None  # any broker's rules are checked by the spec's models


_KAFKA_TOPIC: Final = re.compile(r"^[A-Za-z0-9._-]+$")


def _kafka_address(value: str, field: AddressField) -> str | None:
    if field != "group" and (not _KAFKA_TOPIC.match(value) or value in (".", "..")):
        return (
            f"{value!r} is not a Kafka topic name: use letters, digits, '.', '_' "
            "and '-' only, such as orders.created"
        )
    return None


def _rabbitmq_address(value: str, field: AddressField) -> str | None:
    if field != "group" and value.startswith("amq."):
        return (
            f"{value!r} starts with 'amq.', which RabbitMQ keeps for itself; "
            "choose another name, such as orders.created"
        )
    return None


_NATS_SUBJECT: Final = re.compile(r"^[^.*>$][^.*>]*(\.[^.*>]+)*$")


def _nats_address(value: str, field: AddressField) -> str | None:
    if field != "group" and not _NATS_SUBJECT.match(value):
        return (
            f"{value!r} is not a NATS subject to read or send on: write tokens "
            "separated by single dots, without wildcards ('*', '>') or a leading "
            "'$', such as orders.created"
        )
    return None


def _mqtt_address(value: str, field: AddressField) -> str | None:
    if field == "group":
        if any(c in value for c in "/+#"):
            return (
                f"{value!r} cannot name an MQTT shared subscription: remove '/', "
                "'+' and '#'"
            )
        return None
    if value.startswith("$"):
        return f"{value!r} starts with '$', which MQTT keeps for the broker's topics"
    if field != "source" and any(c in value for c in "+#"):
        return (
            f"{value!r} is not an MQTT topic to send on: remove the wildcards "
            "('+', '#'), which only a consumer's source may use"
        )
    return None


def _mqtt_matches(topic_filter: str, topic: str) -> bool:
    """Whether the MQTT ``topic_filter`` ('+' one level, '#' the rest) matches."""
    levels = topic.split("/")
    for n, part in enumerate(topic_filter.split("/")):
        if part == "#":
            return True
        if n >= len(levels) or part not in ("+", levels[n]):
            return False
    return len(levels) == len(topic_filter.split("/"))


_ALL_USES: Final[frozenset[Use]] = frozenset({"consume", "publish", "task"})


@dataclass(frozen=True)
class TaskKeyStore:
    """The store that keeps a kind's task idempotency keys on the broker's server."""

    cls: str
    """The class in ``svcgen_runtime.idempotency``."""
    where: str
    """Where the keys live, as app.py's comment says it."""
    name_arg: Literal["prefix", "bucket"]
    """The store's second argument: the keys' prefix, or the bucket's name."""
    before_cache: bool
    """Chosen even when the spec has a redis cache (whose server could keep them)."""


def _nats_name(subject: str) -> str:
    """A JetStream stream or consumer name as the runtime derives it from a subject
    or group (``svcgen_runtime.brokers.nats.names.name_for``: ``a.b`` → ``a_b``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", subject)


@dataclass(frozen=True)
class OptionInfo:
    """How one spec ``options`` key of a kind reaches the runtime adapter."""

    runtime: str
    """The adapter's subscription option (in its ``OPTIONS``) that takes the value."""
    per_second: int | None = None
    """A duration the adapter takes as a whole number of 1/per_second seconds (1000:
    milliseconds, 1: seconds); None: as the spec gives it (durations in seconds)."""
    broker: bool = False
    """The broker's constructor takes it too (as the same keyword), as the default of
    what the broker creates outside any consumer (topics and streams it publishes to)."""
    reader: Literal["whole", "duration", "choice"] = "whole"
    """How its start-up override is read (``svcgen_runtime.overrides.KEYS`` has the
    reader of each key): a whole number, a duration or one of the model's choices."""


@dataclass(frozen=True)
class Scaler:
    """The KEDA trigger that scales a kind's consumers on their backlog."""

    trigger: str
    """The trigger's ``type`` in a ScaledObject."""
    connection: str
    """The trigger's metadata key (or TriggerAuthentication parameter) that takes
    the server's address."""
    from_secret: str | None
    """None: ``<connection>FromEnv`` names the Deployment's variable holding the
    broker's URL as the spec gives it. Else the suffix of the Secret key (after the
    broker's name in capitals) a TriggerAuthentication reads the address from,
    because the scaler wants it in another form than the runtime's URL."""
    threshold: str
    """The metadata key of the backlog per replica (``autoscale.lag_per_replica``)."""
    backlog: Callable[[str, str], dict[str, str]]
    """The metadata naming a consumer's backlog, from its source and group, with
    the names the runtime adapter uses."""


@dataclass(frozen=True)
class BrokerKindInfo:
    """What svcgen knows about one broker kind."""

    name: BrokerKind
    cls: str
    """The runtime class, in ``module``."""
    protocol: str
    """The AsyncAPI server protocol."""
    url_var: str | None
    """The environment variable of ``svcgen new``'s URL; None for an in-process
    broker, which takes no URL."""
    url_default: str | None
    """That variable's default, a server on localhost."""
    orderings: frozenset[Ordering]
    """The consumer ``ordering`` modes besides ``none``."""
    task_keys: TaskKeyStore | None
    """The store keeping task idempotency keys (and schedule fires) on the broker's
    own server, shared by every replica; None where a redis cache or a postgres
    database must keep them (or, for an in-process broker, the process)."""
    options: frozenset[str] = frozenset()
    """The subscription options the runtime adapter takes (its ``OPTIONS``)."""
    spec_options: Mapping[str, OptionInfo] = field(default_factory=dict)
    """The keys of the spec's ``options`` this kind takes (on a broker, consumer or
    task) and the runtime option each becomes; the spec's option models hold their
    types (``tests/generator/test_kinds.py`` keeps both in step)."""
    uses: frozenset[Use] = _ALL_USES
    """What the kind can be used for; the spec is checked against it."""
    address_problem: AddressRule = _any_address
    """The kind's own rules for topics, queues, subjects and groups."""
    wildcards: Mapping[str, str] = field(default_factory=dict)
    """Wildcards a consumer's source may hold, and how a topic derived from it (its
    retry topic, its default dead-letter topic) spells each, as the runtime does."""
    source_matches: Callable[[str, str], bool] | None = None
    """Whether a source with wildcards matches a topic (None: no wildcards)."""
    scaler: Scaler | None = None
    """The KEDA trigger of ``autoscale`` (None: KEDA cannot see this kind's backlog)."""

    @property
    def shares_task_keys(self) -> bool:
        """Every replica sees the same task keys without a cache or database."""
        return self.task_keys is not None or self.in_process

    @property
    def module(self) -> str:
        """The runtime module holding ``cls``."""
        return f"svcgen_runtime.brokers.{self.name}"

    @property
    def in_process(self) -> bool:
        """The broker lives in the service's process: no URL, no server, no extra."""
        return self.url_var is None

    @property
    def extra(self) -> str | None:
        """The svcgen-runtime extra that installs the kind's client library."""
        return None if self.in_process else self.name

    @property
    def default_url(self) -> str | None:
        """The URL ``svcgen new`` writes into the spec."""
        if self.url_var is None:
            return None
        return f"${{{self.url_var}:-{self.url_default}}}"

    def default_dead_letter(self, source: str) -> str:
        """``<source>.dlq``, the source's wildcards spelled as in a topic."""
        for wildcard, spelling in self.wildcards.items():
            source = source.replace(wildcard, spelling)
        return f"{source}.dlq"


BROKERS: Final[Mapping[str, BrokerKindInfo]] = {
    row.name: row
    for row in (
        BrokerKindInfo(
            name="memory",
            cls="MemoryBroker",
            protocol="memory",
            url_var=None,
            url_default=None,
            orderings=frozenset({"key"}),
            task_keys=None,
        ),
        BrokerKindInfo(
            name="kafka",
            cls="KafkaBroker",
            protocol="kafka",
            url_var="KAFKA_URL",
            url_default="localhost:9092",
            orderings=frozenset({"key", "partition"}),
            task_keys=None,
            options=frozenset(
                {
                    "auto_offset_reset",
                    "commit_interval",
                    "fetch_max_wait_ms",
                    "heartbeat_interval_ms",
                    "max_partition_fetch_bytes",
                    "max_poll_interval_ms",
                    "membership",
                    "partitions",
                    "replication_factor",
                    "session_timeout_ms",
                }
            ),
            spec_options={
                "partitions": OptionInfo("partitions", broker=True),
                "replication_factor": OptionInfo("replication_factor", broker=True),
                "session_timeout": OptionInfo(
                    "session_timeout_ms",
                    per_second=1000,
                    broker=True,
                    reader="duration",
                ),
                "membership": OptionInfo("membership", broker=True, reader="choice"),
            },
            address_problem=_kafka_address,
            scaler=Scaler(
                trigger="kafka",
                connection="bootstrapServers",
                from_secret=None,
                threshold="lagThreshold",
                # the consumer group's lag on the source topic (the retry topic's
                # group, <group>.retry, holds only messages waiting for a retry)
                backlog=lambda source, group: {"topic": source, "consumerGroup": group},
            ),
        ),
        BrokerKindInfo(
            name="rabbitmq",
            cls="RabbitMQBroker",
            protocol="amqp",
            url_var="RABBITMQ_URL",
            url_default="amqp://guest:guest@localhost:5672/",
            orderings=frozenset({"key"}),
            task_keys=None,
            options=frozenset({"delivery_limit", "queue_type", "quorum"}),
            spec_options={
                "queue_type": OptionInfo("queue_type", reader="choice"),
                "delivery_limit": OptionInfo("delivery_limit"),
            },
            address_problem=_rabbitmq_address,
            scaler=Scaler(
                trigger="rabbitmq",
                connection="host",
                from_secret=None,
                threshold="value",
                # the runtime consumes the queue named by the source
                backlog=lambda source, group: {
                    "queueName": source,
                    "mode": "QueueLength",
                },
            ),
        ),
        BrokerKindInfo(
            name="nats",
            cls="NatsBroker",
            protocol="nats",
            url_var="NATS_URL",
            url_default="nats://localhost:4222",
            orderings=frozenset({"key"}),
            task_keys=TaskKeyStore(
                "NatsIdempotency",
                "in a JetStream key-value bucket",
                name_arg="bucket",
                before_cache=False,
            ),
            options=frozenset(
                {
                    "ack_wait",
                    "dead_letter_stream",
                    "deliver_policy",
                    "double_ack",
                    "max_ack_pending",
                    "max_deliver",
                    "replicas",
                    "storage",
                    "stream",
                }
            ),
            spec_options={
                "ack_wait": OptionInfo("ack_wait", reader="duration"),
                "max_deliver": OptionInfo("max_deliver"),
                "replicas": OptionInfo("replicas", broker=True),
                "storage": OptionInfo("storage", broker=True, reader="choice"),
            },
            address_problem=_nats_address,
            scaler=Scaler(
                trigger="nats-jetstream",
                connection="natsServerMonitoringEndpoint",
                from_secret="_MONITORING_ENDPOINT",
                threshold="lagThreshold",
                # the stream the runtime creates for the source, and its durable
                # pull consumer named after the group
                backlog=lambda source, group: {
                    "stream": _nats_name(source),
                    "consumer": _nats_name(group),
                },
            ),
        ),
        BrokerKindInfo(
            name="redis",
            cls="RedisBroker",
            protocol="redis",
            url_var="REDIS_URL",
            url_default="redis://localhost:6379/0",
            orderings=frozenset({"key"}),
            task_keys=TaskKeyStore(
                "RedisIdempotency", "in Redis", name_arg="prefix", before_cache=True
            ),
            scaler=Scaler(
                trigger="redis-streams",
                connection="address",
                from_secret="_ADDRESS",
                threshold="pendingEntriesCount",
                # the stream is the source, read through the consumer group
                backlog=lambda source, group: {
                    "stream": source,
                    "consumerGroup": group,
                },
            ),
            options=frozenset(
                {
                    "ack_flush_delay",
                    "claim_idle",
                    "claim_interval",
                    "consumer_name",
                    "maxlen",
                    "mover_interval",
                    "prune_idle",
                }
            ),
            spec_options={
                "claim_idle": OptionInfo("claim_idle", reader="duration"),
                "maxlen": OptionInfo("maxlen", broker=True),
            },
        ),
        BrokerKindInfo(
            name="mqtt",
            cls="MqttBroker",
            protocol="mqtt",
            url_var="MQTT_URL",
            url_default="mqtt://localhost:1883",
            orderings=frozenset(),
            task_keys=None,
            options=frozenset(
                {
                    "buffer",
                    "client_id",
                    "declare_dead_letter",
                    "receive_maximum",
                    "retry_topic",
                    "session_expiry",
                    "shared",
                }
            ),
            spec_options={
                "session_expiry": OptionInfo(
                    "session_expiry", per_second=1, broker=True, reader="duration"
                ),
            },
            uses=frozenset({"consume", "publish"}),
            address_problem=_mqtt_address,
            wildcards={"+": "%2B", "#": "%23"},
            source_matches=_mqtt_matches,
        ),
    )
}
"""Every broker kind by name, in ``BrokerKind``'s order."""

BROKER_KINDS: Final[tuple[str, ...]] = tuple(BROKERS)

USUAL_TASK_KIND: Final = "redis"
"""The kind the spec's messages advise for tasks."""
