"""Rendering: plan in, ``{relative path: text}`` out; pure. black's formatting of
the texts is ``svcgen.formatting``'s, done when the writer reads them.

Generated files (under ``src/<package>/_generated/``) carry the header and are
rewritten by every ``svcgen generate``; stubs (handlers, routes, models, the
package's ``__init__`` and ``__main__``) are created once, only when missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .deploy import BASE, OVERLAY, manifests
from .formatting import Files, Source, is_python, precompiled_loader
from .layout import (
    WIDTH,
    Bracket,
    Item,
    Sum,
    docstring_text,
    import_line,
    lay_out,
    prefixed,
    py_literal,
)
from .plan_records import Import, Plan, Setting, Tuning, import_sections
from .version import VERSION

if TYPE_CHECKING:
    import jinja2


@dataclass(frozen=True)
class Rendered:
    """The output of one generation."""

    generated: Files
    """Files svcgen owns: rewritten each time, pruned when no longer produced."""
    stubs: Files
    """User-owned files: written only when missing."""
    generated_dir: str
    """The package's directory of generated code (``src/<package>/_generated``)."""
    owned_dirs: tuple[str, ...] = ()
    """The directories whose headed files svcgen owns (for pruning and drift
    checks): ``generated_dir`` and ``deploy/base``."""
    notes: tuple[str, ...] = ()
    """What the user should know about the generated files (autoscale's gaps)."""

    def prepare(self, current: Mapping[str, str | None], stubs: Iterable[str]) -> None:
        """Format what the writer is about to read: the generated files whose
        ``current`` text (None: missing) is not theirs already, and ``stubs``."""
        is_current = self.generated.is_current
        self.generated.format(
            *(p for p, text in current.items() if not is_current(p, text))
        )
        self.stubs.format(*stubs)

    def unformatted(self) -> dict[str, Source]:
        """Every Python file as its template rendered it, before black. The
        templates aim to print black's output already (black then makes one pass
        instead of two); the golden tests hold them to it."""
        return {
            path: files.source(path)
            for files in (self.generated, self.stubs)
            for path in files
            if is_python(path)
        }


def templates_dir() -> Path:
    """The templates folder: inside the installed wheel, or at the repository root."""
    here = Path(__file__).resolve().parent
    packaged = here / "templates"
    if packaged.is_dir():
        return packaged
    return here.parents[1] / "templates"


def render(plan: Plan) -> Rendered:
    """Every file ``plan`` asks for, formatted."""
    env = _environment()
    src = plan.src
    gen = f"{src}/_generated"
    generated: dict[str, Source] = {}
    for name in ("__init__.py", "app.py", "context.py", "settings.py"):
        template = f"generated/{name}.jinja"
        text = env.get_template(template).render(plan=plan)
        generated[f"{gen}/{name}"] = Source(template, text)
    deploy = manifests(plan)
    for path, text in deploy.files.items():
        generated[path] = Source(path, text)
    stubs: dict[str, tuple[str, dict[str, Any]]] = {}

    def stub(path: str, template: str, **context: Any) -> None:
        stubs[path] = (template, context)

    def stub_source(path: str) -> Source:
        """Stubs are rendered only when read: most exist already, so most are
        never rendered (this keeps ``generate`` and ``check`` fast)."""
        template, context = stubs[path]
        if template == OVERLAY_TEMPLATE:  # the skeleton's file, as copier copies it
            text = (templates_dir() / template).read_text(encoding="utf-8")
            return Source(template, text)
        text = env.get_template(template).render(plan=plan, **context)
        return Source(template, text)

    stub(
        f"{src}/__init__.py",
        "stubs/__init__.py.jinja",
        doc=f"The {plan.service} service.",
    )
    stub(f"{src}/__main__.py", "stubs/__main__.py.jinja")
    if plan.consumers:
        stub(
            f"{src}/handlers/__init__.py",
            "stubs/__init__.py.jinja",
            doc="Message handlers, one module per consumer in service.yaml.",
        )
    for c in plan.consumers:
        imports = _handler_imports(plan, c.message_import)
        stub(
            f"{src}/handlers/{c.name}.py",
            "stubs/handler.py.jinja",
            c=c,
            imports=import_sections(imports, first_party=plan.package),
        )
    if plan.routes:
        stub(
            f"{src}/routes/__init__.py",
            "stubs/__init__.py.jinja",
            doc="HTTP route handlers, one module per route in service.yaml.",
        )
    for r in plan.routes:
        imports = {
            Import("__future__", "annotations", None),
            Import("starlette.requests", "Request", None),
            Import("starlette.responses", "JSONResponse", None),
            Import("starlette.responses", "Response", None),
            Import(f"{plan.package}._generated.context", "Context", None),
        }
        stub(
            f"{src}/routes/{r.name}.py",
            "stubs/route.py.jinja",
            r=r,
            imports=import_sections(imports, first_party=plan.package),
        )
    _toolbox_stubs(plan, stub)
    for model in plan.model_stubs:
        stub(model.path, "stubs/models.py.jinja", stub=model)
    for path, functions in plan.hooks.stubs:
        stub(
            path,
            "stubs/functions.py.jinja",
            functions=functions,
            imports=import_sections(
                _function_imports(plan, {f.role for f in functions}),
                first_party=plan.package,
            ),
        )
    stub(OVERLAY, OVERLAY_TEMPLATE)
    return Rendered(
        generated=Files(generated, generated.__getitem__, fingerprinted=True),
        stubs=Files(stubs, stub_source, fingerprinted=False, black=False),
        generated_dir=gen,
        owned_dirs=(gen, BASE),
        notes=tuple(deploy.notes),
    )


OVERLAY_TEMPLATE: Final = f"skeleton/project/{OVERLAY}"
"""The user's kustomize overlay: ``new`` copies it with the skeleton, ``generate``
writes the same file when it is missing."""


def _handler_imports(plan: Plan, payload_import: Import | None) -> set[Import]:
    """Imports of a user-owned message handler stub (consumer or task)."""
    imports: set[Import] = {
        Import("__future__", "annotations", None),
        Import("svcgen_runtime", "Ack", None),
        Import("svcgen_runtime", "InboundMessage", None),
        Import("svcgen_runtime", "Outcome", None),
        Import(f"{plan.package}._generated.context", "Context", None),
    }
    if payload_import is not None:
        imports.add(payload_import._replace(alias=None))  # no alias in a stub
    return imports


_ROLE_IMPORTS: Final = {
    "consumer": (
        Import("typing", "Any", None),
        Import("svcgen_runtime", "Outcome", None),
        Import("svcgen_runtime.middleware", "Next", None),
        Import("svcgen_runtime.middleware", "Received", None),
    ),
    "http": (
        Import("starlette.requests", "Request", None),
        Import("starlette.responses", "Response", None),
        Import("svcgen_runtime.http", "Endpoint", None),
    ),
}


def _function_imports(plan: Plan, roles: set[str]) -> set[Import]:
    """Imports of a user-owned module of hooks and middleware."""
    imports = {
        Import("__future__", "annotations", None),
        Import(f"{plan.package}._generated.context", "Context", None),
    }
    for role in roles:
        imports.update(_ROLE_IMPORTS.get(role, ()))
    return imports


def _toolbox_stubs(plan: Plan, stub: Callable[..., None]) -> None:
    """User-owned modules of tasks (their handlers) and schedules (their args)."""
    src = plan.src
    per_replica = {name for store in plan.idempotency for name in store.per_replica}
    if plan.tasks:
        stub(
            f"{src}/tasks/__init__.py",
            "stubs/__init__.py.jinja",
            doc="Task handlers, one module per task in service.yaml.",
        )
    for t in plan.tasks:
        imports = _handler_imports(plan, t.args_import)
        stub(
            f"{src}/tasks/{t.name}.py",
            "stubs/task.py.jinja",
            t=t,
            per_replica=t.name in per_replica,
            imports=import_sections(imports, first_party=plan.package),
        )
    if plan.schedules:
        stub(
            f"{src}/schedules/__init__.py",
            "stubs/__init__.py.jinja",
            doc="Schedule arguments, one module per schedule in service.yaml.",
        )
    for sc in plan.schedules:
        imports = {
            Import("__future__", "annotations", None),
            Import("datetime", "datetime", None),
        }
        if sc.args_import is not None:
            imports.add(sc.args_import._replace(alias=None))
        stub(
            f"{src}/schedules/{sc.name}.py",
            "stubs/schedule.py.jinja",
            sc=sc,
            imports=import_sections(imports, first_party=plan.package),
        )


_ENVIRONMENT_OPTIONS: Final = {
    "undefined": "StrictUndefined",
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
    "autoescape": False,
}
_OPTIONS_KEY: Final = repr(sorted(_ENVIRONMENT_OPTIONS.items()))


@cache
def _environment() -> jinja2.Environment:
    """The environment renders use: the precompiled templates when they are
    current (``formatting.precompiled_loader``), else the sources."""
    return _make_environment(precompiled=True)


def source_environment() -> tuple[jinja2.Environment, Path, str]:
    """The environment on the template sources alone, the templates folder and the
    options' key: what ``formatting.write_precompiled`` compiles with."""
    return _make_environment(precompiled=False), templates_dir(), _OPTIONS_KEY


def _make_environment(*, precompiled: bool) -> jinja2.Environment:
    import jinja2

    options = dict(_ENVIRONMENT_OPTIONS)
    options["undefined"] = getattr(jinja2, str(options["undefined"]))
    loader: jinja2.BaseLoader = jinja2.FileSystemLoader(str(templates_dir()))
    if precompiled:
        loader = precompiled_loader(loader, templates_dir(), _OPTIONS_KEY)
    env = jinja2.Environment(loader=loader, **options)  # type: ignore[arg-type]
    env.globals["svcgen_version"] = VERSION
    env.filters["py"] = py_literal
    env.filters["doc"] = docstring_text
    env.filters["setting_expr"] = _setting_expr
    env.filters["shown"] = _shown
    env.filters["duration"] = duration_text
    env.filters["import_line"] = import_line
    env.globals["lay_out"] = lay_out
    env.globals["lay"] = _lay
    env.globals["resources_list"] = _resources_list
    env.filters["comment"] = _comment
    return env


def _lay(
    head: str,
    items: Sequence[Item],
    tail: str,
    indent: int = 0,
    suffix: str = "",
    lone_comma: bool = False,
) -> str:
    """Templates' shorthand for ``lay_out(Bracket(...), indent, suffix)``."""
    bracket = Bracket(head, list(items), tail, lone_comma=lone_comma)
    return lay_out(bracket, indent, suffix)


def _resources_list(plan: Plan) -> Bracket:
    """``resources=[...]`` of ``Application``: the resources, then ``effects``,
    then the key stores (once each: a store may be a resource too)."""
    items: list[str | Bracket] = [r.attr for r in plan.resources]
    if plan.effects:
        items.append("effects")  # after the database: it opens on it
    stores = [store.var for store in plan.idempotency]
    if len(stores) == 1:
        items.append(stores[0])
    elif stores:
        listed = Bracket("[", stores, "]", split="always")
        items.append(Bracket("*dict.fromkeys(", [listed], ")"))
    return Bracket("resources=[", items, "]", split="items")


def _comment(text: str, indent: int = 4) -> str:
    """``text`` as ``#`` comment lines at ``indent``, wrapped to black's width."""
    import textwrap

    pad = " " * indent
    lines = textwrap.wrap(" ".join(text.split()), width=WIDTH - indent - 2)
    return "\n".join(f"{pad}# {line}" for line in lines)


def _setting_expr(setting: Setting) -> Item:
    """``attr=<expression that reads setting from env>``, for ``lay_out``."""
    source = f"needed_by={py_literal(setting.source)}"
    pieces: list[str | Bracket] = []
    for part in setting.parts:
        if part.var is None:
            pieces.append(py_literal(part.text))
        else:
            args = ["env", py_literal(part.var), f"default={py_literal(part.default)}"]
            pieces.append(Bracket("_env(", [*args, source], ")"))
    if setting.annotation == "int":
        value: Item = pieces[0] if len(pieces) == 1 else Sum("", pieces)
        return Bracket(f"{setting.attr}=_port(", [value, source], ")")
    if len(pieces) == 1:
        return prefixed(f"{setting.attr}=", pieces[0])
    return Sum(f"{setting.attr}=", pieces)


def _shown(t: Tuning) -> str:
    """A tuning's default as service.yaml writes it, for docstrings."""
    if t.default is None:
        return "the broker's"
    if t.reader == "duration":
        return duration_text(float(t.default))
    if isinstance(t.default, bool):
        return "true" if t.default else "false"
    return str(t.default)


def duration_text(seconds: float) -> str:
    """``seconds`` as service.yaml writes a duration: ``30s``, ``250ms``, ``1h``."""
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{seconds / size:g}{unit}"
    return (
        f"{seconds:g}s" if seconds >= 1.0 or seconds == 0 else f"{seconds * 1000:g}ms"
    )
