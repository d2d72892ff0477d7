"""The plan: what to generate, as frozen dataclasses in a fixed order; no I/O.

The plan resolves every default of the spec to the literal value the generated
code spells out (group names, dead-letter destinations, retry settings), names
every variable, and sorts whatever has no meaningful order (brokers, consumers,
publishers, tasks, schedules), so the same spec gives the same code however its
lists are shuffled. Routes keep their order: the first matching route wins. Tasks,
schedules and resources are planned in ``plan_toolbox``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .kinds import BROKERS
from .spec import ENV_REFERENCE, ServiceSpec

if TYPE_CHECKING:
    from .plan_toolbox import IdempotencyPlan, ResourcePlan, SchedulePlan, TaskPlan

BROKER_CLASSES: Final = {kind.name: kind.cls for kind in BROKERS.values()}
"""The runtime class of each broker kind, in ``svcgen_runtime.brokers.<kind>``."""

HEALTH_PORT: Final = 8080

Import = tuple[str, str, str | None]
"""(module, name, alias): ``from module import name as alias``."""


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
class BrokerPlan:
    name: str
    kind: str
    var: str
    cls: str
    url_setting: str | None
    description: str


@dataclass(frozen=True)
class RetryPlan:
    max_attempts: int
    backoff: str
    initial: float
    max: float
    jitter: bool


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
    classes: tuple[tuple[str, str], ...]
    """(class name, what it carries), sorted by class name."""


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

    @property
    def uses_context(self) -> bool:
        """Some handler, route or task receives the context."""
        return bool(self.consumers or self.routes or self.tasks)

    @property
    def has_context(self) -> bool:
        return bool(
            self.publishers or self.consumers or self.routes or self.tasks
        ) or bool(self.resources)

    @property
    def src(self) -> str:
        """The package directory, relative to the project root."""
        return f"src/{self.package}"


def make_plan(spec: ServiceSpec) -> Plan:
    """Resolve ``spec`` into the plan the templates read."""
    package = spec.package
    refs = [c.message for c in spec.consumers] + [p.message for p in spec.publishers]
    refs += [t.args for t in spec.tasks]
    names = _MessageNames(reserved=_RESERVED_NAMES, refs=refs)
    brokers = tuple(
        BrokerPlan(
            name=name,
            kind=b.kind,
            var=f"{name}_broker",
            cls=BROKER_CLASSES[b.kind],
            url_setting=f"{name}_url" if b.url is not None else None,
            description=b.description,
        )
        for name, b in sorted(spec.brokers.items())
    )
    kinds = {b.name: b.kind for b in brokers}
    consumers = tuple(
        ConsumerPlan(
            name=c.name,
            var=f"{c.name}_consumer",
            broker=c.broker,
            broker_var=f"{c.broker}_broker",
            broker_kind=kinds[c.broker],
            source=c.source,
            group=c.group or c.name,
            message=names.alias(c.message),
            message_import=names.import_of(c.message),
            handler_alias=f"{c.name}_handler",
            concurrency=c.concurrency,
            ordering=c.ordering,
            timeout=c.timeout,
            retry=RetryPlan(
                max_attempts=c.retry.max_attempts,
                backoff=c.retry.backoff,
                initial=c.retry.initial,
                max=c.retry.max,
                jitter=c.retry.jitter,
            ),
            dead_letter=_dead_letter(c.dead_letter, c.source, kinds[c.broker]),
            description=c.description,
        )
        for c in sorted(spec.consumers, key=lambda c: c.name)
    )
    publishers = tuple(
        PublisherPlan(
            name=p.name,
            var=f"{p.name}_publisher",
            broker=p.broker,
            broker_var=f"{p.broker}_broker",
            target=p.target,
            message=names.alias(p.message),
            message_import=names.import_of(p.message),
            description=p.description,
        )
        for p in sorted(spec.publishers, key=lambda p: p.name)
    )
    routes = tuple(
        RoutePlan(
            name=r.name,
            method=r.method,
            path=r.path,
            handler_alias=f"{r.name}_route",
            description=r.description,
        )
        for r in (spec.http.routes if spec.http is not None else [])
    )
    from .plan_toolbox import plan_resources, plan_schedules, plan_tasks

    tasks, idempotency = plan_tasks(spec, names, kinds)
    schedules = plan_schedules(spec, tasks)
    resources = plan_resources(spec)
    settings = _settings(spec)
    return Plan(
        service=spec.name,
        package=package,
        description=spec.description,
        brokers=brokers,
        consumers=consumers,
        publishers=publishers,
        routes=routes,
        http=spec.http is not None,
        port_setting="http_port" if spec.http is not None else "health_port",
        drain_timeout=spec.shutdown.drain_timeout,
        settings=settings,
        app_imports=_app_imports(
            package,
            brokers,
            consumers,
            publishers,
            routes,
            http=spec.http is not None,
            toolbox=(tasks, schedules, idempotency, resources),
        ),
        context_imports=_context_imports(package, publishers, tasks, resources),
        model_stubs=_model_stubs(spec),
        tasks=tasks,
        schedules=schedules,
        idempotency=idempotency,
        resources=resources,
        extras=required_extras(spec),
    )


def required_extras(spec: ServiceSpec) -> tuple[str, ...]:
    """The ``svcgen-runtime`` extras a service needs: its broker kinds, http, and
    ``redis``, ``postgres`` and ``schedules`` when its resources and schedules use them."""
    extras: set[str] = {b.kind for b in spec.brokers.values() if b.kind != "memory"}
    if spec.http is not None:
        extras.add("http")
    if spec.schedules:
        extras.add("schedules")
    resources = spec.resources
    if resources.cache is not None and resources.cache.kind == "redis":
        extras.add("redis")
    if resources.database is not None and resources.database.kind == "postgres":
        extras.add("postgres")
    return tuple(sorted(extras))


RESOURCE_CLASSES: Final = {
    ("cache", "memory"): "MemoryCache",
    ("cache", "redis"): "RedisCache",
    ("database", "sqlite"): "SqliteDatabase",
    ("database", "postgres"): "PostgresDatabase",
    ("storage", "memory"): "MemoryStorage",
    ("storage", "fs"): "FsStorage",
}
"""The runtime class of each resource kind, in ``svcgen_runtime.resources``."""


def _dead_letter(value: str | None, source: str, kind: str = "") -> str | None:
    """The dead-letter destination: ``value``, none, or ``<source>.dlq`` by default
    (an MQTT source's wildcards, which no message can be sent to, spelled
    ``%2B`` and ``%23`` there, as the runtime spells them in its retry topic)."""
    if value is None:
        if kind == "mqtt":
            source = source.replace("+", "%2B").replace("#", "%23")
        return f"{source}.dlq"
    if value == "none":
        return None
    return value


_RESERVED_NAMES: Final = frozenset(
    {
        "Application",
        "Broker",
        "ConfigurationError",
        "Consumer",
        "Context",
        "HealthServer",
        "HttpServer",
        "Mapping",
        "Publisher",
        "RetryPolicy",
        "Route",
        "Settings",
        "Task",
        "Tasks",
        "Schedule",
        "InboundMessage",
        "IdempotencyStore",
        "MemoryIdempotency",
        "RedisIdempotency",
        "Cache",
        "Database",
        "Storage",
        *BROKER_CLASSES.values(),
        *RESOURCE_CLASSES.values(),
    }
)


class _MessageNames:
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
        return (module, cls, alias if alias != cls else None)


def _setting(attr: str, annotation: str, value: str, source: str) -> Setting:
    parts: list[Part] = []
    at = 0
    for match in ENV_REFERENCE.finditer(value):
        if match.start() > at:
            parts.append(Part(text=value[at : match.start()]))
        parts.append(Part(var=match.group("var"), default=match.group("default")))
        at = match.end()
    if at < len(value) or not parts:
        parts.append(Part(text=value[at:]))
    return Setting(attr=attr, annotation=annotation, parts=tuple(parts), source=source)


def _settings(spec: ServiceSpec) -> tuple[Setting, ...]:
    out = [
        _setting(f"{name}_url", "str", b.url, f"brokers.{name}.url")
        for name, b in sorted(spec.brokers.items())
        if b.url is not None
    ]
    r = spec.resources
    if r.cache is not None and r.cache.url is not None:
        out.append(_setting("cache_url", "str", r.cache.url, "resources.cache.url"))
    if r.database is not None and r.database.kind == "postgres" and r.database.url:
        out.append(
            _setting("database_url", "str", r.database.url, "resources.database.url")
        )
    if r.database is not None and r.database.kind == "sqlite":
        path = r.database.path or f"${{DATABASE_PATH:-data/{spec.package}.db}}"
        out.append(_setting("database_path", "str", path, "resources.database.path"))
    if r.storage is not None and r.storage.path is not None:
        out.append(
            _setting("storage_path", "str", r.storage.path, "resources.storage.path")
        )
    if spec.http is not None:
        out.append(
            _setting(
                "http_port",
                "int",
                f"${{HTTP_PORT:-{spec.http.port}}}",
                "the HTTP server's port",
            )
        )
    else:
        out.append(
            _setting(
                "health_port",
                "int",
                f"${{HEALTH_PORT:-{HEALTH_PORT}}}",
                "the health listener's port",
            )
        )
    return tuple(sorted(out, key=lambda s: s.attr))


def _model_stubs(spec: ServiceSpec) -> tuple[ModelStub, ...]:
    package = spec.package
    found: dict[str, dict[str, str]] = {}
    uses = (
        [(c.message, f"a message on {c.source}") for c in spec.consumers]
        + [(p.message, f"a message sent to {p.target}") for p in spec.publishers]
        + [(t.args, f"the arguments of the {t.name} task") for t in spec.tasks]
    )
    for ref, what in uses:
        if ref is None:
            continue
        module, cls = ref.split(":")
        if module != package and not module.startswith(f"{package}."):
            continue
        classes = found.setdefault(module, {})
        classes.setdefault(cls, what)
    stubs = []
    for module, classes in sorted(found.items()):
        path = "src/" + module.replace(".", "/")
        if module == package:
            path += "/__init__.py"
        else:
            path += ".py"
        stubs.append(ModelStub(path=path, classes=tuple(sorted(classes.items()))))
    return tuple(stubs)


# -- imports, in the order ruff's isort wants them ---------------------------------


def natural(text: str) -> tuple[str | int, ...]:
    """ruff's isort order: runs of digits compare as numbers (``c2`` before ``c10``)."""
    parts = re.split(r"(\d+)", text)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def _member_key(name: str) -> tuple[int, tuple[str | int, ...]]:
    if name.isupper() and len(name) > 1:
        return (0, natural(name))
    if name[:1].isupper():
        return (1, natural(name))
    return (2, natural(name))


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
            key = (natural(module.lower()), _member_key(members[0]), ())
            lines.append((key, f"from {module} import {', '.join(members)}"))
        for module, name, alias in renamed:
            key = (natural(module.lower()), _member_key(name), natural(alias))
            lines.append((key, f"from {module} import {name} as {alias}"))
        if lines:
            out.append(tuple(line for *_, line in sorted(lines)))
    return tuple(out)


def _message_imports(
    items: Iterable[ConsumerPlan | PublisherPlan],
) -> set[Import]:
    return {item.message_import for item in items if item.message_import is not None}


def _app_imports(
    package: str,
    brokers: tuple[BrokerPlan, ...],
    consumers: tuple[ConsumerPlan, ...],
    publishers: tuple[PublisherPlan, ...],
    routes: tuple[RoutePlan, ...],
    *,
    http: bool,
    toolbox: tuple[
        tuple[TaskPlan, ...],
        tuple[SchedulePlan, ...],
        tuple[IdempotencyPlan, ...],
        tuple[ResourcePlan, ...],
    ],
) -> tuple[tuple[str, ...], ...]:
    imports: set[Import] = {
        ("__future__", "annotations", None),
        ("collections.abc", "Mapping", None),
        ("svcgen_runtime", "Application", None),
        ("svcgen_runtime", "ConfigurationError", None),
        ("svcgen_runtime.brokers.base", "Broker", None),
        (f"{package}._generated.settings", "Settings", None),
        (f"{package}._generated.settings", "load_settings", None),
    }
    tasks, _, _, resources = toolbox
    if publishers or consumers or routes or tasks or resources:
        imports.add((f"{package}._generated.context", "Context", None))
    if consumers or routes or tasks:
        imports.add(("functools", "partial", None))
    if consumers or tasks:
        imports.add(("svcgen_runtime", "Consumer", None))
        imports.add(("svcgen_runtime", "RetryPolicy", None))
    if publishers:
        imports.add(("svcgen_runtime", "Publisher", None))
    if any(p.message is not None for p in publishers) or any(
        t.args is not None for t in tasks
    ):
        imports.add(("svcgen_runtime.publisher", "pydantic_encoder", None))
    from .plan_toolbox import toolbox_imports

    imports |= toolbox_imports(package, *toolbox)
    for b in brokers:
        imports.add((f"svcgen_runtime.brokers.{b.kind}", b.cls, None))
    if routes:
        imports.add(("starlette.routing", "Route", None))
    if http:
        imports.add(("svcgen_runtime.http", "HttpServer", None))
    else:
        imports.add(("svcgen_runtime.health", "HealthServer", None))
    for c in consumers:
        imports.add((f"{package}.handlers", c.name, c.handler_alias))
    for r in routes:
        imports.add((f"{package}.routes", r.name, r.handler_alias))
    imports |= _message_imports(consumers)
    imports |= _message_imports(publishers)
    return import_sections(imports, first_party=package)


def _context_imports(
    package: str,
    publishers: tuple[PublisherPlan, ...],
    tasks: tuple[TaskPlan, ...],
    resources: tuple[ResourcePlan, ...],
) -> tuple[tuple[str, ...], ...]:
    imports: set[Import] = {
        ("__future__", "annotations", None),
        ("dataclasses", "dataclass", None),
    }
    if publishers:
        imports.add(("svcgen_runtime", "Publisher", None))
    imports |= _message_imports(publishers)
    if tasks:
        imports.add(("svcgen_runtime.tasks", "Task", None))
    imports |= {t.args_import for t in tasks if t.args_import is not None}
    for r in resources:
        imports.add(("svcgen_runtime.resources", r.protocol, None))
    return import_sections(imports, first_party=package)
