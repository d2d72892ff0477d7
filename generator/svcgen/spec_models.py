"""The pydantic models of service.yaml, and its JSON Schema.

Each key's docstring is its description in the JSON Schema and in docs/spec.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .kinds import BrokerKind
from .spec_values import (
    DURATION_PATTERN,
    EMPTY_DICT,
    EMPTY_LIST,
    Address,
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


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True
    )


class BrokerSpec(_Model):
    """A named broker connection; ``url`` may use ``${VAR}`` and ``${VAR:-default}``."""

    kind: BrokerKind
    """The broker; it names the adapter module and the svcgen-runtime extra (memory
    needs none)."""
    url: EnvString | None = None
    """Where to connect; ``${VAR}`` and ``${VAR:-default}`` are read from the
    environment at startup."""
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

    @property
    def package(self) -> str:
        """The Python package the service lives in."""
        return self.name.replace("-", "_")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of service.yaml, for editors."""
    schema = ServiceSpec.model_json_schema()
    _duration_defaults(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _duration_defaults(node: object) -> None:
    """Durations are strings in YAML: show their defaults as such (30.0 → "30s")."""
    if isinstance(node, dict):
        default = node.get("default")
        if node.get("pattern") == DURATION_PATTERN and isinstance(default, float):
            node["default"] = (
                f"{default:g}s" if default >= 1 else f"{default * 1000:g}ms"
            )
        for value in node.values():
            _duration_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _duration_defaults(value)
