"""The shapes of the JSON Schemas pydantic v2 emits, read for ``contracts_schema``:
following ``$ref`` into ``$defs``, a union's branches, the JSON types, enum and const
values, bounds (an integer's exclusive bound made inclusive), and short names of what
a schema allows for the report's sentences."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any, Final

ANNOTATIONS: Final = frozenset(
    {"title", "description", "default", "examples", "deprecated", "readOnly"}
    | {"writeOnly", "$comment", "discriminator"}
)
"""Keys that describe a value without constraining it."""

BOUNDS: Final = {
    "minLength": ("minimum length", "lower"),
    "maxLength": ("maximum length", "upper"),
    "minItems": ("minimum number of items", "lower"),
    "maxItems": ("maximum number of items", "upper"),
    "minimum": ("minimum", "lower"),
    "maximum": ("maximum", "upper"),
}


def resolve(schema: Any, root: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """``schema`` with ``$ref`` (and an ``allOf`` of one) followed into ``$defs``, and
    the name of the last definition followed."""
    name = None
    seen = 0
    while isinstance(schema, dict) and seen < 64:
        seen += 1
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**root.get("$defs", {}).get(name, {}), **constraining(siblings)}
            continue
        every = schema.get("allOf")
        if isinstance(every, list) and len(every) == 1:
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            schema = {**every[0], **constraining(rest)}
            continue
        break
    return (schema if isinstance(schema, dict) else {}), name


def constraining(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in ANNOTATIONS}


def branches(schema: dict[str, Any]) -> list[Any]:
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return [b for branch in schema[key] for b in flat(branch)]
    return [schema]


def flat(branch: Any) -> Iterator[Any]:
    if isinstance(branch, dict) and set(branch) & {"anyOf", "oneOf"}:
        yield from branches(branch)
    else:
        yield branch


_JSON_TYPES: Final = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    type(None): "null",
    list: "array",
    dict: "object",
}


def json_types(schema: dict[str, Any]) -> set[str] | None:
    """The JSON types ``schema`` allows; None: any."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {str(k) for k in kind}
    values = enum_values(schema)
    if values is not None:
        return {_JSON_TYPES.get(type(v), "string") for v in values}
    if "properties" in schema or "additionalProperties" in schema:
        return {"object"}
    if "items" in schema or "prefixItems" in schema:
        return {"array"}
    return None


def within(inner: set[str], outer: set[str]) -> bool:
    return all(t in outer or (t == "integer" and "number" in outer) for t in inner)


def overlap(a: set[str] | None, b: set[str] | None) -> bool:
    return a is None or b is None or within(a, b) or within(b, a) or bool(a & b)


def enum_values(schema: dict[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    if isinstance(schema.get("enum"), list):
        return list(schema["enum"])
    return None


def bound(schema: dict[str, Any], key: str, integer: bool) -> tuple[float, bool] | None:
    """A bound as (value, exclusive); on integers an exclusive bound made inclusive."""
    exclusive = {"minimum": "exclusiveMinimum", "maximum": "exclusiveMaximum"}.get(key)
    value = schema.get(key)
    bound = None if value is None else (float(value), False)
    if exclusive and isinstance(schema.get(exclusive), int | float):
        ex = float(schema[exclusive])
        if integer:
            ex_bound = math.floor(ex) + 1.0 if key == "minimum" else math.ceil(ex) - 1.0
            candidate = (ex_bound, False)
        else:
            candidate = (ex, True)
        if bound is None or bound_within(candidate, bound, BOUNDS[key][1]):
            bound = candidate
    return bound


def bound_within(
    inner: tuple[float, bool] | None, outer: tuple[float, bool] | None, side: str
) -> bool:
    """``inner`` lies within ``outer`` (None: unbounded)."""
    if outer is None:
        return True
    if inner is None:
        return False
    if inner[0] == outer[0]:
        return inner[1] or not outer[1]
    return inner[0] > outer[0] if side == "lower" else inner[0] < outer[0]


def multiple(inner: float, outer: float) -> bool:
    ratio = inner / outer
    return math.isclose(ratio, round(ratio))


def shown(bound: Any) -> str:
    if bound is None:
        return "none"
    if isinstance(bound, tuple):
        value, exclusive = bound
        text = f"{value:g}"
        return f"{text} (exclusive)" if exclusive else text
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


def shown_text(value: Any) -> str:
    return "none" if value is None else json.dumps(value)


def listed(values: list[Any] | None) -> str:
    return ", ".join(json.dumps(v) for v in values or [])


def describe(schema: dict[str, Any]) -> str:
    """A short name of what ``schema`` allows: ``null``, ``string (date-time)``."""
    values = enum_values(schema)
    if values is not None:
        return listed(values)
    types = json_types(schema)
    if types is None:
        return "any value"
    text = " or ".join(sorted(types))
    if "format" in schema:
        text += f" ({schema['format']})"
    elif types == {"object"} and schema.get("title"):
        text += f" {schema['title']}"
    return text
