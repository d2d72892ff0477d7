"""Cross-reference checks of a spec: what one pydantic model cannot say alone.

A consumer, publisher or task names a broker that exists and can serve that use,
with addresses its kind takes (``kinds.BROKERS``); names are unique; routes do not
collide. The tasks, schedules and resources sections are checked in
``spec_checks_toolbox``, with the helpers here.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from .errors import SpecIssue
from .kinds import BROKER_KINDS, BROKERS, USUAL_TASK_KIND, AddressField
from .names import RESERVED_CONTEXT_NAMES, package_name
from .spec_reader import Loc, Mark, Positions, loc_path

PROBE_PATHS: Final = frozenset({"/healthz", "/readyz"})

# -- brokers, consumers, publishers, routes -------------------------------------------


def entries(data: Mapping[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    """The mappings of the list at ``key``, with their indexes (as ``enumerate``)."""
    items = data.get(key)
    if not isinstance(items, list):
        return []
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)]


def unique_names(
    data: Mapping[str, Any], key: str, pos: Positions
) -> Iterator[SpecIssue]:
    """Each entry of the list at ``key`` whose name an earlier entry has."""
    first: dict[str, int] = {}
    for i, item in entries(data, key):
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if name in first:
            loc = (key, i, "name")
            yield SpecIssue(
                *pos.value(loc),
                loc_path(loc),
                f"{key[:-1]} {name!r} is defined twice (first as {key}[{first[name]}]); "
                "rename one of them",
            )
        else:
            first[name] = i


def issue(pos: Positions, loc: Loc, message: str, *, key: bool = False) -> SpecIssue:
    """``message`` at ``loc``'s value, or at its key."""
    line, col = pos.key(loc) if key else pos.value(loc)
    return SpecIssue(line, col, loc_path(loc), message)


def broker_kinds(data: Mapping[str, Any]) -> dict[str, str]:
    """The kind of each broker of a known kind, by name."""
    brokers = data.get("brokers")
    if not isinstance(brokers, dict):
        return {}
    return {
        str(name): broker["kind"]
        for name, broker in brokers.items()
        if isinstance(broker, dict) and broker.get("kind") in BROKER_KINDS
    }


def cross_references(data: Mapping[str, Any], pos: Positions) -> Iterator[SpecIssue]:
    """Every problem a single model cannot see in the brokers, consumers, publishers
    and routes: references, uniqueness, per-kind addresses."""
    brokers = data.get("brokers")
    if brokers is None:
        brokers = {}  # no brokers: key, no broker to refer to
    kinds = broker_kinds(data)
    for broker, kind in kinds.items():
        yield from _broker_url(broker, kind, brokers[broker], pos)
    for key, use in (
        ("consumers", "consume"),
        ("publishers", "publish"),
        ("tasks", "task"),
    ):
        yield from unique_names(data, key, pos)
        for i, item in entries(data, key):
            yield from _broker_use(key, i, item, use, kinds, brokers, pos)
            yield from _addresses(key, i, item, kinds, pos)
            yield from _message_module(key, i, item, data.get("name"), pos)
    if isinstance(brokers, dict):
        yield from _broker_names(brokers, data.get("resources"), pos)
    for i, item in entries(data, "publishers"):
        name = item.get("name")
        if name in RESERVED_CONTEXT_NAMES:
            loc = ("publishers", i, "name")
            yield SpecIssue(
                *pos.value(loc),
                loc_path(loc),
                f"{name!r} is reserved for the handler context's {name}; choose "
                "another publisher name",
            )
    http = data.get("http")
    if isinstance(http, dict):
        yield from unique_names(http, "routes", _Scoped(pos, ("http",)))
        yield from _routes(http, pos)
    if isinstance(data.get("autoscale"), dict) and isinstance(brokers, dict):
        yield from _scaled_urls(data, kinds, brokers, pos)


_WHOLE_REFERENCE: Final = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}")


def _scaled_urls(
    data: Mapping[str, Any],
    kinds: Mapping[str, str],
    brokers: Mapping[str, Any],
    pos: Positions,
) -> Iterator[SpecIssue]:
    """A broker whose KEDA trigger reads its URL from the Deployment's environment
    (``<key>FromEnv``) needs the URL to be one ``${VAR}`` or a literal: KEDA reads
    the variable whole and cannot assemble a URL from pieces."""
    used = {item.get("broker") for _, item in entries(data, "consumers")}
    for name, kind in sorted(kinds.items()):
        scaler = BROKERS[kind].scaler
        url = brokers[name].get("url")
        if name not in used or scaler is None or scaler.from_secret is not None:
            continue
        if not isinstance(url, str) or "${" not in url:
            continue
        if _WHOLE_REFERENCE.fullmatch(url) is None:
            loc: Loc = ("brokers", name, "url")
            yield issue(
                pos,
                loc,
                f"autoscale's {scaler.trigger} trigger reads this broker's URL from "
                "one environment variable, but this url is assembled from pieces; "
                "write it as one reference, such as url: "
                f'"${{{BROKERS[kind].url_var}:-...}}", or remove autoscale',
            )


class _Scoped(Positions):
    """Positions seen from inside a sub-mapping (for checks that reuse unique_names)."""

    def __init__(self, outer: Positions, prefix: Loc) -> None:
        self._outer = outer
        self._prefix = prefix

    def value(self, loc: Loc) -> Mark:
        return self._outer.value((*self._prefix, *loc))


def _broker_url(
    name: str, kind: str, broker: Mapping[str, Any], pos: Positions
) -> Iterator[SpecIssue]:
    url_var = BROKERS[kind].url_var
    url = broker.get("url")
    loc: Loc = ("brokers", name, "url")
    if url_var is None and url is not None:
        yield SpecIssue(
            *pos.key(loc),
            loc_path(loc),
            f"a {kind} broker has no url; remove the key",
        )
    elif url_var is not None and url is None:
        yield SpecIssue(
            *pos.value(loc),
            loc_path(loc),
            f'a {kind} broker needs a url, such as url: "${{{url_var}:-...}}"',
        )


def _broker_use(
    key: str,
    i: int,
    item: Mapping[str, Any],
    use: str,
    kinds: Mapping[str, str],
    brokers: object,
    pos: Positions,
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
        yield SpecIssue(*pos.value(loc), loc_path(loc), message)
        return
    kind = kinds.get(broker)
    if kind is None:
        return
    row = BROKERS[kind]
    if use == "task" and use not in row.uses:
        able = sorted(
            k.name
            for k in BROKERS.values()
            if "task" in k.uses and k.name != USUAL_TASK_KIND
        )
        yield SpecIssue(
            *pos.value(loc),
            loc_path(loc),
            f"broker {broker!r} is a {kind} broker, which cannot carry tasks; put "
            f"the task on a {USUAL_TASK_KIND} broker (the usual choice) or on "
            f"{', '.join(able[:-1])} or {able[-1]}",
        )
    elif use not in row.uses:
        yield SpecIssue(
            *pos.value(loc),
            loc_path(loc),
            f"broker {broker!r} is a {kind} broker, which cannot {use}",
        )
    ordering = item.get("ordering")
    if key == "consumers" and ordering in ("key", "partition"):
        if ordering not in row.orderings:
            where = ("consumers", i, "ordering")
            supported = sorted(
                k.name for k in BROKERS.values() if ordering in k.orderings
            )
            yield SpecIssue(
                *pos.value(where),
                loc_path(where),
                f"ordering: {ordering} needs a broker of kind "
                f"{' or '.join(supported)}, but {broker!r} is {kind}; use ordering: "
                + (
                    "key"
                    if ordering == "partition" and "key" in row.orderings
                    else "none"
                ),
            )


_ADDRESS_FIELDS: Final[tuple[AddressField, ...]] = (
    "source",
    "target",
    "dead_letter",
    "group",
)


def _addresses(
    key: str,
    i: int,
    item: Mapping[str, Any],
    kinds: Mapping[str, str],
    pos: Positions,
) -> Iterator[SpecIssue]:
    """Sources, targets, groups and dead-letter destinations as the broker's kind
    takes them (any broker's rules are checked by the model)."""
    broker = item.get("broker")
    kind = kinds.get(broker) if isinstance(broker, str) else None
    if kind is None:
        return
    row = BROKERS[kind]
    for field in _ADDRESS_FIELDS:
        value = item.get(field)
        if not isinstance(value, str) or (field == "dead_letter" and value == "none"):
            continue
        problem = row.address_problem(value, field)
        if problem is not None:
            yield issue(pos, (key, i, field), problem)
    source, dead = item.get("source"), item.get("dead_letter")
    matches = row.source_matches
    if matches is not None and key == "consumers" and isinstance(source, str):
        if dead is None:  # the default, as the plan spells it
            dead = row.default_dead_letter(source)
        if isinstance(dead, str) and dead != "none" and matches(source, dead):
            field = "dead_letter" if "dead_letter" in item else "source"
            yield issue(
                pos,
                (key, i, field),
                f"dead letters on {dead!r} would come back to this consumer, whose "
                f"source {source!r} matches that topic; set dead_letter to a topic "
                "outside it",
            )


_STUB_PACKAGES: Final = ("_generated", "handlers", "routes", "tasks", "schedules")


def _message_module(
    key: str, i: int, item: Mapping[str, Any], service: object, pos: Positions
) -> Iterator[SpecIssue]:
    """A message model may not live where svcgen writes its own modules."""
    field = "args" if key == "tasks" else "message"
    ref = item.get(field)
    if not isinstance(ref, str) or not isinstance(service, str) or ":" not in ref:
        return
    package = package_name(service)
    parts = ref.split(":")[0].split(".")
    if parts[0] == package and len(parts) > 1 and parts[1] in _STUB_PACKAGES:
        yield issue(
            pos,
            (key, i, field),
            f"{ref!r} is inside {package}.{parts[1]}, which svcgen fills with its "
            f"own modules; put the model elsewhere, such as {package}.models",
        )
    elif parts[0] == package and parts[1:] == ["__main__"]:
        yield issue(
            pos,
            (key, i, field),
            f"{ref!r} is inside {package}.__main__, the service's entry point; put "
            f"the model elsewhere, such as {package}.models",
        )


_RESOURCE_SETTINGS: Final = {"cache": "cache_url", "database": "database_url"}


def _broker_names(
    brokers: Mapping[str, Any], resources: object, pos: Positions
) -> Iterator[SpecIssue]:
    """A broker's URL setting (``<name>_url``) must not be a resource's too."""
    if not isinstance(resources, dict):
        return
    for name, setting in _RESOURCE_SETTINGS.items():
        resource = resources.get(name)
        if name in brokers and isinstance(resource, dict) and "url" in resource:
            yield issue(
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


def _routes(http: Mapping[str, Any], pos: Positions) -> Iterator[SpecIssue]:
    seen: dict[tuple[str, str], int] = {}
    for i, route in entries(http, "routes"):
        path, method = route.get("path"), route.get("method")
        if not isinstance(path, str):
            continue
        loc = ("http", "routes", i, "path")
        if not path.startswith("/"):
            yield SpecIssue(
                *pos.value(loc), loc_path(loc), f"{path!r} must start with '/'"
            )
        else:
            problem = _path_problem(path)
            if problem is not None:
                yield SpecIssue(*pos.value(loc), loc_path(loc), problem)
        if path in PROBE_PATHS:
            yield SpecIssue(
                *pos.value(loc),
                loc_path(loc),
                f"{path} is the built-in probe; choose another path",
            )
        if isinstance(method, str):
            if (method, path) in seen:
                yield SpecIssue(
                    *pos.value(loc),
                    loc_path(loc),
                    f"{method} {path!r} is already served by http.routes"
                    f"[{seen[(method, path)]}]; remove one of them",
                )
            else:
                seen[(method, path)] = i
