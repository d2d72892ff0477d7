"""The service's pyproject.toml against what its code imports: notes and add-* edits.

pyproject.toml is user-owned. ``generate`` and ``check`` name each runtime extra the
spec needs that the runtime requirement lacks, and each distribution the generated
code and the stubs import that ``[project] dependencies`` does not declare, with
the line to change or add; ``add-*`` adds them to that list as text, so every other
line stays as it was, and only when reading the result back shows exactly those
changes. The file is read with ``tomllib``, its requirements with one pattern.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Final, NamedTuple

from .version import RUNTIME, runtime_requirement


class Provider(NamedTuple):
    """The distribution that provides a module the code imports, and its extra."""

    name: str
    extra: str | None = None


PROVIDERS: Final = {
    "svcgen_runtime": Provider(RUNTIME),
    "starlette": Provider(RUNTIME, "http"),
    "uvicorn": Provider(RUNTIME, "http"),
    "pydantic": Provider("pydantic"),
}
"""The distribution (and runtime extra) that provides a module the code imports."""

REQUIREMENTS: Final = {"pydantic": "pydantic>=2", RUNTIME: runtime_requirement()}
"""The line to add for a distribution (its name alone when not listed)."""

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


@dataclass(frozen=True)
class Need:
    """A distribution the code needs, and the first file that imports it."""

    name: str
    extras: frozenset[str]
    file: str
    module: str


def normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def imported(
    texts: Mapping[str, str], *, package: str, extras: Iterable[str] = ()
) -> dict[str, Need]:
    """Each distribution the Python ``texts`` (path → source) import, outside the
    standard library and ``package``, by normalized name; the runtime, when they
    import it, with ``extras`` (the ones the spec needs) as well."""
    needs: dict[str, Need] = {}
    for path, text in sorted(texts.items()):
        if not path.endswith(".py"):
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for module in sorted(_top_modules(tree)):
            if module in sys.stdlib_module_names or module in ("__future__", package):
                continue
            provider = PROVIDERS.get(module) or Provider(module.replace("_", "-"))
            name, extra = provider.name, provider.extra
            key = normalized(name)
            old = needs.get(key)
            wanted = frozenset({extra} if extra else ()) | (
                old.extras if old else frozenset()
            )
            first = old if old is not None else Need(name, wanted, path, module)
            needs[key] = Need(first.name, wanted, first.file, first.module)
    runtime = needs.get(RUNTIME)
    if runtime is not None:
        needs[RUNTIME] = replace(runtime, extras=runtime.extras | frozenset(extras))
    return needs


def _top_modules(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def declared(text: str) -> dict[str, set[str]] | None:
    """``[project] dependencies`` of a pyproject.toml: normalized name → extras;
    None when the file has no such list (or is not TOML)."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    project = data.get("project")
    deps = project.get("dependencies") if isinstance(project, dict) else None
    if not isinstance(deps, list):
        return None
    have: dict[str, set[str]] = {}
    for dep in deps:
        match = _NAME.match(dep) if isinstance(dep, str) else None
        if match is not None:
            extras = {e.strip() for e in (match.group(2) or "").split(",")}
            have.setdefault(normalized(match.group(1)), set()).update(extras - {""})
    return have


def missing(have: Mapping[str, set[str]], needs: Iterable[Need]) -> list[Need]:
    """The distributions in ``needs`` that ``have`` does not declare at all."""
    return [n for n in needs if normalized(n.name) not in have]


def notes(text: str, needs: Mapping[str, Need], extras: Iterable[str]) -> list[str]:
    """What pyproject.toml ``text`` lacks: a note when its runtime requirement
    lacks one of ``extras`` (the ones the spec needs), and one for each needed
    distribution it does not declare."""
    have = declared(text)
    if have is None:
        return []
    out = []
    runtime = have.get(RUNTIME)
    lacking = [e for e in extras if e not in runtime] if runtime is not None else []
    if runtime is not None and lacking:
        out.append(
            f"pyproject.toml: the generated code needs the svcgen-runtime extra(s) "
            f"{', '.join(lacking)}; change the dependency to "
            f'"{runtime_requirement(sorted(runtime | set(lacking)))}" and reinstall'
        )
    return out + [
        f"pyproject.toml: {n.file} imports {n.module}, which no dependency in "
        f'[project] dependencies provides; add "{requirement(n)}" to it and '
        "reinstall"
        for n in missing(have, needs.values())
    ]


def requirement(need: Need) -> str:
    line = REQUIREMENTS.get(normalized(need.name), need.name)
    if need.extras:
        name, _, rest = line.partition(">=")
        line = f"{name}[{','.join(sorted(need.extras))}]" + (
            f">={rest}" if rest else ""
        )
    return line


# -- the add-* edit ------------------------------------------------------------------


def with_needs(text: str, needs: Mapping[str, Need], extras: Iterable[str]) -> str:
    """``text`` with every distribution in ``needs`` in ``[project] dependencies``
    and the runtime requirement carrying ``extras``; ``text`` itself when nothing
    is missing, or when the file's layout is not one this edit knows (the notes
    then say what to add)."""
    import tomllib

    have = declared(text)
    if have is None:
        return text
    wanted_extras = set(extras) | {
        e for n in needs.values() if normalized(n.name) == RUNTIME for e in n.extras
    }
    add = [requirement(n) for n in missing(have, needs.values())]
    runtime = have.get(RUNTIME)
    more = sorted(wanted_extras - runtime) if runtime is not None else []
    if not add and not more:
        return text
    span = _dependencies(text)
    if span is None:
        return text
    start, end = span
    body = text[start:end]
    if more:
        body = _with_extras(body, more)
    if add:
        body = _with_items(body, add)
    result = text[:start] + body + text[end:]
    try:
        after = tomllib.loads(result)
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return text
    after_deps = after.get("project", {}).pop("dependencies", None)
    before["project"].pop("dependencies")
    now = declared(result) or {}
    ok = (
        after == before
        and isinstance(after_deps, list)
        and all(normalized(n.name) in now for n in needs.values())
        and (RUNTIME not in now or wanted_extras <= now[RUNTIME])
    )
    return result if ok else text


_TABLE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(?:#.*)?$", re.MULTILINE)


def _dependencies(text: str) -> tuple[int, int] | None:
    """Where the ``[project] dependencies`` array's text starts (``[``) and ends
    (after ``]``), or None."""
    tables = list(_TABLE.finditer(text))
    for i, table in enumerate(tables):
        if table.group(1).strip() != "project":
            continue
        stop = tables[i + 1].start() if i + 1 < len(tables) else len(text)
        found = re.compile(r"^dependencies\s*=\s*\[", re.MULTILINE).search(
            text, table.end(), stop
        )
        if found is None:
            return None
        start = found.end() - 1
        end = _closing(text, start)
        return (start, end) if end is not None else None
    return None


def _closing(text: str, start: int) -> int | None:
    """The offset after the ``]`` that closes the array opened at ``start``."""
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "]":
            return i + 1
        if c == "#":
            i = text.find("\n", i)
            if i < 0:
                return None
        elif c in "\"'":
            match = re.compile(
                r'"(?:[^"\\\n]|\\.)*"' if c == '"' else r"'[^'\n]*'"
            ).match(text, i)
            if match is None:
                return None
            i = match.end() - 1
        elif c == "[":
            return None  # nested arrays are not requirement lists
        i += 1
    return None


def _strings(body: str) -> list[re.Match[str]]:
    return list(re.finditer(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'', body))


def _with_extras(body: str, extras: list[str]) -> str:
    """``body`` with ``extras`` added to the runtime requirement."""
    for string in _strings(body):
        quote, value = string.group()[0], string.group()[1:-1]
        match = _NAME.match(value)
        if match is None or normalized(match.group(1)) != RUNTIME:
            continue
        old = {e.strip() for e in (match.group(2) or "").split(",")} - {""}
        new = f"{match.group(1)}[{','.join(sorted(old | set(extras)))}]"
        value = new + value[match.end() :]
        return body[: string.start()] + quote + value + quote + body[string.end() :]
    return body


def _with_items(body: str, items: list[str]) -> str:
    """The array ``body`` (``[...]``) with ``items`` appended, one a line when the
    array is written one item a line."""
    strings = _strings(body)
    quoted = [f'"{item}"' for item in items]
    if not strings:
        return "[" + ", ".join(quoted) + body[1:]
    last = strings[-1]
    after = body[last.end() :]
    comma = re.match(r"\s*,", after)
    head = body[: last.end()] + (comma.group() if comma else ",")
    rest = after[comma.end() :] if comma else after
    eol = body.find("\n", last.end())
    if eol >= 0 and "]" not in body[last.end() : eol]:
        line_start = body.rfind("\n", 0, last.start()) + 1
        indent = re.match(r"[ \t]*", body[line_start:])
        pad = indent.group() if indent else "  "
        head, rest = body[:eol], body[eol:]
        if not comma:
            head = body[: last.end()] + "," + body[last.end() : eol]
        return head + "".join(f"\n{pad}{q}," for q in quoted) + rest
    return head + " " + ", ".join(quoted) + rest
