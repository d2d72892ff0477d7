"""The code's shape: no import cycle in either distribution, no module over 500 lines.

An import inside a function or under ``if TYPE_CHECKING:`` still ties two modules
together (it only moves the cost, or hides the knot from the interpreter), so the
graph here is built from every ``import`` statement anywhere in each file's syntax
tree, not from what happens to run at import time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "svcgen": ROOT / "generator" / "svcgen",
    "svcgen_runtime": ROOT / "runtime" / "src" / "svcgen_runtime",
}


def module_name(package: str, base: Path, path: Path) -> str:
    parts = [package, *path.relative_to(base).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: str, base: Path) -> dict[str, set[str]]:
    """Module → the modules of ``package`` it imports (anywhere in the file)."""
    files = {module_name(package, base, path): path for path in base.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        here = name if is_package else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                origin = node.module or ""
                if node.level:
                    anchor = here.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    origin = ".".join([*anchor, origin] if origin else anchor)
                for alias in node.names:
                    # `from . import commands` names a module, not an attribute
                    submodule = f"{origin}.{alias.name}"
                    targets.add(submodule if submodule in files else origin)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_through_three_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_a_function_local_import_counts(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "one.py").write_text("from .two import x\n")
    (tmp_path / "two.py").write_text("def f():\n    from . import one\n")
    assert cycles(import_graph("pkg", tmp_path)) == [["pkg.one", "pkg.two"]]


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_cycles(package: str) -> None:
    graph = import_graph(package, PACKAGES[package])
    assert len(graph) > 10, "the walk found the package's modules"
    assert cycles(graph) == []


MAX_LINES = 500
"""A module longer than this holds more than one concept: split it (generated
output, the precompiled templates, is not written by hand and not counted)."""


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_module_over_500_lines(package: str) -> None:
    lengths = {
        path.relative_to(ROOT).as_posix(): len(
            path.read_text(encoding="utf-8").splitlines()
        )
        for path in PACKAGES[package].rglob("*.py")
        if "_compiled_templates" not in path.parts
    }
    assert len(lengths) > 10
    assert {path: n for path, n in lengths.items() if n > MAX_LINES} == {}
