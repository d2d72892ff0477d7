"""The message models of each tree of a service, each read in a process of its own:
``load_models`` runs ``python -m svcgen.contracts_dump ROOT MODULE:CLASS...`` per tree.

``svcgen check --against`` compares the models of the work tree with those of a
commit, and both trees hold modules of the same names (``shop.models``). One process
cannot import both (the first import of a name wins, and pydantic's classes keep
references into their module), so each tree is read by a process of its own running
this module: it imports each model from ``ROOT/src`` (as ``svcgen docs`` does) and
prints, per model, its JSON Schema for validation (what the service accepts) and
for serialization (what it sends), and where the model and each of its fields are
defined (file relative to ROOT, line) for the report. It prints
``{"error": sentence}`` instead when a model cannot be imported or described. The
processes run at once, with ``PYTHONDONTWRITEBYTECODE`` (no ``__pycache__`` written
into the work tree) and ``-P`` (the current directory is not on the path).
"""

from __future__ import annotations

import ast
import enum
import functools
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

from .docs import _import_model
from .errors import ProjectError

RAISED = "importing the message models raised"
DUMP_TIMEOUT = 300.0
"""The longest the import of one tree's models may take."""


def load_models(trees: dict[str, tuple[Path, list[str]]]) -> dict[str, dict[str, Any]]:
    """``{where: (root, refs)}`` to ``{where: dump(root, refs)}``, each tree read by a
    process of its own, all at once; ``where`` ("at HEAD", "in the work tree") names
    the tree in an error.

    Raises:
        ProjectError: a model cannot be imported or described, in one sentence.
    """
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-P", "-m", "svcgen.contracts_dump"]
    running = {
        where: subprocess.Popen(
            [*command, str(root), *refs],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for where, (root, refs) in trees.items()
        if refs
    }
    done: dict[str, tuple[bytes, bytes, int]] = {}
    try:
        for where, process in running.items():
            out, err = process.communicate(timeout=DUMP_TIMEOUT)
            done[where] = (out, err, process.returncode)
    except subprocess.TimeoutExpired:
        raise ProjectError(
            f"importing the message models {where} took more than "
            f"{DUMP_TIMEOUT:g}s: check what the model modules do at import"
        ) from None
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
            process.communicate()
    return {
        where: _answer(where, *done.get(where, (b'{"models": {}}', b"", 0)))
        for where in trees
    }


def _answer(where: str, out: bytes, err: bytes, status: int) -> dict[str, Any]:
    try:
        answer = json.loads(out)
    except ValueError:
        said = err.decode("utf-8", "replace").strip().splitlines()
        raise ProjectError(
            f"importing the message models {where} failed "
            f"({said[-1] if said else f'exit status {status}'}): run svcgen check "
            "where the service and its dependencies are installed"
        ) from None
    if "error" not in answer:
        return dict(answer["models"])
    message = str(answer["error"])
    if message.startswith(RAISED):
        fix = (
            "fix the model modules so that they import"
            if where == "in the work tree"
            else "compare against a revision whose models import"
        )
        raise ProjectError(f"{where}: {message}; {fix}")
    # svcgen docs's importer, shared: its sentences said for check
    message = message.replace("svcgen docs", "svcgen check --against")
    raise ProjectError(f"{where}: {message.replace(', or pass --no-schemas', '')}")


def dump(root: Path, refs: list[str]) -> dict[str, Any]:
    """``{ref: {"validation", "serialization", "locations"}}`` of every model."""
    models: dict[str, Any] = {}
    for ref in refs:
        module, _, cls = ref.partition(":")
        model = _import_model(root, module, cls)
        models[ref] = {
            "validation": model.model_json_schema(mode="validation"),
            "serialization": model.model_json_schema(mode="serialization"),
            "locations": _locations(root.resolve(), model),
        }
    return models


def _locations(root: Path, model: type[Any]) -> dict[str, Any]:
    """Where the model (key ``""``) and each model or enum it nests (by class name,
    as ``$defs`` names them) is defined: file, line, and each field's line."""
    found: dict[str, Any] = {}
    for name, cls in _nested(model).items():
        place = _place(root, cls)
        if place is not None:
            found["" if cls is model else name] = place
    return found


def _nested(model: type[Any]) -> dict[str, type[Any]]:
    """The model and every model or enum its fields name, by class name."""
    found: dict[str, type[Any]] = {}
    stack: list[Any] = [model]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, enum.Enum):
            found.setdefault(item.__name__, item)
        elif isinstance(item, type) and hasattr(item, "model_fields"):
            if item.__name__ not in found:
                found[item.__name__] = item
                stack.extend(f.annotation for f in item.model_fields.values())
        else:
            stack.extend(get_args(item))
    return found


def _place(root: Path, cls: type[Any]) -> dict[str, Any] | None:
    file = _source(root, cls)
    if file is None:
        return None
    node = _class_node(file, cls.__qualname__)
    if node is None:
        return None
    fields: dict[str, tuple[str, int]] = {}
    for name, info in getattr(cls, "model_fields", {}).items():
        where = _field_line(root, cls, name)
        if where is None:
            continue
        for key in (name, info.alias, info.validation_alias, info.serialization_alias):
            if isinstance(key, str):
                fields.setdefault(key, where)
    return {"file": _relative(root, file), "line": node.lineno, "fields": fields}


def _relative(root: Path, file: Path) -> str:
    return file.relative_to(root).as_posix()


def _source(root: Path, cls: type[Any]) -> Path | None:
    """The file defining ``cls``, when it is in the service's tree."""
    try:
        name = inspect.getsourcefile(cls)
    except TypeError:
        return None
    if name is None:
        return None
    path = Path(name).resolve()
    return path if path.is_relative_to(root) else None


@functools.cache
def _tree(file: Path) -> ast.Module:
    return ast.parse(file.read_text(encoding="utf-8"))


def _class_node(file: Path, qualname: str) -> ast.ClassDef | None:
    body: list[ast.stmt] = _tree(file).body
    node = None
    for part in qualname.split("."):
        node = next(
            (n for n in body if isinstance(n, ast.ClassDef) and n.name == part), None
        )
        if node is None:
            return None
        body = node.body
    return node


def _field_line(root: Path, cls: type[Any], field: str) -> tuple[str, int] | None:
    """Where ``field`` is declared: the nearest class of ``cls``'s MRO declaring it."""
    for klass in cls.__mro__:
        file = _source(root, klass)
        node = _class_node(file, klass.__qualname__) if file is not None else None
        if file is None or node is None:
            continue
        for stmt in node.body:
            target = stmt.target if isinstance(stmt, ast.AnnAssign) else None
            if isinstance(target, ast.Name) and target.id == field:
                return _relative(root, file), stmt.lineno
    return None


def main(argv: list[str]) -> int:
    root, refs = Path(argv[0]), argv[1:]
    try:
        out: dict[str, Any] = {"models": dump(root, refs)}
    except ProjectError as exc:
        out = {"error": str(exc)}
    except Exception as exc:  # the service's own code failed: its problem, said once
        out = {"error": f"{RAISED} {type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
