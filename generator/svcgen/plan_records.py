"""The plan's records: frozen dataclasses and named tuples the templates read.

``plan`` and ``plan_toolbox`` build them, ``render`` and the templates read them;
the helpers more than one of those share (message names, dead-letter
destinations, retry settings, import statements in ruff's order) live here too,
so no module reaches into another's privates.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from .kinds import BROKERS
from .layout import Bracket, Item, py_literal
from .spec_models import RetrySpec


class Import(NamedTuple):
    """``from module import name as alias`` (no ``as`` when alias is None)."""

    module: str
    name: str
    alias: str | None


class Arg(NamedTuple):
    """A keyword argument of a generated constructor call: ``keyword=expr``."""

    keyword: str
    expr: str
    """A Python expression."""


class OptionValue(NamedTuple):
    """One broker option of a consumer or task worker: the ``Settings`` field app.py
    passes for it (service.yaml's value, merged, or None when unset)."""

    key: str
    """The spec's key (``session_timeout``)."""
    runtime: str
    """The adapter's option (``session_timeout_ms``)."""
    attr: str
    """The ``Settings`` field (``consumer_paid_session_timeout``)."""
    per_second: int | None = None
    """A duration the adapter takes in whole 1/per_second seconds; None: as is."""


def options_bracket(values: tuple[OptionValue, ...]) -> Bracket | None:
    """``options={...}`` of a consumer's or task worker's options, each its
    ``settings.<attr>`` (through ``in_units`` where the adapter takes whole units),
    laid out as black does (``layout.lay_out``); None when there are none."""
    if not values:
        return None
    items: list[Item] = []
    for o in values:
        key, value = py_literal(o.runtime), f"settings.{o.attr}"
        if o.per_second is None:
            items.append(f"{key}: {value}")
        else:
            items.append(Bracket(f"{key}: in_units(", [value, str(o.per_second)], ")"))
    return Bracket("options={", items, "}", split="items")


class ModelClass(NamedTuple):
    """A message model class of a stub module, and what it carries."""

    name: str
    what: str


@dataclass(frozen=True)
class Part:
    """A piece of a setting's value: literal text, or an environment variable."""

    text: str = ""
    var: str | None = None
    default: str | None = None


@dataclass(frozen=True)
class Setting:
    """One field of the generated ``Settings``, read from the environment."""

    attr: str
    annotation: str
    parts: tuple[Part, ...]
    source: str


@dataclass(frozen=True)
class Tuning:
    """A tuning number of the generated ``Settings``: service.yaml's value, unless the
    environment variable ``SVCGEN_<ATTR>`` overrides it at start-up."""

    attr: str
    """``<section>_<name>_<key>``: ``consumer_paid_concurrency``, ``shutdown_drain_timeout``."""
    source: str
    """Where service.yaml sets it: ``consumers.paid.concurrency``."""
    reader: str
    """The form ``svcgen_runtime.overrides.KEYS`` reads it in (by the attribute's last
    words, the key): whole, number, duration, flag or choice."""
    default: int | float | bool | str | None
    """service.yaml's value (its default when unset there); None for a broker option
    it leaves unset (the broker's default applies)."""
    optional: bool = False
    """A broker option: the field may be None."""

    @property
    def var(self) -> str:
        return "SVCGEN_" + self.attr.upper()

    @property
    def annotation(self) -> str:
        base = _READER_TYPES[self.reader]
        return f"{base} | None" if self.optional else base


_READER_TYPES = {
    "whole": "int",
    "number": "float",
    "duration": "float",
    "flag": "bool",
    "choice": "str",
}


@dataclass(frozen=True)
class BrokerPlan:
    name: str
    kind: str
    var: str
    cls: str
    url_setting: str | None
    description: str
    args: tuple[Arg, ...] = ()
    """The keywords of its spec ``options`` that the constructor takes."""


@dataclass(frozen=True)
class RetryPlan:
    max_attempts: int
    backoff: str
    initial: float
    max: float
    jitter: bool

    @classmethod
    def of(cls, retry: RetrySpec) -> RetryPlan:
        """The retry settings of a consumer or a task, as the spec resolved them."""
        return cls(
            max_attempts=retry.max_attempts,
            backoff=retry.backoff,
            initial=retry.initial,
            max=retry.max,
            jitter=retry.jitter,
        )


@dataclass(frozen=True)
class ConsumerPlan:
    name: str
    var: str
    broker: str
    broker_var: str
    broker_kind: str
    source: str
    group: str
    message: str | None
    """The message class as imported in app.py, or None for raw bytes."""
    message_import: Import | None
    handler_alias: str
    concurrency: int
    ordering: str
    timeout: float
    retry: RetryPlan
    dead_letter: str | None
    description: str
    option_values: tuple[OptionValue, ...] = ()
    """Its broker options: the broker's merged with its own."""
    dedupe: DedupePlan | None = None
    """Its dedupe (key and window), or None: every message runs the handler."""
    middleware: tuple[str, ...] = ()
    """Around its handler, outermost first, as app.py imports them."""

    @property
    def options(self) -> Bracket | None:
        """``options={...}`` of ``option_values`` as app.py spells it, or None."""
        return options_bracket(self.option_values)


@dataclass(frozen=True)
class DedupePlan:
    """A consumer's dedupe: the key's source (``header:<name>``, ``body:<field>``)
    and service.yaml's window, which settings.py may override."""

    key: str
    window: float


@dataclass(frozen=True)
class PublisherPlan:
    name: str
    var: str
    broker: str
    broker_var: str
    target: str
    message: str | None
    message_import: Import | None
    description: str
    outbox: bool = False
    """Publishes through the outbox table (``Publisher(outbox=effects)``)."""


@dataclass(frozen=True)
class RoutePlan:
    name: str
    method: str
    path: str
    handler_alias: str
    description: str


@dataclass(frozen=True)
class ModelStub:
    """A user-owned module of message models, created when it does not exist."""

    path: str
    classes: tuple[ModelClass, ...]
    """Sorted by class name."""


@dataclass(frozen=True)
class IdempotencyPlan:
    """Where task keys (and schedule fires) are claimed: one store per place."""

    var: str
    cls: str
    """``RedisIdempotency``, ``NatsIdempotency``, ``PostgresIdempotency`` or
    ``MemoryIdempotency``."""
    where: str
    """Where the keys live, for the comment above the store in app.py."""
    args: tuple[Arg, ...]
    """The constructor's arguments after ``name``."""
    per_replica: tuple[str, ...]
    """Tasks on a server broker whose keys this in-process store keeps per replica."""


@dataclass(frozen=True)
class TaskPlan:
    name: str
    var: str
    worker_var: str
    broker: str
    broker_var: str
    broker_kind: str
    queue: str
    group: str
    args: str | None
    """The args class as imported in app.py, or None for raw bytes."""
    args_import: Import | None
    handler_alias: str
    concurrency: int
    timeout: float
    retry: RetryPlan
    dead_letter: str | None
    key_window: float
    idempotency_var: str
    guarded: bool
    """A schedule enqueues it: at most one run of a schedule at a time."""
    description: str
    option_values: tuple[OptionValue, ...] = ()
    """Its broker options: the broker's merged with its own."""

    @property
    def options(self) -> Bracket | None:
        """``options={...}`` of ``option_values`` as app.py spells it, or None."""
        return options_bracket(self.option_values)


@dataclass(frozen=True)
class SchedulePlan:
    name: str
    var: str
    task: str
    task_var: str
    args: str | None
    args_import: Import | None
    args_alias: str
    cron: str | None
    every: float | None
    timezone: str
    description: str


@dataclass(frozen=True)
class ResourcePlan:
    """The cache, database or storage: its class and literal arguments."""

    attr: str
    """``cache``, ``database`` or ``storage``: the context attribute and variable."""
    kind: str
    cls: str
    protocol: str
    args: tuple[Arg, ...]
    """In the order the constructor documents them."""


@dataclass(frozen=True)
class AutoscalePlan:
    """``autoscale``: the replica range and the backlog one replica works through."""

    min: int
    max: int
    lag_per_replica: int


class FunctionStub(NamedTuple):
    """A hook or middleware of a user-owned module svcgen creates when missing."""

    name: str
    role: str
    """``hook``, ``consumer`` or ``http``: the signature it is written with."""


@dataclass(frozen=True)
class HooksPlan:
    """Lifecycle hooks and HTTP middleware, as app.py imports them (``plan_hooks``)."""

    on_start: tuple[str, ...] = ()
    on_stop: tuple[str, ...] = ()
    http: tuple[str, ...] = ()
    """Around every route, outermost first."""
    stubs: tuple[tuple[str, tuple[FunctionStub, ...]], ...] = ()
    """The modules of the service's package they live in: path and functions."""


@dataclass(frozen=True)
class Plan:
    service: str
    package: str
    description: str
    brokers: tuple[BrokerPlan, ...]
    consumers: tuple[ConsumerPlan, ...]
    publishers: tuple[PublisherPlan, ...]
    routes: tuple[RoutePlan, ...]
    http: bool
    port_setting: str
    drain_timeout: float
    settings: tuple[Setting, ...]
    app_imports: tuple[tuple[str, ...], ...]
    context_imports: tuple[tuple[str, ...], ...]
    model_stubs: tuple[ModelStub, ...]
    tasks: tuple[TaskPlan, ...] = ()
    schedules: tuple[SchedulePlan, ...] = ()
    idempotency: tuple[IdempotencyPlan, ...] = ()
    resources: tuple[ResourcePlan, ...] = ()
    extras: tuple[str, ...] = ()
    """The svcgen-runtime extras the generated code needs, sorted."""
    port: int = 8080
    """The port the probes, ``/metrics`` (and the HTTP routes) are served on."""
    autoscale: AutoscalePlan | None = None
    """KEDA scaling on the consumers' backlog, or None for a fixed replica count."""
    tunings: tuple[Tuning, ...] = ()
    """The tuning numbers of settings.py, each overridable at start-up."""
    hooks: HooksPlan = HooksPlan()

    @property
    def uses_context(self) -> bool:
        """Some handler, route, task or hook receives the context."""
        hooks = self.hooks.on_start or self.hooks.on_stop
        return bool(self.consumers or self.routes or self.tasks or hooks)

    @property
    def has_context(self) -> bool:
        return self.uses_context or bool(self.publishers or self.resources)

    @property
    def effects(self) -> bool:
        """Some consumer dedupes or some publisher has an outbox: app.py builds
        ``Effects`` on the database."""
        return any(c.dedupe for c in self.consumers) or bool(self.outboxes)

    @property
    def outboxes(self) -> tuple[PublisherPlan, ...]:
        """The publishers the outbox relay sends for."""
        return tuple(p for p in self.publishers if p.outbox)

    @property
    def src(self) -> str:
        """The package directory, relative to the project root."""
        return f"src/{self.package}"


# -- helpers both builders share ------------------------------------------------------


def dead_letter(value: str | None, source: str, kind: str) -> str | None:
    """The dead-letter destination: ``value``, none, or the kind's default
    (``<source>.dlq``, a source's wildcards spelled as the runtime spells them)."""
    if value is None:
        return BROKERS[kind].default_dead_letter(source)
    if value == "none":
        return None
    return value


class MessageNames:
    """Names message classes in app.py; a clash (with a name app.py uses, or with
    a class of the same name from another module) gets a module-qualified alias."""

    def __init__(
        self, *, reserved: frozenset[str], refs: Iterable[str | None] = ()
    ) -> None:
        modules: dict[str, set[str]] = {}
        for ref in refs:
            if ref is not None:
                module, cls = ref.split(":")
                modules.setdefault(cls, set()).add(module)
        shared = {cls for cls, where in modules.items() if len(where) > 1}
        self._reserved = reserved | shared

    def alias(self, ref: str | None) -> str | None:
        if ref is None:
            return None
        module, cls = ref.split(":")
        if cls in self._reserved:
            return f"{module.replace('.', '_')}_{cls}"
        return cls

    def import_of(self, ref: str | None) -> Import | None:
        if ref is None:
            return None
        module, cls = ref.split(":")
        alias = self.alias(ref)
        return Import(module, cls, alias if alias != cls else None)


# -- imports, in the order ruff's isort wants them ---------------------------------


def _natural(text: str) -> tuple[str | int, ...]:
    """ruff's isort order: runs of digits compare as numbers (``c2`` before ``c10``)."""
    parts = re.split(r"(\d+)", text)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def _member_key(name: str) -> tuple[int, tuple[str | int, ...]]:
    if name.isupper() and len(name) > 1:
        return (0, _natural(name))
    if name[:1].isupper():
        return (1, _natural(name))
    return (2, _natural(name))


def import_sections(
    imports: Iterable[Import], *, first_party: str
) -> tuple[tuple[str, ...], ...]:
    """``from`` imports grouped future / stdlib / third party / first party, sorted."""
    sections: list[dict[str, set[str]]] = [{}, {}, {}, {}]
    aliased: list[set[tuple[str, str, str]]] = [set(), set(), set(), set()]
    for module, name, alias in imports:
        top = module.split(".")[0]
        if top == "__future__":
            index = 0
        elif top in sys.stdlib_module_names:
            index = 1
        elif top == first_party:
            index = 3
        else:
            index = 2
        if alias is not None and alias != name:
            aliased[index].add((module, name, alias))
        else:
            sections[index].setdefault(module, set()).add(name)
    out: list[tuple[str, ...]] = []
    for plain, renamed in zip(sections, aliased, strict=True):
        lines: list[tuple[tuple[Any, ...], str]] = []
        key: tuple[Any, ...]
        # ruff orders the statements of one module by their first member.
        for module, names in plain.items():
            members = sorted(names, key=_member_key)
            key = (_natural(module.lower()), _member_key(members[0]), ())
            lines.append((key, f"from {module} import {', '.join(members)}"))
        for module, name, alias in renamed:
            key = (_natural(module.lower()), _member_key(name), _natural(alias))
            lines.append((key, f"from {module} import {name} as {alias}"))
        if lines:
            out.append(tuple(line for *_, line in sorted(lines)))
    return tuple(out)
