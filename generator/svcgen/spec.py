"""The spec: load service.yaml and report every problem by line and column.

``load_spec`` reads the YAML with the position of every key and value
(``spec_reader``), validates it with the pydantic models (``spec_models``, built
from the scalar types of ``spec_values``, ``extra="forbid"``) plus the
cross-reference checks a model cannot express (``spec_checks`` and
``spec_checks_toolbox``, ``spec_checks_effects``: a consumer's broker exists and
supports the use, names are unique, a schedule's task exists, dedupe and outbox
have a postgres database, ...), and raises one ``SpecError`` listing
every problem, duplicate keys included, sorted by position. The names other
modules use are importable from here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Final, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .errors import SpecError, SpecIssue
from .names import task_keys_bucket, task_keys_prefix
from .spec_checks import cross_references
from .spec_checks_effects import effects_issues
from .spec_checks_hooks import hooks_issues
from .spec_checks_toolbox import toolbox_issues
from .spec_models import ServiceSpec, json_schema
from .spec_reader import (
    SPEC_FILENAME,
    Loc,
    Positions,
    inside,
    loc_path,
    parse_yaml,
    read_spec,
)
from .spec_values import DURATION_PATTERN, ENV_REFERENCE, describe, parse_duration

__all__ = [
    "DURATION_PATTERN",
    "ENV_REFERENCE",
    "SPEC_FILENAME",
    "ServiceSpec",
    "json_schema",
    "load_spec",
    "parse_duration",
    "parse_spec",
    "read_spec",
    "task_keys_bucket",
    "task_keys_prefix",
]


def load_spec(path: Path) -> ServiceSpec:
    """Read and validate ``path``; raise SpecError listing every problem, each
    named by ``path`` as given (``svc/service.yaml`` for ``--dir svc``)."""
    return parse_spec(read_spec(path), filename=str(path))


def parse_spec(text: str, *, filename: str = SPEC_FILENAME) -> ServiceSpec:
    """Validate the text of a spec; raise SpecError listing every problem."""
    data, pos, issues = parse_yaml(text, filename)
    spec: ServiceSpec | None = None
    try:
        spec = ServiceSpec.model_validate(data)
    except ValidationError as exc:
        issues.extend(_from_pydantic(exc, pos))
    issues.extend(cross_references(data, pos))
    issues.extend(toolbox_issues(data, pos))
    issues.extend(effects_issues(data, pos))
    issues.extend(hooks_issues(data, pos))
    if issues or spec is None:
        inner = {
            SpecIssue(*inside(text, i.line, i.column), i.path, i.message)
            for i in issues
        }
        raise SpecError(sorted(inner), filename=filename)
    return spec


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


def _from_pydantic(exc: ValidationError, pos: Positions) -> Iterator[SpecIssue]:
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
            yield SpecIssue(line, col, loc_path(loc), f"key {message}")
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
            yield SpecIssue(*pos.key(loc), loc_path(loc), message)
        elif kind == "missing":
            parent, key = loc[:-1], str(loc[-1])
            yield SpecIssue(
                *pos.value(parent), loc_path(loc), f"missing required key {key!r}"
            )
        elif kind == "literal_error":
            yield SpecIssue(
                *pos.value(loc),
                loc_path(loc),
                f"expected {ctx.get('expected')}, got {describe(value)}",
            )
        elif kind in _EXPECTED:
            yield SpecIssue(
                *pos.value(loc),
                loc_path(loc),
                f"expected {_EXPECTED[kind]}, got {describe(value)}",
            )
        elif kind in ("greater_than_equal", "less_than_equal"):
            bound = "at least" if kind == "greater_than_equal" else "at most"
            limit = ctx.get("ge", ctx.get("le"))
            yield SpecIssue(
                *pos.value(loc), loc_path(loc), f"must be {bound} {limit}, got {value}"
            )
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            yield SpecIssue(*pos.value(loc), loc_path(loc), message)
