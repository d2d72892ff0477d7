"""The pydantic models of service.yaml, and its JSON Schema.

Each key's docstring is its description in the JSON Schema and in docs/spec.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import ConfigDict, Field, model_validator

from .kinds import BrokerKind
from .names import package_name
from .spec_hooks import FunctionRefs, HooksSpec, MiddlewareSpec
from .spec_hooks import SpecModel as _Model
from .spec_values import (
    DEFAULT_DEDUPE_KEY,
    DURATION_PATTERN,
    EMPTY_DICT,
    EMPTY_LIST,
    Address,
    DedupeKey,
    Duration,
    EnvString,
    MessageRef,
    Name,
    NonBlank,
    Plain,
    PositiveDuration,
    ServiceName,
    Text,
)


class KafkaOptions(_Model):
    """The options of a kafka broker, consumer or task."""

    partitions: int | None = Field(default=None, ge=1, le=10000)
    """kafka: partitions of the topics svcgen creates (the source, its ``.retry``
    topic, the dead-letter topic; default 1); a consumer refuses to start when its
    source or retry topic exists with fewer."""
    replication_factor: int | None = Field(default=None, ge=1, le=100)
    """kafka: copies of each partition of the topics svcgen creates (default 1; at
    most the number of Kafka brokers)."""
    session_timeout: PositiveDuration | None = None
    """kafka: how long the group waits for a silent consumer before its partitions go
    to another replica (default 10s; the server allows 6s to 30m by default)."""
    membership: Literal["dynamic", "static"] | None = None
    """kafka: ``static`` joins the group under an instance id that a replica keeps
    across restarts (its name and a number), so a killed replica's replacement takes
    back its partitions as soon as it joins, without waiting for the session to
    expire (default dynamic)."""


class RabbitMQOptions(_Model):
    """The options of a rabbitmq broker, consumer or task."""

    queue_type: Literal["classic", "quorum"] | None = None
    """rabbitmq: the type of the queues svcgen declares (the source and its dead-letter
    queue; default classic); an existing queue must have been declared the same."""
    delivery_limit: int | None = Field(default=None, ge=1, le=1000000)
    """rabbitmq, quorum queues: deliveries after which the server moves a message that
    keeps coming back (a handler that crashes the process) to the dead-letter queue
    (default: the server's own)."""


class NatsOptions(_Model):
    """The options of a nats broker, consumer or task."""

    ack_wait: PositiveDuration | None = None
    """nats: how long the server waits for a settle before it redelivers (to another
    replica after a crash; default 30s); a running handler extends it every half."""
    max_deliver: int | None = Field(default=None, ge=1, le=1000000)
    """nats: deliveries after which the server stops delivering a message (default
    unlimited); at least ``retry.max_attempts``, so the retry policy dead-letters
    first."""
    replicas: int | None = Field(default=None, ge=1, le=5)
    """nats: copies of the streams svcgen creates (default 1; at most the cluster's
    servers, 5)."""
    storage: Literal["file", "memory"] | None = None
    """nats: where the streams svcgen creates keep messages (default file)."""


class RedisOptions(_Model):
    """The options of a redis broker, consumer or task."""

    claim_idle: PositiveDuration | None = None
    """redis: how long an entry stays pending with a consumer before another replica
    claims it (default 30s); a running handler extends it."""
    maxlen: int | None = Field(default=None, ge=1, le=1000000000)
    """redis: keep each stream at about this many entries (``MAXLEN ~``, oldest trimmed
    first, read or not) on every append svcgen makes and on the consumer's source
    (default unlimited)."""


class MqttOptions(_Model):
    """The options of an mqtt broker, consumer or task."""

    session_expiry: Duration | None = None
    """mqtt: how long the server keeps a consumer's session (its subscription and
    queued messages) after it disconnects (whole seconds; default 7 days)."""


class OptionsSpec(
    KafkaOptions, RabbitMQOptions, NatsOptions, RedisOptions, MqttOptions
):
    """Broker options: keys of the broker's kind only (each key names its kind).

    On a broker, the defaults of its consumers and tasks (and of what it creates); on
    a consumer or task, each key overrides the broker's.
    """


OPTION_MODELS: Final[Mapping[str, type[_Model]]] = {
    "kafka": KafkaOptions,
    "rabbitmq": RabbitMQOptions,
    "nats": NatsOptions,
    "redis": RedisOptions,
    "mqtt": MqttOptions,
}
"""The option model of each kind that takes options."""


class BrokerSpec(_Model):
    """A named broker connection; ``url`` may use ``${VAR}`` and ``${VAR:-default}``."""

    kind: BrokerKind
    """The broker; it names the adapter module and the svcgen-runtime extra (memory
    needs none)."""
    url: EnvString | None = None
    """Where to connect; ``${VAR}`` and ``${VAR:-default}`` are read from the
    environment at startup."""
    options: Annotated[OptionsSpec, EMPTY_DICT] = Field(default_factory=OptionsSpec)
    """The kind's options (see ``OptionsSpec``): the defaults of every consumer and
    task on this broker and of the topics, queues and streams it creates."""
    description: Text = ""
    """Free text, written into the generated code as a comment."""


class RouteSpec(_Model):
    """One HTTP route, served by ``routes/<name>.py``."""

    name: Name
    """The route's module, ``routes/<name>.py``."""
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    """The HTTP method."""
    path: NonBlank
    """The URL path, such as ``/orders/{order_id}``."""
    description: Text = ""
    """Free text, written into the generated code as a docstring."""


class HttpSpec(_Model):
    """The HTTP server: its port and routes (``/healthz`` and ``/readyz`` are built in)."""

    port: int = Field(default=8000, ge=1, le=65535)
    """The port, overridable by ``HTTP_PORT`` at startup."""
    routes: Annotated[list[RouteSpec], EMPTY_LIST] = Field(default_factory=list)
    """The routes; ``/healthz``, ``/readyz`` and ``/metrics`` are always served."""


class RetrySpec(_Model):
    """How a failed message is tried again before it is dead-lettered."""

    max_attempts: int = Field(default=3, ge=1, le=1000)
    """Deliveries before a message is dead-lettered, the first one included."""
    backoff: Literal["exponential", "constant"] = "exponential"
    """How the wait after an exception or a timeout grows from ``initial``."""
    initial: Duration = 1.0
    """The first wait after an exception or a timeout."""
    max: Duration = 60.0
    """The longest wait; ``initial`` may not exceed it."""
    jitter: bool = True
    """Full jitter: wait a random time up to the computed one."""

    @model_validator(mode="after")
    def _initial_within_max(self) -> RetrySpec:
        if self.initial > self.max:
            raise ValueError(
                f"initial ({self.initial:g}s) exceeds max ({self.max:g}s): raise max "
                "or lower initial"
            )
        return self


DEDUPE_WINDOW: Final = 7 * 24 * 3600.0


class DedupeSpec(_Model):
    """Run each message's handler at most once per key: the key is recorded in the
    postgres database in the handler's own transaction, and a message whose key is
    already there is acked without running the handler. Needs
    ``resources.database`` of kind postgres."""

    key: DedupeKey = DEFAULT_DEDUPE_KEY
    """Where a message's key is read: ``header:<name>`` or ``body:<field>`` (a
    top-level field of a JSON body); the default header is the stable id every
    outbox publisher sets."""
    window: PositiveDuration = DEDUPE_WINDOW
    """How long a key is remembered (default 168h, which ``7d`` also writes); a
    repeat arriving later runs the handler again."""


class ConsumerSpec(_Model):
    """Reads ``source`` on ``broker`` and runs ``handlers/<name>.py`` per message."""

    name: Name
    """The handler's module, ``handlers/<name>.py``."""
    broker: str
    """A key of ``brokers``."""
    source: Address
    """The topic, queue, subject or stream read."""
    group: Address | None = None
    """The consumer group all replicas share; defaults to the consumer's name."""
    message: MessageRef | None = None
    """``module:Class`` of a pydantic model the body is decoded into; raw bytes when
    unset."""
    concurrency: int = Field(default=1, ge=1, le=10000)
    """Most handlers running at once; also bounds prefetch."""
    ordering: Literal["none", "key", "partition"] = "none"
    """``key``: one message of a key at a time; ``partition`` (kafka): one per
    partition."""
    timeout: PositiveDuration = 30.0
    """Longest a handler may run before it is cancelled and retried."""
    retry: RetrySpec = Field(default_factory=RetrySpec)
    """How a failed message is tried again."""
    dead_letter: Address | None = None
    """Where exhausted, rejected and poison messages go: default ``<source>.dlq``;
    ``none`` drops them after logging."""
    options: Annotated[OptionsSpec, EMPTY_DICT] = Field(default_factory=OptionsSpec)
    """The broker kind's options for this consumer; each overrides the broker's."""
    dedupe: DedupeSpec | None = None
    """Effects exactly once: skip a message whose key was already handled (see
    ``DedupeSpec``; ``dedupe: {}`` takes the defaults). Needs a postgres
    database."""
    middleware: FunctionRefs = Field(default_factory=list)
    """Middleware around this consumer's handler only, inside the service-wide
    ``middleware.consumers`` (see ``MiddlewareSpec``)."""
    description: Text = ""
    """Free text, written into the generated code as a comment and docstring."""


class PublisherSpec(_Model):
    """Sends messages to ``target`` on ``broker``; handlers reach it as ``ctx.<name>``."""

    name: Name
    """The attribute handlers use, ``ctx.<name>``."""
    broker: str
    """A key of ``brokers``."""
    target: Address
    """The topic, queue, subject or stream written."""
    message: MessageRef | None = None
    """``module:Class`` of the pydantic model published; bytes when unset."""
    outbox: bool = False
    """Write each message to an outbox table, in the transaction of the handler or
    route that publishes it, and send it after commit (a relay retries until the
    broker confirms); every message carries the ``svcgen-message-id`` header, a
    stable id a dedupe consumer removes duplicates by. Needs a postgres database."""
    description: Text = ""
    """Free text, written into the generated code as a comment and docstring."""


class TaskSpec(_Model):
    """A durable task queue on ``broker``; ``tasks/<name>.py`` runs each task.

    Handlers enqueue it with ``await ctx.tasks.<name>.enqueue(args, delay=..., key=...)``.
    """

    name: Name
    """The task's module, ``tasks/<name>.py``, and ``ctx.tasks.<name>``."""
    broker: str
    """A key of ``brokers``; redis is the usual choice."""
    args: MessageRef | None = None
    """``module:Class`` of the pydantic model of the task's arguments."""
    concurrency: int = Field(default=1, ge=1, le=10000)
    """Most tasks running at once in one replica."""
    timeout: PositiveDuration = 300.0
    """Longest a task may run before it is cancelled and retried."""
    retry: RetrySpec = Field(default_factory=RetrySpec)
    """How a failed task is tried again."""
    dead_letter: Address | None = None
    """Where exhausted, rejected and poison tasks go: default ``tasks.<name>.dlq``;
    ``none`` drops them after logging."""
    options: Annotated[OptionsSpec, EMPTY_DICT] = Field(default_factory=OptionsSpec)
    """The broker kind's options for this task's queue; each overrides the broker's."""
    key_window: PositiveDuration = 86400.0
    """How long an enqueue ``key`` is remembered; a repeat within it is dropped."""
    description: Text = ""
    """Free text, written into the generated code as a comment and docstring."""


class ScheduleSpec(_Model):
    """Enqueues ``task`` at each fire time of ``cron`` (in ``timezone``) or ``every``;
    ``schedules/<name>.py`` builds the task's arguments."""

    name: Name
    """The schedule's module, ``schedules/<name>.py``."""
    cron: Plain | None = None
    """A cron expression such as ``0 3 * * *``; give ``cron`` or ``every``."""
    every: PositiveDuration | None = None
    """A fixed period such as ``30s``; give ``cron`` or ``every``."""
    timezone: Plain = "UTC"
    """The IANA time zone ``cron`` is read in."""
    task: str
    """The name of the task each fire enqueues."""
    description: Text = ""
    """Free text, written into the generated code as a comment and docstring."""


class CacheSpec(_Model):
    """The cache (``ctx.cache``): bytes with a TTL, every key under ``prefix``.

    ``url`` for redis only; ``prefix`` defaults to ``<service name>:``.
    """

    kind: Literal["memory", "redis"]
    """In memory (one replica) or redis (shared)."""
    url: EnvString | None = None
    """The redis URL; ``${VAR}`` and ``${VAR:-default}`` are read at startup."""
    prefix: Plain | None = None
    """The prefix of every key; defaults to ``<service name>:``."""


class PoolSpec(_Model):
    """Connections of a postgres pool."""

    min: int = Field(default=1, ge=0, le=1000)
    """Connections opened at startup."""
    max: int = Field(default=10, ge=1, le=1000)
    """Most connections open at once."""


class DatabaseSpec(_Model):
    """The database (``ctx.database``): sqlite (a file) or postgres (a pool).

    sqlite: ``path`` (default ``${DATABASE_PATH:-data/<package>.db}``); ``timeout`` is
    how long to wait for another process's lock (default 5s). postgres: ``url``,
    ``pool`` sizes (default min 1, max 10); ``timeout`` is the per-statement limit
    (default 30s).
    """

    kind: Literal["sqlite", "postgres"]
    """sqlite (a file) or postgres (a pool)."""
    url: EnvString | None = None
    """The postgres URL; ``${VAR}`` and ``${VAR:-default}`` are read from the
    environment."""
    path: EnvString | None = None
    """The sqlite file; defaults to ``${DATABASE_PATH:-data/<package>.db}``."""
    pool: PoolSpec | None = None
    """The postgres pool's size; defaults to min 1, max 10."""
    timeout: PositiveDuration | None = None
    """sqlite: wait for another process's lock (default 5s); postgres: per-statement
    limit (default 30s)."""


class StorageSpec(_Model):
    """Object storage (``ctx.storage``): memory, or files under ``path`` (fs)."""

    kind: Literal["memory", "fs"]
    """In memory or files on disk (fs)."""
    path: EnvString | None = None
    """The fs storage's root folder."""


class ResourcesSpec(_Model):
    """Resources the Application opens before consumers start and closes last."""

    cache: CacheSpec | None = None
    """``ctx.cache``."""
    database: DatabaseSpec | None = None
    """``ctx.database``."""
    storage: StorageSpec | None = None
    """``ctx.storage``."""


class ShutdownSpec(_Model):
    """How long in-flight work may take to finish after SIGTERM."""

    drain_timeout: PositiveDuration = 25.0
    """How long in-flight handlers may run after SIGTERM before they are cancelled."""


class AutoscaleSpec(_Model):
    """Scale replicas on the consumers' backlog with a KEDA ``ScaledObject``
    (``deploy/base/scaledobject.yaml``): one trigger per consumer on kafka (consumer
    group lag), rabbitmq (queue length), nats (JetStream consumer pending) or redis
    (stream pending entries); mqtt and memory consumers have none."""

    min: int = Field(default=1, ge=0, le=1000)
    """The fewest replicas (0 lets KEDA scale the service to zero when idle)."""
    max: int = Field(ge=1, le=1000)
    """The most replicas; at least ``min``."""
    lag_per_replica: int = Field(default=100, ge=1, le=1000000)
    """The backlog (messages waiting) one replica is meant to work through: KEDA
    runs about backlog / lag_per_replica replicas."""

    @model_validator(mode="after")
    def _min_within_max(self) -> AutoscaleSpec:
        if self.min > self.max:
            raise ValueError(
                f"min ({self.min}) exceeds max ({self.max}): raise max or lower min"
            )
        return self


class ServiceSpec(_Model):
    """service.yaml: the single source of truth of a generated service."""

    model_config = ConfigDict(title="svcgen service spec")

    name: ServiceName
    """The service and its Python package (``-`` becomes ``_``)."""
    description: Text = ""
    """Free text, written into the generated code as a docstring."""
    brokers: Annotated[dict[Name, BrokerSpec], EMPTY_DICT] = Field(default_factory=dict)
    """The broker connections by name."""
    http: HttpSpec | None = None
    """The HTTP server; without it a small listener serves the probes and metrics."""
    consumers: Annotated[list[ConsumerSpec], EMPTY_LIST] = Field(default_factory=list)
    """What the service reads."""
    publishers: Annotated[list[PublisherSpec], EMPTY_LIST] = Field(default_factory=list)
    """What handlers send."""
    tasks: Annotated[list[TaskSpec], EMPTY_LIST] = Field(default_factory=list)
    """Durable task queues."""
    schedules: Annotated[list[ScheduleSpec], EMPTY_LIST] = Field(default_factory=list)
    """Periodic enqueues of a task."""
    resources: Annotated[ResourcesSpec, EMPTY_DICT] = Field(
        default_factory=ResourcesSpec
    )
    """Cache, database and storage."""
    shutdown: ShutdownSpec = Field(default_factory=ShutdownSpec)
    """Drain settings."""
    autoscale: AutoscaleSpec | None = None
    """Scale on the consumers' backlog with KEDA; without it, a fixed replica count."""
    hooks: HooksSpec | None = None
    """Functions run at start and at stop, once per process (see ``HooksSpec``)."""
    middleware: MiddlewareSpec | None = None
    """Functions around every handler and route (see ``MiddlewareSpec``)."""

    @property
    def package(self) -> str:
        """The Python package the service lives in."""
        return package_name(self.name)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of service.yaml, for editors."""
    schema = ServiceSpec.model_json_schema()
    _duration_defaults(schema)
    _options_by_kind(schema["$defs"]["BrokerSpec"])
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _options_by_kind(broker: dict[str, Any]) -> None:
    """A broker's ``options`` take the keys of its ``kind`` only (a choice by kind)."""
    broker["allOf"] = [
        {
            "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
            "then": {
                "properties": {
                    "options": {
                        "propertyNames": {
                            "enum": list(OPTION_MODELS[kind].model_fields)
                            if kind in OPTION_MODELS
                            else []
                        }
                    }
                }
            },
        }
        for kind in get_args(BrokerKind)
    ]


def _duration_defaults(node: object) -> None:
    """Durations are strings in YAML: show their defaults as such (30.0 → "30s",
    whole hours in hours: 86400.0 → "24h")."""
    if isinstance(node, dict):
        default = node.get("default")
        if node.get("pattern") == DURATION_PATTERN and isinstance(default, float):
            if default >= 3600 and (default / 3600).is_integer():
                node["default"] = f"{default / 3600:g}h"
            else:
                node["default"] = (
                    f"{default:g}s" if default >= 1 else f"{default * 1000:g}ms"
                )
        for value in node.values():
            _duration_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _duration_defaults(value)
