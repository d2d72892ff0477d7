"""The plan of tasks, schedules, their idempotency key stores, and resources.

``plan.make_plan`` calls ``plan_toolbox``, which resolves each default to the
literal value the generated code spells out, names every variable, and sorts by
name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .kinds import BROKERS
from .layout import py_literal
from .plan_options import option_tunings, subscription_options
from .plan_records import (
    Arg,
    IdempotencyPlan,
    Import,
    MessageNames,
    ResourcePlan,
    RetryPlan,
    SchedulePlan,
    TaskPlan,
    Tuning,
    dead_letter,
)
from .spec import ServiceSpec, task_keys_bucket, task_keys_prefix
from .spec_models import ConsumerSpec, TaskSpec


@dataclass(frozen=True)
class Toolbox:
    """What this module plans, and what app.py imports for it."""

    tasks: tuple[TaskPlan, ...]
    schedules: tuple[SchedulePlan, ...]
    idempotency: tuple[IdempotencyPlan, ...]
    resources: tuple[ResourcePlan, ...]
    imports: frozenset[Import]


def plan_toolbox(
    spec: ServiceSpec, names: MessageNames, kinds: dict[str, str]
) -> Toolbox:
    """The tasks, schedules, key stores and resources of ``spec``; ``kinds`` maps
    each broker's name to its kind."""
    tasks, idempotency = _plan_tasks(spec, names, kinds)
    schedules = _plan_schedules(spec, tasks)
    resources = _plan_resources(spec)
    imports = _imports(spec.package, tasks, schedules, idempotency, resources)
    return Toolbox(tasks, schedules, idempotency, resources, imports)


NATS_KEYS_MAX_AGE: Final = 31 * 24 * 3600.0
"""NatsIdempotency's default max_age: a longer key window passes its own."""


@dataclass(frozen=True)
class KeyPlace:
    """A task key store: its variable (ending in ``_keys``, which no other
    generated name does), class, where it keeps the keys, constructor arguments."""

    var: str
    cls: str
    where: str
    args: tuple[Arg, ...] = ()


def _plan_tasks(
    spec: ServiceSpec, names: MessageNames, kinds: dict[str, str]
) -> tuple[tuple[TaskPlan, ...], tuple[IdempotencyPlan, ...]]:
    """The task plans, and the idempotency stores their keys are claimed in.

    Keys live where every replica sees them: on the task's redis broker; else in a
    redis cache; else on the task's nats broker (a JetStream key-value bucket); else
    in a postgres database; else in the process (right for a memory broker, per
    replica for the others: the spec refuses a schedule then).
    """
    prefix = py_literal(task_keys_prefix(spec.name))
    shared = _shared_key_place(spec, prefix)
    scheduled = {s.task for s in spec.schedules}
    places: dict[str, KeyPlace] = {}
    per_replica: dict[str, list[str]] = {}
    """Tasks on a server broker whose keys a store keeps in the process, by store."""
    plans = []
    for t in sorted(spec.tasks, key=lambda t: t.name):
        kind = kinds[t.broker]
        place = _place_of(spec, t.broker, kind, shared, prefix)
        place = places.setdefault(place.var, place)
        kept = per_replica.setdefault(place.var, [])
        if place.var == "process_keys" and not BROKERS[kind].in_process:
            kept.append(t.name)
        queue = f"tasks.{t.name}"
        plans.append(
            TaskPlan(
                name=t.name,
                var=f"{t.name}_task",
                worker_var=f"{t.name}_worker",
                broker=t.broker,
                broker_var=f"{t.broker}_broker",
                broker_kind=kind,
                queue=queue,
                group=f"tasks-{t.name}",
                args=names.alias(t.args),
                args_import=names.import_of(t.args),
                handler_alias=f"{t.name}_task_module",
                concurrency=t.concurrency,
                timeout=t.timeout,
                retry=RetryPlan.of(t.retry),
                dead_letter=dead_letter(t.dead_letter, queue, kind),
                key_window=t.key_window,
                idempotency_var=place.var,
                guarded=t.name in scheduled,
                description=t.description,
                option_values=subscription_options(kind, f"task_{t.name}"),
            )
        )
    stores = []
    for var, place in sorted(places.items()):
        args = place.args
        windows = [t.key_window for t in plans if t.idempotency_var == var]
        if place.cls == "NatsIdempotency" and max(windows) > NATS_KEYS_MAX_AGE:
            # The bucket forgets entries after max_age: it must outlive every window.
            args = (*args, Arg("max_age", py_literal(max(windows))))
        stores.append(
            IdempotencyPlan(
                var=var,
                cls=place.cls,
                where=place.where,
                args=args,
                per_replica=tuple(per_replica[var]),
            )
        )
    return tuple(plans), tuple(stores)


def _place_of(
    spec: ServiceSpec, broker: str, kind: str, shared: KeyPlace | None, prefix: str
) -> KeyPlace:
    """Where the keys of a task on ``broker`` live (see ``_plan_tasks``)."""
    row = BROKERS[kind]
    process = KeyPlace("process_keys", "MemoryIdempotency", "in this process")
    if row.in_process:
        return process
    store = row.task_keys
    cached = shared is not None and shared.var == "cache_keys"
    if store is not None and (store.before_cache or not cached):
        if store.name_arg == "prefix":
            name = prefix
        else:
            name = py_literal(task_keys_bucket(spec.name))
        args = (Arg("url", f"settings.{broker}_url"), Arg(store.name_arg, name))
        return KeyPlace(f"{broker}_broker_keys", store.cls, store.where, args)
    return shared if shared is not None else process


def _shared_key_place(spec: ServiceSpec, prefix: str) -> KeyPlace | None:
    """The resource that can share task keys across replicas: a redis cache's
    server, else a postgres database; None when there is neither. ``prefix`` is
    the keys' prefix, as a Python expression."""
    r = spec.resources
    if r.cache is not None and r.cache.kind == "redis":
        return KeyPlace(
            "cache_keys",
            "RedisIdempotency",
            "in Redis (the cache's server)",
            (Arg("url", "settings.cache_url"), Arg("prefix", prefix)),
        )
    if r.database is not None and r.database.kind == "postgres":
        return KeyPlace(
            "database_keys",
            "PostgresIdempotency",
            "in PostgreSQL (the database's table svcgen_keys)",
            (Arg("url", "settings.database_url"), Arg("prefix", prefix)),
        )
    return None


def _plan_schedules(
    spec: ServiceSpec, tasks: tuple[TaskPlan, ...]
) -> tuple[SchedulePlan, ...]:
    by_name = {t.name: t for t in tasks}
    return tuple(
        SchedulePlan(
            name=s.name,
            var=f"{s.name}_schedule",
            task=s.task,
            task_var=by_name[s.task].var,
            args=by_name[s.task].args,
            args_import=by_name[s.task].args_import,
            args_alias=f"{s.name}_schedule_args",
            cron=s.cron,
            every=s.every,
            timezone=s.timezone,
            description=s.description,
        )
        for s in sorted(spec.schedules, key=lambda s: s.name)
    )


SQLITE_DEFAULT_TIMEOUT: Final = 5.0

RESOURCE_CLASSES: Final = {
    ("cache", "memory"): "MemoryCache",
    ("cache", "redis"): "RedisCache",
    ("database", "sqlite"): "SqliteDatabase",
    ("database", "postgres"): "PostgresDatabase",
    ("storage", "memory"): "MemoryStorage",
    ("storage", "fs"): "FsStorage",
}
"""The runtime class of each resource kind, in ``svcgen_runtime.resources``."""


def _plan_resources(spec: ServiceSpec) -> tuple[ResourcePlan, ...]:
    r = spec.resources
    out: list[ResourcePlan] = []

    def add(attr: str, kind: str, protocol: str, *args: Arg) -> None:
        out.append(
            ResourcePlan(
                attr=attr,
                kind=kind,
                cls=RESOURCE_CLASSES[(attr, kind)],
                protocol=protocol,
                args=(Arg("name", py_literal(attr)), *args),
            )
        )

    if r.cache is not None:
        prefix = Arg("prefix", py_literal(r.cache.prefix or f"{spec.name}:"))
        if r.cache.kind == "redis":
            add("cache", "redis", "Cache", Arg("url", "settings.cache_url"), prefix)
        else:
            add("cache", "memory", "Cache", prefix)
    db = r.database
    if db is not None and db.kind == "postgres":
        pool = db.pool
        add(
            "database",
            "postgres",
            "Database",
            Arg("url", "settings.database_url"),
            Arg("min_size", py_literal(pool.min if pool else 1)),
            Arg("max_size", py_literal(pool.max if pool else 10)),
            Arg(
                "command_timeout",
                py_literal(db.timeout if db.timeout is not None else 30.0),
            ),
        )
    elif db is not None:
        timeout = db.timeout if db.timeout is not None else SQLITE_DEFAULT_TIMEOUT
        add(
            "database",
            "sqlite",
            "Database",
            Arg("path", "settings.database_path"),
            Arg("busy_timeout", py_literal(timeout)),
        )
    if r.storage is not None and r.storage.kind == "fs":
        add("storage", "fs", "Storage", Arg("path", "settings.storage_path"))
    elif r.storage is not None:
        add("storage", "memory", "Storage")
    return tuple(out)


def _imports(
    package: str,
    tasks: tuple[TaskPlan, ...],
    schedules: tuple[SchedulePlan, ...],
    idempotency: tuple[IdempotencyPlan, ...],
    resources: tuple[ResourcePlan, ...],
) -> frozenset[Import]:
    """What app.py imports for tasks, schedules, their key stores and resources."""
    imports: set[Import] = set()
    if tasks:
        imports.add(Import(f"{package}._generated.context", "Tasks", None))
        imports.add(Import("svcgen_runtime.tasks", "Task", None))
        imports.add(Import("svcgen_runtime.tasks", "task_worker", None))
        imports.add(Import("svcgen_runtime.idempotency", "IdempotencyStore", None))
    for t in tasks:
        imports.add(Import(f"{package}.tasks", t.name, t.handler_alias))
        if t.args_import is not None:
            imports.add(t.args_import)
    if any(t.guarded for t in tasks):
        imports.add(Import("svcgen_runtime.schedules", "guard_runs", None))
    if schedules:
        imports.add(Import("svcgen_runtime.schedules", "Schedule", None))
    for sc in schedules:
        imports.add(Import(f"{package}.schedules", sc.name, sc.args_alias))
    for store in idempotency:
        imports.add(Import("svcgen_runtime.idempotency", store.cls, None))
    for res in resources:
        imports.add(Import("svcgen_runtime.resources", res.cls, None))
        imports.add(Import("svcgen_runtime.resources", res.protocol, None))
    return frozenset(imports)


# -- tuning numbers, each overridable by SVCGEN_<SECTION>_<NAME>_<KEY> -----------------


def plan_tunings(spec: ServiceSpec) -> tuple[Tuning, ...]:
    """Every tuning number of the consumers, tasks and the drain, in a fixed order:
    consumers, then tasks, by name (each with its broker options, ``option_tunings``),
    then the drain. A new overridable number is one row here, its key's reader in
    ``svcgen_runtime.overrides.KEYS``, and its ``settings.<attr>`` in app.py."""
    items: list[tuple[str, ConsumerSpec | TaskSpec]] = [
        ("consumer", c) for c in sorted(spec.consumers, key=lambda c: c.name)
    ]
    items += [("task", t) for t in sorted(spec.tasks, key=lambda t: t.name)]
    out: list[Tuning] = []
    for section, item in items:
        at, src, retry = f"{section}_{item.name}", f"{section}s.{item.name}", item.retry
        rows: list[tuple[str, str, str, int | float]] = [
            ("concurrency", "concurrency", "whole", item.concurrency),
            ("timeout", "timeout", "duration", item.timeout),
            ("max_attempts", "retry.max_attempts", "whole", retry.max_attempts),
            ("retry_initial", "retry.initial", "duration", retry.initial),
            ("retry_max", "retry.max", "duration", retry.max),
        ]
        if isinstance(item, TaskSpec):
            rows.append(("key_window", "key_window", "duration", item.key_window))
        elif item.dedupe is not None:
            window = item.dedupe.window
            rows.append(("dedupe_window", "dedupe.window", "duration", window))
        out += [Tuning(f"{at}_{k}", f"{src}.{w}", r, v) for k, w, r, v in rows]
        broker = spec.brokers[item.broker]
        out += option_tunings(
            broker.kind, at, src, (item.broker, broker.options), item.options
        )
    drain = spec.shutdown.drain_timeout
    out.append(
        Tuning("shutdown_drain_timeout", "shutdown.drain_timeout", "duration", drain)
    )
    return tuple(out)
