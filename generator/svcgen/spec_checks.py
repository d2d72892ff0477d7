"""Cross-reference checks of a spec: what one pydantic model cannot say alone.

A consumer, publisher or task names a broker that exists and can serve that use;
names are unique; routes do not collide; a schedule names a task that exists, has
exactly one of ``cron`` and ``every``, a cron expression croniter accepts and an
IANA timezone; a schedule's task keeps its idempotency keys where every replica
sees them; a resource has the keys its kind needs and none that it ignores.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from .errors import SpecIssue
from .spec import (
    BROKER_KINDS,
    PROBE_PATHS,
    RESERVED_CONTEXT_NAMES,
    USES,
    Loc,
    _path,
    _Positions,
    control_character,
    task_keys_prefix,
)

# -- brokers, consumers, publishers, routes -------------------------------------------


def _entries(data: Mapping[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    items = data.get(key)
    if not isinstance(items, list):
        return []
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)]


def _unique_names(
    data: Mapping[str, Any], key: str, pos: _Positions
) -> Iterator[SpecIssue]:
    first: dict[str, int] = {}
    for i, item in _entries(data, key):
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if name in first:
            loc = (key, i, "name")
            yield SpecIssue(
                *pos.value(loc),
                _path(loc),
                f"{key[:-1]} {name!r} is defined twice (first as {key}[{first[name]}]); "
                "rename one of them",
            )
        else:
            first[name] = i


def cross_references(data: Mapping[str, Any], pos: _Positions) -> Iterator[SpecIssue]:
    """Every problem a single model cannot see: references, uniqueness, per-kind keys."""
    brokers = data.get("brokers")
    if brokers is None:
        brokers = {}  # no brokers: key, no broker to refer to
    kinds: dict[str, str] = {}
    if isinstance(brokers, dict):
        for name, broker in brokers.items():
            if isinstance(broker, dict) and broker.get("kind") in BROKER_KINDS:
                kinds[str(name)] = broker["kind"]
                yield from _broker_url(str(name), broker, pos)
    for key, use in (
        ("consumers", "consume"),
        ("publishers", "publish"),
        ("tasks", "task"),
    ):
        yield from _unique_names(data, key, pos)
        for i, item in _entries(data, key):
            yield from _broker_use(key, i, item, use, kinds, brokers, pos)
            yield from _addresses(key, i, item, kinds, pos)
            yield from _message_module(key, i, item, data.get("name"), pos)
    if isinstance(brokers, dict):
        yield from _broker_names(brokers, data.get("resources"), pos)
    for i, item in _entries(data, "publishers"):
        name = item.get("name")
        if name in RESERVED_CONTEXT_NAMES:
            loc = ("publishers", i, "name")
            yield SpecIssue(
                *pos.value(loc),
                _path(loc),
                f"{name!r} is reserved for the handler context's {name}; choose "
                "another publisher name",
            )
    http = data.get("http")
    if isinstance(http, dict):
        yield from _unique_names(http, "routes", _Scoped(pos, ("http",)))
        yield from _routes(http, pos)
    yield from toolbox_issues(data, pos, kinds)


class _Scoped(_Positions):
    """Positions seen from inside a sub-mapping (for checks that reuse _unique_names)."""

    def __init__(self, outer: _Positions, prefix: Loc) -> None:
        self._outer = outer
        self._prefix = prefix

    def value(self, loc: Loc) -> tuple[int, int]:
        return self._outer.value((*self._prefix, *loc))


def _broker_url(
    name: str, broker: Mapping[str, Any], pos: _Positions
) -> Iterator[SpecIssue]:
    kind = broker["kind"]
    url = broker.get("url")
    loc: Loc
    if kind == "memory" and url is not None:
        loc = ("brokers", name, "url")
        yield SpecIssue(
            *pos.key(loc),
            _path(loc),
            "a memory broker has no url; remove the key",
        )
    elif kind != "memory" and url is None:
        loc = ("brokers", name, "url")
        yield SpecIssue(
            *pos.value(loc),
            _path(loc),
            f'a {kind} broker needs a url, such as url: "${{{kind.upper()}_URL:-...}}"',
        )


def _broker_use(
    key: str,
    i: int,
    item: Mapping[str, Any],
    use: str,
    kinds: Mapping[str, str],
    brokers: object,
    pos: _Positions,
) -> Iterator[SpecIssue]:
    broker = item.get("broker")
    if not isinstance(broker, str):
        return
    loc = (key, i, "broker")
    if isinstance(brokers, dict) and broker not in brokers:
        known = sorted(str(b) for b in brokers)
        hint = difflib.get_close_matches(broker, known, n=1)
        message = f"no broker named {broker!r} in brokers"
        if hint:
            message += f"; did you mean {hint[0]!r}?"
        elif known:
            message += f"; defined: {', '.join(known)}"
        else:
            message += "; add it under brokers:"
        yield SpecIssue(*pos.value(loc), _path(loc), message)
        return
    kind = kinds.get(broker)
    if kind is None:
        return
    if use == "task" and use not in USES[kind]:
        able = sorted(k for k, uses in USES.items() if "task" in uses and k != "redis")
        yield SpecIssue(
            *pos.value(loc),
            _path(loc),
            f"broker {broker!r} is a {kind} broker, which cannot carry tasks; put "
            f"the task on a redis broker (the usual choice) or on "
            f"{', '.join(able[:-1])} or {able[-1]}",
        )
    elif use not in USES[kind]:
        yield SpecIssue(
            *pos.value(loc),
            _path(loc),
            f"broker {broker!r} is a {kind} broker, which cannot {use}",
        )
    ordering = item.get("ordering")
    if key == "consumers" and ordering in ("key", "partition"):
        if f"ordering:{ordering}" not in USES[kind]:
            where = ("consumers", i, "ordering")
            supported = sorted(
                k for k, uses in USES.items() if f"ordering:{ordering}" in uses
            )
            yield SpecIssue(
                *pos.value(where),
                _path(where),
                f"ordering: {ordering} needs a broker of kind "
                f"{' or '.join(supported)}, but {broker!r} is {kind}; use ordering: "
                + (
                    "key"
                    if ordering == "partition" and "ordering:key" in USES[kind]
                    else "none"
                ),
            )


_KAFKA_TOPIC: Final = re.compile(r"^[A-Za-z0-9._-]+$")
_NATS_SUBJECT: Final = re.compile(r"^[^.*>$][^.*>]*(\.[^.*>]+)*$")


def _address_problem(kind: str, value: str, *, field: str) -> str | None:
    """Why the ``kind`` broker would refuse ``value`` as ``field`` (an address, or
    a group)."""
    if field == "group":
        if kind == "mqtt" and any(c in value for c in "/+#"):
            return (
                f"{value!r} cannot name an MQTT shared subscription: remove '/', "
                "'+' and '#'"
            )
        return None
    if kind == "kafka" and (not _KAFKA_TOPIC.match(value) or value in (".", "..")):
        return (
            f"{value!r} is not a Kafka topic name: use letters, digits, '.', '_' "
            "and '-' only, such as orders.created"
        )
    if kind == "nats" and not _NATS_SUBJECT.match(value):
        return (
            f"{value!r} is not a NATS subject to read or send on: write tokens "
            "separated by single dots, without wildcards ('*', '>') or a leading "
            "'$', such as orders.created"
        )
    if kind == "mqtt" and value.startswith("$"):
        return f"{value!r} starts with '$', which MQTT keeps for the broker's topics"
    if kind == "mqtt" and field != "source" and any(c in value for c in "+#"):
        return (
            f"{value!r} is not an MQTT topic to send on: remove the wildcards "
            "('+', '#'), which only a consumer's source may use"
        )
    if kind == "rabbitmq" and value.startswith("amq."):
        return (
            f"{value!r} starts with 'amq.', which RabbitMQ keeps for itself; "
            "choose another name, such as orders.created"
        )
    return None


def _addresses(
    key: str,
    i: int,
    item: Mapping[str, Any],
    kinds: Mapping[str, str],
    pos: _Positions,
) -> Iterator[SpecIssue]:
    """Sources, targets, groups and dead-letter destinations as the broker's kind
    takes them (any broker's rules are checked by the model)."""
    broker = item.get("broker")
    kind = kinds.get(broker) if isinstance(broker, str) else None
    if kind is None:
        return
    for field in ("source", "target", "dead_letter", "group"):
        value = item.get(field)
        if not isinstance(value, str) or (field == "dead_letter" and value == "none"):
            continue
        problem = _address_problem(kind, value, field=field)
        if problem is not None:
            yield _issue(pos, (key, i, field), problem)
    source, dead = item.get("source"), item.get("dead_letter")
    if kind == "mqtt" and key == "consumers" and isinstance(source, str):
        if dead is None:  # the default, as the plan spells it
            dead = source.replace("+", "%2B").replace("#", "%23") + ".dlq"
        if isinstance(dead, str) and dead != "none" and _mqtt_matches(source, dead):
            field = "dead_letter" if "dead_letter" in item else "source"
            yield _issue(
                pos,
                (key, i, field),
                f"dead letters on {dead!r} would come back to this consumer, whose "
                f"source {source!r} matches that topic; set dead_letter to a topic "
                "outside it",
            )


def _mqtt_matches(topic_filter: str, topic: str) -> bool:
    """Whether the MQTT ``topic_filter`` ('+' one level, '#' the rest) matches."""
    levels = topic.split("/")
    for n, part in enumerate(topic_filter.split("/")):
        if part == "#":
            return True
        if n >= len(levels) or part not in ("+", levels[n]):
            return False
    return len(levels) == len(topic_filter.split("/"))


_STUB_PACKAGES: Final = ("_generated", "handlers", "routes", "tasks", "schedules")


def _message_module(
    key: str, i: int, item: Mapping[str, Any], service: object, pos: _Positions
) -> Iterator[SpecIssue]:
    """A message model may not live where svcgen writes its own modules."""
    field = "args" if key == "tasks" else "message"
    ref = item.get(field)
    if not isinstance(ref, str) or not isinstance(service, str) or ":" not in ref:
        return
    package = service.replace("-", "_")
    parts = ref.split(":")[0].split(".")
    if parts[0] == package and len(parts) > 1 and parts[1] in _STUB_PACKAGES:
        yield _issue(
            pos,
            (key, i, field),
            f"{ref!r} is inside {package}.{parts[1]}, which svcgen fills with its "
            f"own modules; put the model elsewhere, such as {package}.models",
        )
    elif parts[0] == package and parts[1:] == ["__main__"]:
        yield _issue(
            pos,
            (key, i, field),
            f"{ref!r} is inside {package}.__main__, the service's entry point; put "
            f"the model elsewhere, such as {package}.models",
        )


_RESOURCE_SETTINGS: Final = {"cache": "cache_url", "database": "database_url"}


def _broker_names(
    brokers: Mapping[str, Any], resources: object, pos: _Positions
) -> Iterator[SpecIssue]:
    """A broker's URL setting (``<name>_url``) must not be a resource's too."""
    if not isinstance(resources, dict):
        return
    for name, setting in _RESOURCE_SETTINGS.items():
        resource = resources.get(name)
        if name in brokers and isinstance(resource, dict) and "url" in resource:
            yield _issue(
                pos,
                ("brokers", name),
                f"a broker named {name!r} would take the setting {setting} of the "
                f"{name} resource; rename the broker, such as {name}_broker",
                key=True,
            )


_ROUTE_PATH: Final = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/{}-]*$")
_PATH_PARAM: Final = re.compile(r"\{([^{}]*)\}")
_CONVERTORS: Final = ("str", "path", "int", "float", "uuid")


def _path_problem(path: str) -> str | None:
    """Why starlette would refuse ``path``, or None."""
    if not _ROUTE_PATH.match(path):
        return (
            f"{path!r} is not a URL path: use letters, digits and -._~!$&'()*+,;=:@% "
            "between slashes, and {name} for parameters"
        )
    seen: set[str] = set()
    for param in _PATH_PARAM.findall(path):
        name, _, convertor = param.partition(":")
        if not name.isidentifier():
            return f"{{{param}}} in {path!r} is not a parameter: write {{name}}"
        if convertor and convertor not in _CONVERTORS:
            return (
                f"{{{param}}} in {path!r} has no convertor {convertor!r}; use one "
                f"of {', '.join(_CONVERTORS)}"
            )
        if name in seen:
            return f"{path!r} has the parameter {name!r} twice; rename one of them"
        seen.add(name)
    if "{" in _PATH_PARAM.sub("", path) or "}" in _PATH_PARAM.sub("", path):
        return f"{path!r} has an unmatched brace; write parameters as {{name}}"
    return None


def _routes(http: Mapping[str, Any], pos: _Positions) -> Iterator[SpecIssue]:
    seen: dict[tuple[str, str], int] = {}
    for i, route in _entries(http, "routes"):
        path, method = route.get("path"), route.get("method")
        if not isinstance(path, str):
            continue
        loc = ("http", "routes", i, "path")
        if not path.startswith("/"):
            yield SpecIssue(
                *pos.value(loc), _path(loc), f"{path!r} must start with '/'"
            )
        else:
            problem = _path_problem(path)
            if problem is not None:
                yield SpecIssue(*pos.value(loc), _path(loc), problem)
        if path in PROBE_PATHS:
            yield SpecIssue(
                *pos.value(loc),
                _path(loc),
                f"{path} is the built-in probe; choose another path",
            )
        if isinstance(method, str):
            if (method, path) in seen:
                yield SpecIssue(
                    *pos.value(loc),
                    _path(loc),
                    f"{method} {path!r} is already served by http.routes"
                    f"[{seen[(method, path)]}]; remove one of them",
                )
            else:
                seen[(method, path)] = i


# -- tasks, schedules, resources ------------------------------------------------------

SHARED_KEY_KINDS: Final = frozenset({"redis", "nats", "memory"})
"""Task broker kinds whose idempotency keys every replica shares on the broker itself
(redis: strings; nats: a JetStream key-value bucket; a memory broker lives in one
process anyway); the others need a redis cache or a postgres database for that."""

CRON_EXAMPLE: Final = '"0 3 * * *"'


def toolbox_issues(
    data: Mapping[str, Any], pos: _Positions, kinds: Mapping[str, str]
) -> Iterator[SpecIssue]:
    """Every problem of the tasks, schedules and resources sections."""
    yield from _unique_names(data, "schedules", pos)
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
        for _, item in _entries(data, "tasks")
        if isinstance(item.get("name"), str)
    }
    for i, item in _entries(data, "schedules"):
        yield from _schedule(i, item, pos)
        yield from _schedule_task(i, item, pos, tasks, kinds, shared_store=shared_store)
    yield from _resources(resources, pos)
    name = data.get("name")
    if isinstance(cache, dict) and redis_cache and tasks and isinstance(name, str):
        yield from _cache_prefix_clash(cache, name, pos)


def _cache_prefix_clash(
    cache: Mapping[str, Any], service: str, pos: _Positions
) -> Iterator[SpecIssue]:
    """A redis cache's prefix must not cover the task keys (clear() would delete them)."""
    prefix = cache.get("prefix")
    if not isinstance(prefix, str) or not prefix:
        return  # the default '<service>:' never clashes; empty is refused elsewhere
    keys = task_keys_prefix(service)
    if keys.startswith(prefix) or prefix.startswith(keys):
        yield _issue(
            pos,
            ("resources", "cache", "prefix"),
            f"{prefix!r} overlaps {keys!r}, where task idempotency keys and "
            "schedule fires are kept, so cache.clear() could delete them; omit it "
            f"for {service + ':'!r} or choose another prefix",
        )


def _issue(pos: _Positions, loc: Loc, message: str, *, key: bool = False) -> SpecIssue:
    line, col = pos.key(loc) if key else pos.value(loc)
    return SpecIssue(line, col, _path(loc), message)


def _name_clashes(data: Mapping[str, Any], pos: _Positions) -> Iterator[SpecIssue]:
    """Consumers, task workers and schedules run side by side under their names."""
    taken: dict[str, str] = {}
    for key in ("consumers", "tasks", "schedules"):
        for i, item in _entries(data, key):
            name = item.get("name")
            if not isinstance(name, str):
                continue
            other = taken.get(name)
            if other is not None and other != key:
                yield _issue(
                    pos,
                    (key, i, "name"),
                    f"{name!r} is already the name of one of the {other}; consumers, "
                    "tasks and schedules run side by side, so rename one of them",
                )
            taken.setdefault(name, key)


def _schedule(i: int, item: Mapping[str, Any], pos: _Positions) -> Iterator[SpecIssue]:
    loc: Loc = ("schedules", i)
    cron, every = item.get("cron"), item.get("every")
    for key in ("cron", "every"):
        if key in item and item[key] is None:
            yield _issue(
                pos,
                (*loc, key),
                f"{key} is empty (null); write a value, such as "
                + (f"cron: {CRON_EXAMPLE}" if key == "cron" else "every: 30s")
                + ", or remove the key",
            )
    if cron is not None and every is not None:
        yield _issue(
            pos,
            (*loc, "every"),
            "a schedule has either cron or every, not both; keep one of them",
            key=True,
        )
    elif cron is None and every is None and "cron" not in item and "every" not in item:
        yield _issue(
            pos,
            loc,
            f"a schedule needs cron (such as cron: {CRON_EXAMPLE}) or every (such "
            "as every: 30s)",
        )
    if isinstance(cron, str):
        problem = _cron_problem(cron)
        if problem is not None:
            yield _issue(pos, (*loc, "cron"), problem)
    timezone = item.get("timezone")
    if isinstance(timezone, str):
        problem = _timezone_problem(timezone)
        if problem is not None:
            yield _issue(pos, (*loc, "timezone"), problem)


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
    pos: _Positions,
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
        yield _issue(pos, loc, message)
        return
    broker = task.get("broker")
    kind = kinds.get(broker) if isinstance(broker, str) else None
    if kind is None or kind in SHARED_KEY_KINDS or kind == "mqtt" or shared_store:
        return
    yield _issue(
        pos,
        loc,
        f"task {name!r} is on the {kind} broker {broker!r}, whose idempotency keys "
        "would be kept per replica, so every replica would fire this schedule; add "
        "a redis cache (resources: cache: {kind: redis, url: ...}) or a postgres "
        "database, or put the task on a redis or nats broker",
    )


_URL_EXAMPLES: Final = {
    "redis": '"${REDIS_URL:-redis://localhost:6379/0}"',
    "postgres": '"${DATABASE_URL:-postgresql://localhost:5432/app}"',
}


def _resources(resources: Mapping[str, Any], pos: _Positions) -> Iterator[SpecIssue]:
    cache = resources.get("cache")
    if isinstance(cache, dict):
        yield from _needs(pos, "cache", cache, needs={"redis": "url"}, key="url")
        prefix = cache.get("prefix")
        if isinstance(prefix, str) and not prefix:
            yield _issue(
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
    pos: _Positions,
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
        yield _issue(
            pos,
            (*loc, key),
            f"a {kind} {resource} needs a {key}, such as {key}: {example}",
        )
    elif needs.get(kind) != key and key in spec:
        yield _issue(
            pos,
            (*loc, key),
            f"a {kind} {resource} has no {key}; remove the key",
            key=True,
        )


def _database(database: Mapping[str, Any], pos: _Positions) -> Iterator[SpecIssue]:
    kind = database.get("kind")
    loc: Loc = ("resources", "database")
    if kind == "sqlite":
        if "url" in database:
            yield _issue(
                pos,
                (*loc, "url"),
                "a sqlite database is a file: write path: (such as path: "
                "./data/app.db) instead of url:",
                key=True,
            )
        if "pool" in database:
            yield _issue(
                pos,
                (*loc, "pool"),
                "a sqlite database has one connection, not a pool; remove the key",
                key=True,
            )
    elif kind == "postgres":
        if "path" in database:
            yield _issue(
                pos,
                (*loc, "path"),
                "a postgres database has a url, not a path; remove the key",
                key=True,
            )
        if database.get("url") is None:
            yield _issue(
                pos,
                (*loc, "url"),
                f"a postgres database needs a url, such as url: "
                f"{_URL_EXAMPLES['postgres']}",
            )
    pool = database.get("pool")
    if isinstance(pool, dict):
        low, high = pool.get("min", 1), pool.get("max", 10)
        if isinstance(low, int) and isinstance(high, int) and low > high:
            yield _issue(
                pos,
                (*loc, "pool", "min"),
                f"min ({low}) exceeds max ({high}): raise max or lower min",
            )
