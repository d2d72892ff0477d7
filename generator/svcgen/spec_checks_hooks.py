"""Cross-checks of the hooks and middleware (``spec_hooks``): what one import path
cannot say alone.

Each function is listed once per chain (a repeat would run it twice around the
same handler) and has one role, since a hook, a consumer middleware and an HTTP
middleware take different arguments and svcgen may write a stub of it. It lives
outside the modules svcgen writes (``_generated``, ``handlers``, ...) and outside
a module of message models, which svcgen may create too. HTTP middleware needs
``http``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from .errors import SpecIssue
from .names import package_name
from .spec_checks import entries, issue
from .spec_reader import Loc, Positions

STUB_PACKAGES: Final = ("_generated", "handlers", "routes", "tasks", "schedules")
"""The service's packages svcgen fills with modules of its own."""

ROLES: Final = {
    ("hooks", "on_start"): "a hook",
    ("hooks", "on_stop"): "a hook",
    ("middleware", "consumers"): "a consumer middleware",
    ("middleware", "http"): "an HTTP middleware",
}


def refs_of(data: Mapping[str, Any]) -> Iterator[tuple[Loc, str, str]]:
    """Every import path of the spec's hooks and middleware: its location, its
    text and its role, in the spec's order."""
    for (section, key), role in ROLES.items():
        block = data.get(section)
        if isinstance(block, dict) and isinstance(block.get(key), list):
            for i, ref in enumerate(block[key]):
                if isinstance(ref, str):
                    yield (section, key, i), ref, role
    for c, consumer in entries(data, "consumers"):
        refs = consumer.get("middleware")
        if isinstance(refs, list):
            for i, ref in enumerate(refs):
                if isinstance(ref, str):
                    yield (
                        ("consumers", c, "middleware", i),
                        ref,
                        ROLES[("middleware", "consumers")],
                    )


def hooks_issues(data: Mapping[str, Any], pos: Positions) -> Iterator[SpecIssue]:
    """The problems of the hooks and middleware no single value shows."""
    middleware = data.get("middleware")
    if (
        isinstance(middleware, dict)
        and middleware.get("http")
        and data.get("http") is None
    ):
        yield issue(
            pos,
            ("middleware", "http"),
            "HTTP middleware needs the HTTP server: add http: {routes: [...]} or "
            "remove middleware.http",
            key=True,
        )
    service = data.get("name")
    package = package_name(service) if isinstance(service, str) else None
    models = _model_modules(data)
    roles: dict[str, str] = {}
    chains: dict[tuple[Any, ...], set[str]] = {}
    for loc, ref, role in refs_of(data):
        if ":" not in ref:
            continue  # not an import path: the model says so
        module = ref.split(":")[0]
        problem = _module_problem(module, package, models)
        if problem is not None:
            yield issue(pos, loc, f"{ref!r} is {problem}")
            continue
        first = roles.setdefault(ref, role)
        if first != role:
            yield issue(
                pos,
                loc,
                f"{ref!r} is listed as {first} already; a function has one role "
                "(their arguments differ): write another function for this one",
            )
            continue
        seen = chains.setdefault(loc[:2], set())
        # A consumer's own middleware runs inside the service-wide ones: one chain.
        wide = chains.get(("middleware", "consumers"), set())
        if ref in seen or (loc[0] == "consumers" and ref in wide):
            twice = (
                "in hooks." + str(loc[1]) if loc[0] == "hooks" else "around a handler"
            )
            yield issue(pos, loc, f"{ref!r} is listed twice {twice}; remove one")
        seen.add(ref)


def _model_modules(data: Mapping[str, Any]) -> set[str]:
    """The modules of the spec's message models and task arguments."""
    found: set[str] = set()
    for key, field in (("consumers", "message"), ("publishers", "message")):
        for _, item in entries(data, key):
            ref = item.get(field)
            if isinstance(ref, str) and ":" in ref:
                found.add(ref.split(":")[0])
    for _, item in entries(data, "tasks"):
        ref = item.get("args")
        if isinstance(ref, str) and ":" in ref:
            found.add(ref.split(":")[0])
    return found


def _module_problem(module: str, package: str | None, models: set[str]) -> str | None:
    """Why a hook or middleware may not live in ``module``, or None."""
    parts = module.split(".")
    if package is None or parts[0] != package:
        return None
    example = f"put it elsewhere, such as {package}.middleware"
    if len(parts) == 1:
        return f"in the package's __init__, which svcgen writes; {example}"
    if parts[1] in STUB_PACKAGES or parts[1:] == ["__main__"]:
        return (
            f"inside {package}.{parts[1]}, which svcgen fills with its own "
            f"modules; {example}"
        )
    if module in models:
        return f"in {module}, a module of message models svcgen may write; {example}"
    return None
