"""The plan of tasks, schedules, their idempotency key stores, and resources.

``plan.make_plan`` calls these; they resolve each default to the literal value the
generated code spells out, name every variable, and sort by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .formatting import py_literal
from .plan import (
    RESOURCE_CLASSES,
    Import,
    RetryPlan,
    _dead_letter,
    _MessageNames,
)
from .spec import ServiceSpec, task_keys_bucket, task_keys_prefix


@dataclass(frozen=True)
class IdempotencyPlan:
    """Where task keys (and schedule fires) are claimed: one store per place."""

    var: str
    cls: str
    """``RedisIdempotency``, ``NatsIdempotency``, ``PostgresIdempotency`` or
    ``MemoryIdempotency``."""
    where: str
    """Where the keys live, for the comment above the store in app.py."""
    args: tuple[tuple[str, str], ...]
    """(keyword, Python expression) of the constructor, after ``name``."""
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
    args: tuple[tuple[str, str], ...]
    """(keyword, Python expression) in the order the constructor documents them."""


NATS_KEYS_MAX_AGE: Final = 31 * 24 * 3600.0
"""NatsIdempotency's default max_age: a longer key window passes its own."""

_Place = tuple[str, str, tuple[tuple[str, str], ...]]
"""A key store's class, where it keeps the keys, and its constructor arguments."""


def plan_tasks(
    spec: ServiceSpec, names: _MessageNames, kinds: dict[str, str]
) -> tuple[tuple[TaskPlan, ...], tuple[IdempotencyPlan, ...]]:
    """The task plans, and the idempotency stores their keys are claimed in.

    Keys live where every replica sees them: on the task's redis broker; else in a
    redis cache; else on the task's nats broker (a JetStream key-value bucket); else
    in a postgres database; else in the process (right for a memory broker, per
    replica for the others: the spec refuses a schedule then).
    """
    prefix = py_literal(task_keys_prefix(spec.name))
    shared = shared_key_place(spec, prefix)
    place: _Place
    scheduled = {s.task for s in spec.schedules}
    # store variable -> (class, where, constructor args, tasks kept per replica)
    stores: dict[str, tuple[str, str, tuple[tuple[str, str], ...], list[str]]] = {}
    plans = []
    for t in sorted(spec.tasks, key=lambda t: t.name):
        kind = kinds[t.broker]
        # Variables end in _keys, which no other generated name does.
        url = f"settings.{t.broker}_url"
        if kind == "redis":
            store = f"{t.broker}_broker_keys"
            place = ("RedisIdempotency", "in Redis", (("url", url), ("prefix", prefix)))
        elif kind != "memory" and shared is not None and shared[0] == "cache_keys":
            store, place = shared
        elif kind == "nats":
            store = f"{t.broker}_broker_keys"
            bucket = py_literal(task_keys_bucket(spec.name))
            place = (
                "NatsIdempotency",
                "in a JetStream key-value bucket",
                (("url", url), ("bucket", bucket)),
            )
        elif kind != "memory" and shared is not None:
            store, place = shared
        else:
            store, place = "process_keys", ("MemoryIdempotency", "in this process", ())
        per_replica = stores.setdefault(store, (*place, []))[3]
        if store == "process_keys" and kind != "memory":
            per_replica.append(t.name)
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
                retry=RetryPlan(
                    max_attempts=t.retry.max_attempts,
                    backoff=t.retry.backoff,
                    initial=t.retry.initial,
                    max=t.retry.max,
                    jitter=t.retry.jitter,
                ),
                dead_letter=_dead_letter(t.dead_letter, queue),
                key_window=t.key_window,
                idempotency_var=store,
                guarded=t.name in scheduled,
                description=t.description,
            )
        )
    for var, (cls, where, args, per_replica) in list(stores.items()):
        windows = [t.key_window for t in plans if t.idempotency_var == var]
        if cls == "NatsIdempotency" and max(windows) > NATS_KEYS_MAX_AGE:
            # The bucket forgets entries after max_age: it must outlive every window.
            args = (*args, ("max_age", py_literal(max(windows))))
            stores[var] = (cls, where, args, per_replica)
    idempotency = tuple(
        IdempotencyPlan(
            var=var, cls=cls, where=where, args=args, per_replica=tuple(per_replica)
        )
        for var, (cls, where, args, per_replica) in sorted(stores.items())
    )
    return tuple(plans), idempotency


def shared_key_place(spec: ServiceSpec, prefix: str) -> tuple[str, _Place] | None:
    """The resource that can share task keys across replicas: a redis cache's
    server, else a postgres database; None when there is neither. ``prefix`` is
    the keys' prefix, as a Python expression."""
    r = spec.resources
    if r.cache is not None and r.cache.kind == "redis":
        return "cache_keys", (
            "RedisIdempotency",
            "in Redis (the cache's server)",
            (("url", "settings.cache_url"), ("prefix", prefix)),
        )
    if r.database is not None and r.database.kind == "postgres":
        return "database_keys", (
            "PostgresIdempotency",
            "in PostgreSQL (the database's table svcgen_keys)",
            (("url", "settings.database_url"), ("prefix", prefix)),
        )
    return None


def plan_schedules(
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


def plan_resources(spec: ServiceSpec) -> tuple[ResourcePlan, ...]:
    r = spec.resources
    out: list[ResourcePlan] = []

    def add(attr: str, kind: str, protocol: str, *args: tuple[str, str]) -> None:
        out.append(
            ResourcePlan(
                attr=attr,
                kind=kind,
                cls=RESOURCE_CLASSES[(attr, kind)],
                protocol=protocol,
                args=(("name", py_literal(attr)), *args),
            )
        )

    if r.cache is not None:
        prefix = ("prefix", py_literal(r.cache.prefix or f"{spec.name}:"))
        if r.cache.kind == "redis":
            add("cache", "redis", "Cache", ("url", "settings.cache_url"), prefix)
        else:
            add("cache", "memory", "Cache", prefix)
    db = r.database
    if db is not None and db.kind == "postgres":
        pool = db.pool
        add(
            "database",
            "postgres",
            "Database",
            ("url", "settings.database_url"),
            ("min_size", py_literal(pool.min if pool else 1)),
            ("max_size", py_literal(pool.max if pool else 10)),
            (
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
            ("path", "settings.database_path"),
            ("busy_timeout", py_literal(timeout)),
        )
    if r.storage is not None and r.storage.kind == "fs":
        add("storage", "fs", "Storage", ("path", "settings.storage_path"))
    elif r.storage is not None:
        add("storage", "memory", "Storage")
    return tuple(out)


def toolbox_imports(
    package: str,
    tasks: tuple[TaskPlan, ...],
    schedules: tuple[SchedulePlan, ...],
    idempotency: tuple[IdempotencyPlan, ...],
    resources: tuple[ResourcePlan, ...],
) -> set[Import]:
    """What app.py imports for tasks, schedules, their key stores and resources."""
    imports: set[Import] = set()
    if tasks:
        imports.add((f"{package}._generated.context", "Tasks", None))
        imports.add(("svcgen_runtime.tasks", "Task", None))
        imports.add(("svcgen_runtime.tasks", "task_worker", None))
        imports.add(("svcgen_runtime.idempotency", "IdempotencyStore", None))
    for t in tasks:
        imports.add((f"{package}.tasks", t.name, t.handler_alias))
        if t.args_import is not None:
            imports.add(t.args_import)
    if any(t.guarded for t in tasks):
        imports.add(("svcgen_runtime.schedules", "guard_runs", None))
    if schedules:
        imports.add(("svcgen_runtime.schedules", "Schedule", None))
    for sc in schedules:
        imports.add((f"{package}.schedules", sc.name, sc.args_alias))
    for store in idempotency:
        imports.add(("svcgen_runtime.idempotency", store.cls, None))
    for res in resources:
        imports.add(("svcgen_runtime.resources", res.cls, None))
        imports.add(("svcgen_runtime.resources", res.protocol, None))
    return imports
