"""The spec: pydantic models of service.yaml, and a loader that reports errors by line.

``load_spec`` parses the YAML with PyYAML's libyaml-backed safe loader (YAML 1.2
booleans, positions kept; ``add-*`` edits use ruamel's round trip instead, see
``edit``), validates it with the models below (``extra="forbid"``) plus the
cross-reference checks a model cannot express (``spec_checks``: a consumer's broker
exists and supports the use, names are unique, a schedule's task exists, ...), and
raises one ``SpecError`` listing every problem, duplicate keys included, sorted by
position.
"""

from __future__ import annotations

import difflib
import keyword
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from .errors import ProjectError, SpecError, SpecIssue

SPEC_FILENAME: Final = "service.yaml"

BrokerKind = Literal["memory", "kafka", "rabbitmq", "nats", "redis", "mqtt"]
BROKER_KINDS: Final[tuple[str, ...]] = get_args(BrokerKind)

USES: Final[Mapping[str, frozenset[str]]] = {
    "memory": frozenset({"consume", "publish", "task", "ordering:key"}),
    "kafka": frozenset(
        {"consume", "publish", "task", "ordering:key", "ordering:partition"}
    ),
    "rabbitmq": frozenset({"consume", "publish", "task", "ordering:key"}),
    "nats": frozenset({"consume", "publish", "task", "ordering:key"}),
    "redis": frozenset({"consume", "publish", "task", "ordering:key"}),
    "mqtt": frozenset({"consume", "publish"}),
}
"""What each broker kind can be used for; the spec is checked against it."""

RESERVED_CONTEXT_NAMES: Final = frozenset({"tasks", "cache", "database", "storage"})
"""Context attributes kept for tasks and resources; publishers may not take them."""

PROBE_PATHS: Final = frozenset({"/healthz", "/readyz"})


def task_keys_prefix(service: str) -> str:
    """Where a service keeps task idempotency keys and schedule fires in Redis.

    Outside the cache's default prefix (``<service>:``), so ``cache.clear()`` never
    deletes them.
    """
    return f"svcgen-keys:{service}:"


def task_keys_bucket(service: str) -> str:
    """The JetStream key-value bucket of a service's task keys on a NATS broker."""
    return f"svcgen-keys-{service}"  # service names are already [a-z0-9_-]


DURATION_PATTERN: Final = r"^\d+(\.\d+)?(ms|s|m|h)$"
DURATION_MAX: Final = 366 * 24 * 3600.0
"""The longest duration (a year): longer ones overflow timers and clocks."""
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_TAKEN_PACKAGES: Final = frozenset(
    {
        # svcgen, its runtime, and what a generated service imports or installs
        # (svcgen-runtime's dependencies and extras, the skeleton's test tools):
        # a service package with one of these names would hide it.
        "svcgen",
        "svcgen_runtime",
        "anyio",
        "sniffio",
        "starlette",
        "uvicorn",
        "h11",
        "httptools",
        "uvloop",
        "websockets",
        "watchfiles",
        "pydantic",
        "pydantic_core",
        "annotated_types",
        "typing_extensions",
        "typing_inspection",
        "httpx",
        "httpcore",
        "certifi",
        "idna",
        "pytest",
        "pytest_asyncio",
        "_pytest",
        "pluggy",
        "iniconfig",
        "packaging",
        "aiokafka",
        "kafka",
        "async_timeout",
        "aio_pika",
        "aiormq",
        "pamqp",
        "yarl",
        "multidict",
        "propcache",
        "nats",
        "redis",
        "paho",
        "croniter",
        "dateutil",
        "pytz",
        "six",
        "asyncpg",
        "aiosqlite",
        "opentelemetry",
        "prometheus_client",
        "importlib_metadata",
        "zipp",
        "wrapt",
        "deprecated",
        "setuptools",
        "pip",
        "pkg_resources",
        "mypy",
        "ruff",
    }
)
NAME_MAX: Final = 64
"""Longest name: it becomes a file name (``handlers/<name>.py``) and identifiers."""
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_MESSAGE_REF = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
)
ENV_REFERENCE: Final = re.compile(
    r"\$\{(?P<var>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}"
)


# -- scalar types ----------------------------------------------------------------


def parse_duration(value: object) -> float:
    """``250ms`` / ``30s`` / ``5m`` / ``1h`` in seconds."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"expected a duration such as 250ms, 30s, 5m or 1h, got {_describe(value)}"
        )
    match = _DURATION.match(value.strip())
    if match is None:
        raise ValueError(
            f"{value[:40]!r} is not a duration: write a number and a unit, such as "
            "250ms, 30s, 5m or 1h"
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not seconds <= DURATION_MAX:
        raise ValueError(
            f"{value[:40]!r} is longer than {DURATION_MAX / 3600:g}h (a year), the "
            "longest duration svcgen takes; write a shorter one, such as 24h"
        )
    return seconds


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")
"""Characters that have no place in a value that reaches code or a file name."""
_CONTROL_IN_TEXT = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]"
)
"""The same for free text (descriptions), where newlines and tabs are fine."""


def control_character(value: str, *, text: bool = False) -> str | None:
    """The first control character of ``value`` (``repr``-quoted), or None."""
    found = (_CONTROL_IN_TEXT if text else _CONTROL).search(value)
    return None if found is None else repr(found.group())


def _check_text(value: str) -> str:
    bad = control_character(value, text=True)
    if bad is not None:
        raise ValueError(
            f"contains the control character {bad}; remove it (newlines and tabs "
            "are fine)"
        )
    return value


def _check_plain(value: str) -> str:
    bad = control_character(value)
    if bad is not None:
        raise ValueError(f"contains the control character {bad}; remove it")
    return value


def _check_name(value: str) -> str:
    if len(value) > NAME_MAX:
        raise ValueError(
            f"{value[:20]!r}... is {len(value)} characters long; a name has at most "
            f"{NAME_MAX}, since it names a file and a Python identifier"
        )
    if value.startswith("_"):
        bare = value.strip("_")
        valid = _NAME.match(bare) and not keyword.iskeyword(bare)
        example = bare if valid else "order_created"
        raise ValueError(
            f"{value!r} starts with an underscore, which Python keeps for private and "
            f"special names such as __init__; start it with a letter, such as {example}"
        )
    if not _NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use a Python identifier of lowercase "
            "letters, digits and underscores, such as order_created"
        )
    if keyword.iskeyword(value):
        raise ValueError(
            f"{value!r} is a Python keyword, so it cannot name a module or an "
            f"attribute; choose another name, such as {value}_"
        )
    if value == "l":
        raise ValueError(
            "'l' reads like 1 and I, so linters refuse it as a name (E741); choose "
            "a longer name"
        )
    return value


def _check_service_name(value: str) -> str:
    package = value.replace("-", "_")
    if len(value) > NAME_MAX:
        raise ValueError(
            f"{value[:20]!r}... is {len(value)} characters long; a service name has "
            f"at most {NAME_MAX}, since it names the package's directory"
        )
    if not _SERVICE_NAME.match(value) or keyword.iskeyword(package):
        raise ValueError(
            f"{value!r} is not a valid service name: use lowercase letters, digits, "
            "'-' and '_', starting with a letter, such as orders"
        )
    if package in sys.stdlib_module_names or package in _TAKEN_PACKAGES:
        raise ValueError(
            f"{value!r} would make a package that hides the module {package} the "
            "service needs; choose another name, such as "
            f"{package}_service"
        )
    return value


STUB_NAMES: Final = frozenset(
    {"Ack", "BaseModel", "BROKERS", "Context", "InboundMessage", "Outcome", "Tasks"}
)
"""Names the user-owned stubs import beside a message class under their own name
(app.py aliases a class that clashes with its own imports), and app.py's one
capitalised global."""


def _check_message_ref(value: str) -> str:
    if not _MESSAGE_REF.match(value):
        raise ValueError(
            f"{value!r} is not a message reference: write module:Class, such as "
            "orders.models:OrderCreated"
        )
    if len(value) > ADDRESS_MAX:
        raise ValueError(
            f"{value[:40]!r}... is longer than {ADDRESS_MAX} characters; shorten "
            "the module path"
        )
    module, cls = value.split(":")
    for part in (*module.split("."), cls):
        if keyword.iskeyword(part):
            raise ValueError(
                f"{value!r} has the Python keyword {part!r}, which cannot be "
                f"imported; rename it, such as {part}_"
            )
        if len(part) > NAME_MAX:
            raise ValueError(
                f"{value!r} has a part longer than {NAME_MAX} characters; shorten it"
            )
    if not cls[0].isupper():
        raise ValueError(
            f"{value!r} names the class {cls!r}; name a message class in CapWords "
            f"(starting with a capital), such as "
            f"{''.join(p.capitalize() for p in cls.split('_') if p) or 'Message'}"
        )
    if cls in STUB_NAMES:
        raise ValueError(
            f"{value!r} names the class {cls!r}, a name the generated code uses "
            f"itself; rename the class, such as {cls.capitalize()}Message"
        )
    return value


def _check_env_syntax(value: str) -> str:
    _check_plain(value)
    rest = ENV_REFERENCE.sub("", value)
    if "${" in rest or "$" in rest:
        raise ValueError(
            f"{value!r} has a malformed environment reference: write ${{VAR}} or "
            "${VAR:-default}"
        )
    return value


def _check_positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be longer than 0, such as 30s")
    return value


def _check_not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


ADDRESS_MAX: Final = 200
"""Longest topic, queue, subject, stream or group: brokers add suffixes to it
(``.retry``, ``.dlq``, ``.delay.<ms>``) and cap names near 250 bytes."""
_ADDRESS_REFUSED = re.compile(r"[\s\"'\\`]")


def _check_address(value: str) -> str:
    """A broker address as any broker may take it; per-kind rules are in
    ``spec_checks``."""
    _check_not_blank(value)
    bad = control_character(value)
    if bad is not None:
        raise ValueError(f"contains the control character {bad}; remove it")
    found = _ADDRESS_REFUSED.search(value)
    if found is not None:
        raise ValueError(
            f"{value!r} contains {found.group()!r}; a topic, queue, subject or group "
            "takes no spaces, quotes or backslashes, such as orders.created"
        )
    if len(value.encode("utf-8")) > ADDRESS_MAX:
        raise ValueError(
            f"is {len(value.encode('utf-8'))} bytes long; brokers take at most "
            f"{ADDRESS_MAX} here, suffixes such as .retry and .dlq included"
        )
    return value


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration such as 250ms, 30s, 5m or 1h.",
        }
    ),
]
PositiveDuration = Annotated[Duration, AfterValidator(_check_positive)]
"""A duration where zero makes no sense (a timeout, a period, a window)."""
Name = Annotated[str, AfterValidator(_check_name)]
Address = Annotated[str, AfterValidator(_check_address)]
Text = Annotated[str, AfterValidator(_check_text)]
"""Free text (a description): it becomes docstrings and comments."""
Plain = Annotated[str, AfterValidator(_check_plain)]
ServiceName = Annotated[str, AfterValidator(_check_service_name)]
MessageRef = Annotated[str, AfterValidator(_check_message_ref)]
EnvString = Annotated[str, AfterValidator(_check_env_syntax)]
NonBlank = Annotated[str, AfterValidator(_check_not_blank)]


_EMPTY_LIST = BeforeValidator(lambda v: [] if v is None else v)
_EMPTY_DICT = BeforeValidator(lambda v: {} if v is None else v)
"""A key left empty (``consumers:``) means none, as a YAML reader expects."""


# -- models ------------------------------------------------------------------------


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
    routes: Annotated[list[RouteSpec], _EMPTY_LIST] = Field(default_factory=list)
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


class ServiceSpec(_Model):
    """service.yaml: the single source of truth of a generated service."""

    model_config = ConfigDict(title="svcgen service spec")

    name: ServiceName
    """The service and its Python package (``-`` becomes ``_``)."""
    description: Text = ""
    """Free text, written into the generated code as a docstring."""
    brokers: Annotated[dict[Name, BrokerSpec], _EMPTY_DICT] = Field(
        default_factory=dict
    )
    """The broker connections by name."""
    http: HttpSpec | None = None
    """The HTTP server; without it a small listener serves the probes and metrics."""
    consumers: Annotated[list[ConsumerSpec], _EMPTY_LIST] = Field(default_factory=list)
    """What the service reads."""
    publishers: Annotated[list[PublisherSpec], _EMPTY_LIST] = Field(
        default_factory=list
    )
    """What handlers send."""
    tasks: Annotated[list[TaskSpec], _EMPTY_LIST] = Field(default_factory=list)
    """Durable task queues."""
    schedules: Annotated[list[ScheduleSpec], _EMPTY_LIST] = Field(default_factory=list)
    """Periodic enqueues of a task."""
    resources: Annotated[ResourcesSpec, _EMPTY_DICT] = Field(
        default_factory=ResourcesSpec
    )
    """Cache, database and storage."""
    shutdown: ShutdownSpec = Field(default_factory=ShutdownSpec)
    """Drain settings."""

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


# -- loading -------------------------------------------------------------------------

Loc = tuple[str | int, ...]


class _Positions:
    """1-based (line, column) of every key and value, by path."""

    def __init__(self) -> None:
        self.values: dict[Loc, tuple[int, int]] = {(): (1, 1)}
        self.keys: dict[Loc, tuple[int, int]] = {}

    def value(self, loc: Loc) -> tuple[int, int]:
        while loc not in self.values:
            loc = loc[:-1]
        return self.values[loc]

    def key(self, loc: Loc) -> tuple[int, int]:
        return self.keys.get(loc) or self.value(loc)


_PLAIN_TAGS: Final = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)
"""The tags a spec may use: plain YAML, nothing that builds objects."""


class _Refused(Exception):
    """A value svcgen will not read, at ``loc``."""

    def __init__(
        self, loc: Loc, message: str, *, at: tuple[int, int] | None = None
    ) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.at = at
        """The position, when it is not that of ``loc``'s value (a key's)."""


class _Reader:
    """Turns a composed YAML node into plain dicts, lists and scalars, recording
    the position of every key and value; refuses tags that build objects, a
    recursive alias, and aliases that expand past ``VALUES_MAX`` values."""

    def __init__(self, construct: Any) -> None:
        self.pos = _Positions()
        self._construct = construct
        self._count = 0
        self._open: set[int] = set()

    def plain(self, node: Any, loc: Loc) -> Any:
        from yaml.nodes import MappingNode, SequenceNode

        self._count += 1
        if self._count > VALUES_MAX:
            raise _Refused(
                loc,
                f"the aliases here expand to more than {VALUES_MAX:,} values; write "
                "the values out, or use fewer aliases",
            )
        tag = str(node.tag)
        if tag not in _PLAIN_TAGS:
            raise _Refused(
                loc,
                f"unknown tag {tag.removeprefix('tag:yaml.org,2002:')!r}: a spec is "
                "plain YAML (strings, numbers, booleans, lists, mappings); remove "
                "the tag",
            )
        if not isinstance(node, MappingNode | SequenceNode):
            return self._scalar(node, loc)
        if id(node) in self._open:
            raise _Refused(
                loc,
                "this alias refers to a list or mapping that contains it, so the "
                "value never ends; write the value out instead",
            )
        if len(loc) > DEPTH_MAX:
            raise _Refused(
                loc, f"nested more than {DEPTH_MAX} levels deep; a spec needs a few"
            )
        self._open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, loc)
            return self._sequence(node, loc)
        finally:
            self._open.discard(id(node))

    def _mapping(self, node: Any, loc: Loc) -> dict[str, Any]:
        from yaml.nodes import ScalarNode

        out: dict[str, Any] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise _Refused(
                    loc,
                    "a key is a word, not a list or a mapping; write it as one",
                    at=(key.start_mark.line + 1, key.start_mark.column + 1),
                )
            name = str(key.value)
            if name in out:
                continue  # a duplicate key: reported, and the first one is validated
            child = (*loc, name)
            self.pos.keys[child] = (key.start_mark.line + 1, key.start_mark.column + 1)
            self.pos.values[child] = (
                value.start_mark.line + 1,
                value.start_mark.column + 1,
            )
            out[name] = self.plain(value, child)
        return out

    def _sequence(self, node: Any, loc: Loc) -> list[Any]:
        items = []
        for i, item in enumerate(node.value):
            self.pos.values[(*loc, i)] = (
                item.start_mark.line + 1,
                item.start_mark.column + 1,
            )
            items.append(self.plain(item, (*loc, i)))
        return items

    def _scalar(self, node: Any, loc: Loc) -> Any:
        import yaml

        if str(node.tag).endswith(":timestamp"):
            return str(node.value)
        try:
            value = self._construct(node)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise _Refused(
                loc, f"cannot read {str(node.value)[:40]!r} as its tag says: {exc}"
            ) from None
        if isinstance(value, bool) or value is None:
            return value
        for kind in (int, float, str):
            if isinstance(value, kind):
                return kind(value)
        return value


def _duplicate_keys(root: Any) -> Iterator[SpecIssue]:
    """Every key that appears twice in one mapping (YAML forbids it)."""
    from yaml.nodes import MappingNode, SequenceNode

    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                name = str(key.value)
                child = f"{path}.{name}" if path else name
                if name in seen:
                    mark = key.start_mark
                    yield SpecIssue(
                        mark.line + 1,
                        mark.column + 1,
                        child,
                        f"duplicate key {name!r} (first defined on line {seen[name]}); "
                        "keep one of them",
                    )
                else:
                    seen[name] = key.start_mark.line + 1
                stack.append((value, child))
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, f"{path}[{i}]"))


SPEC_MAX_BYTES: Final = 1_000_000
"""The largest spec svcgen reads (the 50-consumer benchmark spec is 12 kB)."""
VALUES_MAX: Final = 100_000
"""The most values a spec may hold once its aliases are expanded."""
DEPTH_MAX: Final = 50
"""The deepest nesting of mappings and lists (a spec needs five levels)."""


def load_spec(path: Path) -> ServiceSpec:
    """Read and validate ``path``; raise SpecError listing every problem, each
    named by ``path`` as given (``svc/service.yaml`` for ``--dir svc``)."""
    return parse_spec(read_spec(path), filename=str(path))


def read_spec(path: Path) -> str:
    """The text of the spec at ``path``.

    Raises:
        SpecError: the file is missing, or is not UTF-8 (at the first bad byte).
        ProjectError: ``path`` is a directory, or cannot be read.
    """
    try:
        if path.is_file() and path.stat().st_size > SPEC_MAX_BYTES:
            raise ProjectError(
                f"{path} is larger than {SPEC_MAX_BYTES:,} bytes, more than any "
                "spec needs; check that it is the service's spec"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        where = path.parent if path.parent.is_dir() else f"{path.parent} (missing)"
        raise ProjectError(
            f"there is no {path.name} in {where}: run svcgen in a service's "
            "directory, pass --dir the directory that holds it, or create one with "
            "svcgen new NAME"
        ) from None
    except IsADirectoryError:
        raise ProjectError(
            f"{path} is a directory, not a file: move it out of the way and write "
            f"the service's spec there as a file (svcgen new NAME creates one)"
        ) from None
    except PermissionError:
        raise ProjectError(
            f"cannot read {path}: permission denied; make it readable, such as "
            f"with chmod u+r {path}"
        ) from None
    except NotADirectoryError:
        raise ProjectError(
            f"cannot read {path}: {path.parent} is not a directory; pass --dir the "
            "directory that holds service.yaml"
        ) from None
    except OSError as exc:
        raise ProjectError(
            f"cannot read {path}: {exc.strerror or exc}; check the file and its "
            "directory, then run svcgen again"
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[start : exc.start].decode("utf-8", "replace")) + 1
        raise SpecError(
            [
                SpecIssue(
                    line,
                    column,
                    "",
                    f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} "
                    "here); save it as UTF-8",
                )
            ],
            filename=str(path),
        ) from None


def parse_spec(text: str, *, filename: str = SPEC_FILENAME) -> ServiceSpec:
    """Validate the text of a spec; raise SpecError listing every problem."""
    data, pos, issues = _parse_yaml(text, filename)
    spec: ServiceSpec | None = None
    try:
        spec = ServiceSpec.model_validate(data)
    except ValidationError as exc:
        issues.extend(_from_pydantic(exc, pos))
    from .spec_checks import cross_references

    issues.extend(cross_references(data, pos))
    if issues or spec is None:
        inner = {
            SpecIssue(*inside(text, i.line, i.column), i.path, i.message)
            for i in issues
        }
        raise SpecError(sorted(inner), filename=filename)
    return spec


_YAML_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
"""What YAML (PyYAML) counts as a line break."""


def inside(text: str, line: int, column: int) -> tuple[int, int]:
    """``(line, column)`` moved onto the text: a parser's mark just past the end
    (a last line without a newline, or an empty one) becomes the end of the last
    line, so an editor can jump to it."""
    lines = _YAML_BREAK.split(text)
    if len(lines) > 1 and not lines[-1]:
        lines.pop()  # the break that ends the last line opens no line of its own
    if line > len(lines):
        line, column = len(lines), len(lines[-1]) + 1
    line = max(line, 1)
    return line, max(1, min(column, len(lines[line - 1]) + 1))


def _loader() -> Any:
    """PyYAML's libyaml-backed safe loader (fast), with YAML 1.2 booleans only.

    Reading is done with libyaml for speed; edits (``add-*``) use ruamel's round
    trip, which keeps comments. Booleans are YAML 1.2's ``true``/``false``, so
    ``on``/``yes``/``no`` stay strings, as ruamel reads them.
    """
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    bool_tag = "tag:yaml.org,2002:bool"

    class Loader(base):  # type: ignore[valid-type,misc]
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != bool_tag]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return Loader


def _parse_yaml(
    text: str, filename: str
) -> tuple[dict[str, Any], _Positions, list[SpecIssue]]:
    """The top-level mapping, its positions, and its duplicate keys (the first of
    each is kept, so every other problem is still found); raise SpecError when the
    text is not YAML or not a mapping."""
    import yaml

    loader = _loader()(text)
    try:
        tree = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "cannot be parsed"
        raise SpecError(
            [SpecIssue(*inside(text, line, col), "", f"malformed YAML: {problem}")],
            filename=filename,
        ) from None
    except yaml.reader.ReaderError as exc:
        before = _YAML_BREAK.split(text[: exc.position])
        line, col = len(before), len(before[-1]) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise SpecError(
            [
                SpecIssue(
                    *inside(text, line, col),
                    "",
                    f"the control character {char!r} is not allowed in YAML; remove it",
                )
            ],
            filename=filename,
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(
            [SpecIssue(1, 1, "", f"malformed YAML: {' '.join(str(exc).split())}")],
            filename=filename,
        ) from None
    except RecursionError:
        raise SpecError(
            [SpecIssue(1, 1, "", f"nested more than {DEPTH_MAX} levels deep")],
            filename=filename,
        ) from None
    finally:
        loader.dispose()
    if tree is None:
        raise SpecError(
            [
                SpecIssue(
                    1, 1, "", "the file is empty; write at least `name: <service>`"
                )
            ],
            filename=filename,
        )
    reader = _Reader(lambda n: loader.construct_object(n, deep=True))
    pos = reader.pos
    try:
        data = reader.plain(tree, ())
    except _Refused as exc:
        line, col = exc.at or pos.value(exc.loc)
        raise SpecError(
            [SpecIssue(*inside(text, line, col), _path(exc.loc), exc.message)],
            filename=filename,
        ) from None
    duplicates = list(_duplicate_keys(tree))
    if not isinstance(data, dict):
        raise SpecError(
            [
                SpecIssue(
                    *pos.value(()),
                    "",
                    f"expected a mapping of keys (name, brokers, consumers, ...) at "
                    f"the top level, got {_describe(data)}",
                )
            ],
            filename=filename,
        )
    return data, pos, duplicates


# -- pydantic errors as compiler-style issues ----------------------------------------


def _path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_EXPECTED: Final = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "float_type": "a number",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the mapping found at ``loc``."""
    annotation: Any = ServiceSpec
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if not isinstance(part, str) or part not in annotation.model_fields:
                return None
            annotation = annotation.model_fields[part].annotation
        elif get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            args = [a for a in get_args(annotation) if a is not NoneType]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _from_pydantic(exc: ValidationError, pos: _Positions) -> Iterator[SpecIssue]:
    """Each pydantic error as an issue; one about a key (unknown, missing, badly
    named) carries that key's full path, top-level keys included."""
    for error in exc.errors(include_url=False):
        loc: Loc = tuple(error["loc"])
        kind = error["type"]
        value = error.get("input")
        ctx = error.get("ctx") or {}
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
            line, col = pos.key(loc)
            message = str(error["msg"]).removeprefix("Value error, ")
            yield SpecIssue(line, col, _path(loc), f"key {message}")
            continue
        if kind == "extra_forbidden":
            parent, key = loc[:-1], str(loc[-1])
            model = _model_at(parent)
            known = sorted(model.model_fields) if model is not None else []
            hint = difflib.get_close_matches(key, known, n=1)
            message = f"unknown key {key!r}"
            message += (
                f"; did you mean {hint[0]!r}?"
                if hint
                else f"; expected one of: {', '.join(known)}"
            )
            yield SpecIssue(*pos.key(loc), _path(loc), message)
        elif kind == "missing":
            parent, key = loc[:-1], str(loc[-1])
            yield SpecIssue(
                *pos.value(parent), _path(loc), f"missing required key {key!r}"
            )
        elif kind == "literal_error":
            yield SpecIssue(
                *pos.value(loc),
                _path(loc),
                f"expected {ctx.get('expected')}, got {_describe(value)}",
            )
        elif kind in _EXPECTED:
            yield SpecIssue(
                *pos.value(loc),
                _path(loc),
                f"expected {_EXPECTED[kind]}, got {_describe(value)}",
            )
        elif kind in ("greater_than_equal", "less_than_equal"):
            bound = "at least" if kind == "greater_than_equal" else "at most"
            limit = ctx.get("ge", ctx.get("le"))
            yield SpecIssue(
                *pos.value(loc), _path(loc), f"must be {bound} {limit}, got {value}"
            )
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            yield SpecIssue(*pos.value(loc), _path(loc), message)
