"""The plan of the hooks and middleware: the name app.py imports each function
under, each consumer's chain, and the stub modules of those in the service's package.

Every function is imported under an alias of its own, ``<function>_hook``,
``<function>_middleware`` or ``<function>_http_middleware`` (module-qualified when
two modules have a function of the same name): app.py's own names (``settings``,
``ctx``, ``build_app``, ``partial``, ``<name>_consumer``, ...) never end so, so an
import path from service.yaml can never shadow one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from .plan_records import FunctionStub, HooksPlan, Import
from .spec import ServiceSpec

SUFFIXES: Final = {"hook": "hook", "consumer": "middleware", "http": "http_middleware"}


@dataclass(frozen=True)
class HooksPlanned:
    """What ``plan_hooks`` gives ``make_plan``."""

    hooks: HooksPlan
    consumers: dict[str, tuple[str, ...]]
    """Each consumer's chain by name (service-wide first), as app.py names them."""
    imports: frozenset[Import]


def _refs(spec: ServiceSpec) -> Iterator[tuple[str, str]]:
    """Every import path with its role, in the spec's order."""
    if spec.hooks is not None:
        for ref in [*spec.hooks.on_start, *spec.hooks.on_stop]:
            yield ref, "hook"
    if spec.middleware is not None:
        for ref in spec.middleware.consumers:
            yield ref, "consumer"
        for ref in spec.middleware.http:
            yield ref, "http"
    for c in spec.consumers:
        for ref in c.middleware:
            yield ref, "consumer"


def plan_hooks(spec: ServiceSpec) -> HooksPlanned:
    """The hooks and middleware of ``spec`` (its checks made each path valid and
    gave each one role)."""
    roles = dict(_refs(spec))
    plain: dict[str, list[str]] = {}
    for ref, role in roles.items():
        function = ref.split(":")[1]
        plain.setdefault(f"{function}_{SUFFIXES[role]}", []).append(ref)
    names: dict[str, str] = {}
    for alias, refs in plain.items():
        for ref in refs:
            module, function = ref.split(":")
            qualified = f"{module.replace('.', '_')}_{alias}"
            names[ref] = alias if len(refs) == 1 else qualified
    wide = spec.middleware.consumers if spec.middleware is not None else []
    http = spec.middleware.http if spec.middleware is not None else []
    if spec.http is None or not spec.http.routes:
        http = []  # no route to put them around
    on_start = spec.hooks.on_start if spec.hooks is not None else []
    on_stop = spec.hooks.on_stop if spec.hooks is not None else []
    chains = {c.name: [*wide, *c.middleware] for c in spec.consumers}
    used = {*on_start, *on_stop, *http, *(r for refs in chains.values() for r in refs)}
    roles = {ref: role for ref, role in roles.items() if ref in used}
    hooks = HooksPlan(
        on_start=tuple(names[r] for r in on_start),
        on_stop=tuple(names[r] for r in on_stop),
        http=tuple(names[r] for r in http),
        stubs=_stubs(spec.package, roles),
    )
    imports = {
        Import(ref.split(":")[0], ref.split(":")[1], names[ref]) for ref in roles
    }
    if http:
        imports.add(Import("svcgen_runtime.http", "route_chain", None))
    if any(chains.values()):
        imports.add(Import("svcgen_runtime.middleware", "chain", None))
    consumers = {name: tuple(names[r] for r in refs) for name, refs in chains.items()}
    return HooksPlanned(hooks=hooks, consumers=consumers, imports=frozenset(imports))


def _stubs(
    package: str, roles: dict[str, str]
) -> tuple[tuple[str, tuple[FunctionStub, ...]], ...]:
    """The modules of ``package`` the functions live in, each with its functions
    sorted: svcgen writes one when it is missing."""
    modules: dict[str, dict[str, str]] = {}
    for ref, role in roles.items():
        module, function = ref.split(":")
        if module.split(".")[0] == package:
            modules.setdefault(module, {})[function] = role
    return tuple(
        (
            "src/" + module.replace(".", "/") + ".py",
            tuple(FunctionStub(f, r) for f, r in sorted(functions.items())),
        )
        for module, functions in sorted(modules.items())
    )
