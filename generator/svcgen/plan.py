"""The plan: what to generate, as frozen dataclasses in a fixed order; no I/O.

The plan resolves every default of the spec to the literal value the generated
code spells out (group names, dead-letter destinations, retry settings), names
every variable, and sorts whatever has no meaningful order (brokers, consumers,
publishers, tasks, schedules), so the same spec gives the same code however its
lists are shuffled. Routes keep their order: the first matching route wins. Tasks,
schedules and resources are planned in ``plan_toolbox``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Final

from .kinds import BROKERS
from .plan_hooks import plan_hooks
from .plan_options import broker_args, subscription_options
from .plan_records import (
    AutoscalePlan,
    BrokerPlan,
    ConsumerPlan,
    DedupePlan,
    Import,
    MessageNames,
    ModelClass,
    ModelStub,
    Part,
    Plan,
    PublisherPlan,
    RetryPlan,
    RoutePlan,
    Setting,
    dead_letter,
    import_sections,
)
from .plan_toolbox import RESOURCE_CLASSES, plan_toolbox, plan_tunings
from .spec import ENV_REFERENCE, ServiceSpec

BROKER_CLASSES: Final = {kind.name: kind.cls for kind in BROKERS.values()}
"""The runtime class of each broker kind, in ``svcgen_runtime.brokers.<kind>``."""

HEALTH_PORT: Final = 8080


def make_plan(spec: ServiceSpec) -> Plan:
    """Resolve ``spec`` into the plan the templates read."""
    package = spec.package
    refs = [c.message for c in spec.consumers] + [p.message for p in spec.publishers]
    refs += [t.args for t in spec.tasks]
    names = MessageNames(reserved=_RESERVED_NAMES, refs=refs)
    brokers = tuple(
        BrokerPlan(
            name=name,
            kind=b.kind,
            var=f"{name}_broker",
            cls=BROKER_CLASSES[b.kind],
            url_setting=f"{name}_url" if b.url is not None else None,
            description=b.description,
            args=broker_args(b.kind, b.options),
        )
        for name, b in sorted(spec.brokers.items())
    )
    kinds = {b.name: b.kind for b in brokers}
    hooks = plan_hooks(spec)
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
            retry=RetryPlan.of(c.retry),
            dead_letter=dead_letter(c.dead_letter, c.source, kinds[c.broker]),
            description=c.description,
            option_values=subscription_options(kinds[c.broker], f"consumer_{c.name}"),
            dedupe=None
            if c.dedupe is None
            else DedupePlan(key=c.dedupe.key, window=c.dedupe.window),
            middleware=hooks.consumers[c.name],
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
            outbox=p.outbox,
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
    toolbox = plan_toolbox(spec, names, kinds)
    plan = Plan(
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
        settings=_settings(spec),
        app_imports=(),
        context_imports=(),
        model_stubs=_model_stubs(spec),
        tasks=toolbox.tasks,
        schedules=toolbox.schedules,
        idempotency=toolbox.idempotency,
        resources=toolbox.resources,
        extras=_required_extras(spec),
        port=spec.http.port if spec.http is not None else HEALTH_PORT,
        autoscale=None
        if spec.autoscale is None
        else AutoscalePlan(
            min=spec.autoscale.min,
            max=spec.autoscale.max,
            lag_per_replica=spec.autoscale.lag_per_replica,
        ),
        tunings=plan_tunings(spec),
        hooks=hooks.hooks,
    )
    app = _app_imports(plan, toolbox.imports | hooks.imports)
    context = _context_imports(plan)
    return replace(
        plan,
        app_imports=import_sections(app, first_party=package),
        context_imports=import_sections(context, first_party=package),
    )


def _required_extras(spec: ServiceSpec) -> tuple[str, ...]:
    """The ``svcgen-runtime`` extras a service needs: its broker kinds, http, and
    ``redis``, ``postgres`` and ``schedules`` when its resources and schedules use them."""
    extras = {e for b in spec.brokers.values() if (e := BROKERS[b.kind].extra)}
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
        "Effects",
        "Dedupe",
        "OutboxRelay",
        *BROKER_CLASSES.values(),
        *RESOURCE_CLASSES.values(),
    }
)


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
        classes_of = tuple(ModelClass(*c) for c in sorted(classes.items()))
        stubs.append(ModelStub(path=path, classes=classes_of))
    return tuple(stubs)


def _message_imports(
    items: Iterable[ConsumerPlan | PublisherPlan],
) -> set[Import]:
    return {item.message_import for item in items if item.message_import is not None}


def _app_imports(plan: Plan, toolbox: frozenset[Import]) -> set[Import]:
    """What app.py imports; ``toolbox``: what it imports for tasks, schedules,
    their key stores and resources."""
    package, consumers, publishers = plan.package, plan.consumers, plan.publishers
    routes, tasks = plan.routes, plan.tasks
    imports: set[Import] = {
        Import("__future__", "annotations", None),
        Import("collections.abc", "Mapping", None),
        Import("svcgen_runtime", "Application", None),
        Import("svcgen_runtime", "ConfigurationError", None),
        Import("svcgen_runtime.brokers.base", "Broker", None),
        Import("svcgen_runtime.overrides", "run_or_refuse", None),
        Import(f"{package}._generated.settings", "Settings", None),
        Import(f"{package}._generated.settings", "load_settings", None),
    }
    if plan.has_context:
        imports.add(Import(f"{package}._generated.context", "Context", None))
    if plan.uses_context:
        imports.add(Import("functools", "partial", None))
    if consumers or tasks:
        imports.add(Import("svcgen_runtime", "Consumer", None))
        imports.add(Import("svcgen_runtime", "RetryPolicy", None))
    values = [o for c in consumers for o in c.option_values]
    values += [o for t in tasks for o in t.option_values]
    if any(o.per_second for o in values):
        imports.add(Import("svcgen_runtime.overrides", "in_units", None))
    if publishers:
        imports.add(Import("svcgen_runtime", "Publisher", None))
    imports |= _effects_imports(plan)
    if any(p.message is not None for p in publishers) or any(
        t.args is not None for t in tasks
    ):
        imports.add(Import("svcgen_runtime.publisher", "pydantic_encoder", None))
    imports |= toolbox
    for b in plan.brokers:
        imports.add(Import(f"svcgen_runtime.brokers.{b.kind}", b.cls, None))
    if routes:
        imports.add(Import("starlette.routing", "Route", None))
    if plan.http:
        imports.add(Import("svcgen_runtime.http", "HttpServer", None))
    else:
        imports.add(Import("svcgen_runtime.health", "HealthServer", None))
    for c in consumers:
        imports.add(Import(f"{package}.handlers", c.name, c.handler_alias))
    for r in routes:
        imports.add(Import(f"{package}.routes", r.name, r.handler_alias))
    imports |= _message_imports(consumers)
    imports |= _message_imports(publishers)
    return imports


def _effects_imports(plan: Plan) -> set[Import]:
    """What app.py imports from ``svcgen_runtime.effects``: ``Effects`` for any
    dedupe or outbox, ``Dedupe`` for a dedupe consumer, ``OutboxRelay`` for an
    outbox publisher."""
    names = {
        "Effects": plan.effects,
        "Dedupe": any(c.dedupe for c in plan.consumers),
        "OutboxRelay": bool(plan.outboxes),
    }
    return {
        Import("svcgen_runtime.effects", n, None) for n, used in names.items() if used
    }


def _context_imports(plan: Plan) -> set[Import]:
    imports: set[Import] = {
        Import("__future__", "annotations", None),
        Import("dataclasses", "dataclass", None),
    }
    if plan.publishers:
        imports.add(Import("svcgen_runtime", "Publisher", None))
    imports |= _message_imports(plan.publishers)
    if plan.tasks:
        imports.add(Import("svcgen_runtime.tasks", "Task", None))
    imports |= {t.args_import for t in plan.tasks if t.args_import is not None}
    for r in plan.resources:
        imports.add(Import("svcgen_runtime.resources", r.protocol, None))
    return imports
