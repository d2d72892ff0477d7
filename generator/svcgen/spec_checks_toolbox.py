"""Cross-reference checks of a spec's tasks, schedules and resources.

A schedule names a task that exists, has exactly one of ``cron`` and ``every``, a
cron expression croniter accepts and an IANA timezone; a schedule's task keeps its
idempotency keys where every replica sees them; a resource has the keys its kind
needs and none that it ignores. The options of brokers, consumers and tasks are
checked in ``spec_checks_options``, run from here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any, Final

from .errors import SpecIssue
from .kinds import BROKERS, USUAL_TASK_KIND
from .names import task_keys_prefix
from .spec_checks import broker_kinds, entries, issue, unique_names
from .spec_checks_options import option_issues
from .spec_reader import Loc, Positions
from .spec_values import control_character

CRON_EXAMPLE: Final = '"0 3 * * *"'

_KEY_SHARING: Final = sorted(
    (k.name for k in BROKERS.values() if k.shares_task_keys and not k.in_process),
    key=lambda name: name != USUAL_TASK_KIND,
)
"""The server brokers that keep task keys themselves, the usual one first."""


def toolbox_issues(data: Mapping[str, Any], pos: Positions) -> Iterator[SpecIssue]:
    """Every problem of the tasks, schedules and resources sections, and of the
    options of brokers, consumers and tasks (``spec_checks_options``)."""
    kinds = broker_kinds(data)
    yield from option_issues(data, pos)
    yield from unique_names(data, "schedules", pos)
    yield from _name_clashes(data, pos)
    resources = data.get("resources")
    resources = resources if isinstance(resources, dict) else {}
    cache = resources.get("cache")
    redis_cache = isinstance(cache, dict) and cache.get("kind") == "redis"
    database = resources.get("database")
    shared_store = redis_cache or (
        isinstance(database, dict) and database.get("kind") == "postgres"
    )
    tasks = {
        str(item["name"]): item
        for _, item in entries(data, "tasks")
        if isinstance(item.get("name"), str)
    }
    for i, item in entries(data, "schedules"):
        yield from _schedule(i, item, pos)
        yield from _schedule_task(i, item, pos, tasks, kinds, shared_store=shared_store)
    yield from _resources(resources, pos)
    name = data.get("name")
    if isinstance(cache, dict) and redis_cache and tasks and isinstance(name, str):
        yield from _cache_prefix_clash(cache, name, pos)


def _cache_prefix_clash(
    cache: Mapping[str, Any], service: str, pos: Positions
) -> Iterator[SpecIssue]:
    """A redis cache's prefix must not cover the task keys (clear() would delete them)."""
    prefix = cache.get("prefix")
    if not isinstance(prefix, str) or not prefix:
        return  # the default '<service>:' never clashes; empty is refused elsewhere
    keys = task_keys_prefix(service)
    if keys.startswith(prefix) or prefix.startswith(keys):
        yield issue(
            pos,
            ("resources", "cache", "prefix"),
            f"{prefix!r} overlaps {keys!r}, where task idempotency keys and "
            "schedule fires are kept, so cache.clear() could delete them; omit it "
            f"for {service + ':'!r} or choose another prefix",
        )


def _name_clashes(data: Mapping[str, Any], pos: Positions) -> Iterator[SpecIssue]:
    """Consumers, task workers and schedules run side by side under their names."""
    taken: dict[str, str] = {}
    for key in ("consumers", "tasks", "schedules"):
        for i, item in entries(data, key):
            name = item.get("name")
            if not isinstance(name, str):
                continue
            other = taken.get(name)
            if other is not None and other != key:
                yield issue(
                    pos,
                    (key, i, "name"),
                    f"{name!r} is already the name of one of the {other}; consumers, "
                    "tasks and schedules run side by side, so rename one of them",
                )
            taken.setdefault(name, key)


def _schedule(i: int, item: Mapping[str, Any], pos: Positions) -> Iterator[SpecIssue]:
    loc: Loc = ("schedules", i)
    cron, every = item.get("cron"), item.get("every")
    for key in ("cron", "every"):
        if key in item and item[key] is None:
            yield issue(
                pos,
                (*loc, key),
                f"{key} is empty (null); write a value, such as "
                + (f"cron: {CRON_EXAMPLE}" if key == "cron" else "every: 30s")
                + ", or remove the key",
            )
    if cron is not None and every is not None:
        yield issue(
            pos,
            (*loc, "every"),
            "a schedule has either cron or every, not both; keep one of them",
            key=True,
        )
    elif cron is None and every is None and "cron" not in item and "every" not in item:
        yield issue(
            pos,
            loc,
            f"a schedule needs cron (such as cron: {CRON_EXAMPLE}) or every (such "
            "as every: 30s)",
        )
    if isinstance(cron, str):
        problem = _cron_problem(cron)
        if problem is not None:
            yield issue(pos, (*loc, "cron"), problem)
    timezone = item.get("timezone")
    if isinstance(timezone, str):
        problem = _timezone_problem(timezone)
        if problem is not None:
            yield issue(pos, (*loc, "timezone"), problem)


def _cron_problem(expression: str) -> str | None:
    """Why croniter refuses ``expression``, or None when it is a valid 5-field cron."""
    if control_character(expression) is not None:
        return None  # refused as such by the model
    fields = expression.split()
    if len(fields) != 5:
        return (
            f"{expression!r} has {len(fields)} field(s); a cron expression has five "
            f"(minute hour day-of-month month day-of-week), such as {CRON_EXAMPLE}"
        )
    try:
        from croniter import croniter
    except ImportError:  # pragma: no cover - croniter is a dependency of svcgen
        return "cannot check the cron expression: pip install croniter"
    if not croniter.is_valid(expression):
        return (
            f"{expression!r} is not a valid cron expression: check each field's "
            f"range (minute 0-59, hour 0-23, ...), such as {CRON_EXAMPLE}"
        )
    return None


def _timezone_problem(name: str) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return (
            f"{name!r} is not an IANA timezone: write one such as UTC or Europe/Berlin"
        )
    return None


def _schedule_task(
    i: int,
    item: Mapping[str, Any],
    pos: Positions,
    tasks: Mapping[str, Mapping[str, Any]],
    kinds: Mapping[str, str],
    *,
    shared_store: bool,
) -> Iterator[SpecIssue]:
    name = item.get("task")
    if not isinstance(name, str):
        return
    loc: Loc = ("schedules", i, "task")
    task = tasks.get(name)
    if task is None:
        known = sorted(tasks)
        hint = difflib.get_close_matches(name, known, n=1)
        message = f"no task named {name!r} in tasks"
        if hint:
            message += f"; did you mean {hint[0]!r}?"
        elif known:
            message += f"; defined: {', '.join(known)}"
        else:
            message += "; add it under tasks: (svcgen add-task)"
        yield issue(pos, loc, message)
        return
    broker = task.get("broker")
    kind = kinds.get(broker) if isinstance(broker, str) else None
    if kind is None or shared_store:
        return
    row = BROKERS[kind]
    if row.shares_task_keys or "task" not in row.uses:
        return  # keys on the broker itself, or no task there at all (refused as such)
    yield issue(
        pos,
        loc,
        f"task {name!r} is on the {kind} broker {broker!r}, whose idempotency keys "
        "would be kept per replica, so every replica would fire this schedule; add "
        "a redis cache (resources: cache: {kind: redis, url: ...}) or a postgres "
        f"database, or put the task on a {' or '.join(_KEY_SHARING)} broker",
    )


_URL_EXAMPLES: Final = {
    "redis": '"${REDIS_URL:-redis://localhost:6379/0}"',
    "postgres": '"${DATABASE_URL:-postgresql://localhost:5432/app}"',
}


def _resources(resources: Mapping[str, Any], pos: Positions) -> Iterator[SpecIssue]:
    cache = resources.get("cache")
    if isinstance(cache, dict):
        yield from _needs(pos, "cache", cache, needs={"redis": "url"}, key="url")
        prefix = cache.get("prefix")
        if isinstance(prefix, str) and not prefix:
            yield issue(
                pos,
                ("resources", "cache", "prefix"),
                "must not be empty, since clear() deletes every key under it; "
                "omit it for '<service name>:'",
            )
    database = resources.get("database")
    if isinstance(database, dict):
        yield from _database(database, pos)
    storage = resources.get("storage")
    if isinstance(storage, dict):
        yield from _needs(pos, "storage", storage, needs={"fs": "path"}, key="path")


def _needs(
    pos: Positions,
    resource: str,
    spec: Mapping[str, Any],
    *,
    needs: Mapping[str, str],
    key: str,
) -> Iterator[SpecIssue]:
    """``key`` is required by the kinds in ``needs`` and refused by the others."""
    kind = spec.get("kind")
    if not isinstance(kind, str):
        return
    loc: Loc = ("resources", resource)
    if needs.get(kind) == key and spec.get(key) is None:
        example = _URL_EXAMPLES.get(kind, "./data") if key == "url" else "./data"
        yield issue(
            pos,
            (*loc, key),
            f"a {kind} {resource} needs a {key}, such as {key}: {example}",
        )
    elif needs.get(kind) != key and key in spec:
        yield issue(
            pos,
            (*loc, key),
            f"a {kind} {resource} has no {key}; remove the key",
            key=True,
        )


def _database(database: Mapping[str, Any], pos: Positions) -> Iterator[SpecIssue]:
    kind = database.get("kind")
    loc: Loc = ("resources", "database")
    if kind == "sqlite":
        if "url" in database:
            yield issue(
                pos,
                (*loc, "url"),
                "a sqlite database is a file: write path: (such as path: "
                "./data/app.db) instead of url:",
                key=True,
            )
        if "pool" in database:
            yield issue(
                pos,
                (*loc, "pool"),
                "a sqlite database has one connection, not a pool; remove the key",
                key=True,
            )
    elif kind == "postgres":
        if "path" in database:
            yield issue(
                pos,
                (*loc, "path"),
                "a postgres database has a url, not a path; remove the key",
                key=True,
            )
        if database.get("url") is None:
            yield issue(
                pos,
                (*loc, "url"),
                f"a postgres database needs a url, such as url: "
                f"{_URL_EXAMPLES['postgres']}",
            )
    pool = database.get("pool")
    if isinstance(pool, dict):
        low, high = pool.get("min", 1), pool.get("max", 10)
        if isinstance(low, int) and isinstance(high, int) and low > high:
            yield issue(
                pos,
                (*loc, "pool", "min"),
                f"min ({low}) exceeds max ({high}): raise max or lower min",
            )
