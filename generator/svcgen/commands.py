"""One function per CLI verb: the library the thin ``cli`` module calls.

``generate`` and ``check`` share the pipeline spec → plan → render and differ only
in the writer's last step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from . import docs as asyncapi_docs
from . import edit
from . import update as update_module
from .errors import EditError, ProjectError, SpecError, visible
from .formatting import format_python, version_notes
from .kinds import BROKERS
from .names import package_name
from .plan import make_plan
from .plan_records import Plan
from .pyproject import Need, imported, with_needs
from .pyproject import notes as pyproject_notes
from .render import Rendered, render
from .spec import (
    SPEC_FILENAME,
    ServiceSpec,
    json_schema,
    load_spec,
    parse_spec,
    read_spec,
)
from .spec_values import DEFAULT_DEDUPE_KEY
from .update import UpdateReport
from .version import RUNTIME_RANGE
from .writer import (
    Drift,
    Journal,
    WriteReport,
    copy_skeleton,
    orphans,
    replace_file,
    write,
    write_file,
)
from .writer import check as check_tree


def validate(root: Path) -> ServiceSpec:
    """Load and validate ``root/service.yaml``; raise SpecError listing every problem."""
    return load_spec(root / SPEC_FILENAME)


def generate(root: Path) -> WriteReport:
    """Regenerate ``root``'s code from its spec; return the writer's report."""
    spec = validate(root)
    plan = make_plan(spec)
    rendered = render(plan)
    report = write(root, rendered)
    report.notes.extend(notes(root, spec, plan, rendered))
    return report


def check(root: Path) -> list[Drift]:
    """How ``root``'s generated code differs from its spec; empty when current."""
    return check_with_notes(root)[0]


def check_with_notes(root: Path) -> tuple[list[Drift], list[str]]:
    """``check``'s drifts, and the notes ``generate`` would print."""
    spec = validate(root)
    plan = make_plan(spec)
    rendered = render(plan)
    found = notes(root, spec, plan, rendered) + version_notes(root, rendered.generated)
    return check_tree(root, rendered), found


def notes(root: Path, spec: ServiceSpec, plan: Plan, rendered: Rendered) -> list[str]:
    """What the user should do by hand in files svcgen does not own."""
    return (
        dependency_notes(root, plan, rendered)
        + model_notes(root, spec)
        + orphan_notes(root, rendered)
        + list(rendered.notes)
    )


def orphan_notes(root: Path, rendered: Rendered) -> list[str]:
    """A note for each user-owned module that no component in the spec has any
    more: svcgen never deletes one, so it names it and the command that would."""
    return [
        f"{o.path} belongs to no {o.kind} in service.yaml (svcgen never deletes a "
        f"user file); if it is no longer needed, remove it: git rm "
        f"{'-r ' if o.path.endswith('/') else ''}{o.path}"
        for o in orphans(root, rendered)
    ]


def _pyproject(root: Path) -> str | None:
    """The text of ``root``'s pyproject.toml (user-owned), or None."""
    try:
        return (root / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _needs(plan: Plan, rendered: Rendered) -> dict[str, Need]:
    """The distributions the generated code and the stubs import, the runtime with
    every extra the spec needs."""
    texts = {path: text for path, (_, text) in rendered.unformatted().items()}
    return imported(texts, package=plan.package, extras=plan.extras)


def dependency_notes(root: Path, plan: Plan, rendered: Rendered) -> list[str]:
    """A note when pyproject.toml's runtime requirement lacks an extra the spec
    needs, and one for each distribution the code imports that its ``[project]
    dependencies`` does not declare, with the line to add."""
    text = _pyproject(root)
    if text is None:
        return []
    return pyproject_notes(text, _needs(plan, rendered), plan.extras)


def model_notes(root: Path, spec: ServiceSpec) -> list[str]:
    """A note for each model class the spec names in a module of the service that
    exists (so svcgen leaves it alone) but does not mention that class."""
    refs = (
        [c.message for c in spec.consumers]
        + [p.message for p in spec.publishers]
        + [t.args for t in spec.tasks]
    )
    notes = []
    for ref in sorted({r for r in refs if r is not None}):
        module, cls = ref.split(":")
        if module != spec.package and not module.startswith(f"{spec.package}."):
            continue
        base = "src/" + module.replace(".", "/")
        rel = f"{base}.py"
        if not (root / rel).exists():
            rel = f"{base}/__init__.py"
        path = root / rel
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        if re.search(rf"\b{re.escape(cls)}\b", text) is None:
            notes.append(
                f"{rel} has no {cls}, which service.yaml names ({ref}); add it, such "
                f"as: class {cls}(BaseModel): ..."
            )
    return notes


def docs(root: Path, *, fmt: str = "yaml", schemas: bool = True) -> str:
    """The AsyncAPI 3.0 document of ``root``'s service, as YAML, JSON or HTML text."""
    document = asyncapi_docs.asyncapi(validate(root), root, schemas=schemas)
    return asyncapi_docs.render(document, fmt=fmt)


def schema() -> str:
    """The JSON Schema of service.yaml, as indented JSON."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


# -- editing -------------------------------------------------------------------------


def _edit(
    root: Path,
    *,
    section: tuple[str, ...],
    what: str,
    entry: dict[str, Any],
    flow: bool,
) -> WriteReport:
    """Append ``entry`` to the list at ``section`` (see ``_apply``)."""
    return _apply(
        root,
        lambda text: edit.add_entry(
            text, section=section, what=what, entry=entry, flow=flow
        ),
    )


def _apply(root: Path, change: Callable[[str], tuple[str, ServiceSpec]]) -> WriteReport:
    """Edit, validate, render and write the code, then the spec. A refusal at any
    step (a bad entry, a header-less file in the way, a file that cannot be
    written) puts back every file as it was, so the same command can simply be run
    again."""
    path = root / SPEC_FILENAME
    original = read_spec(path)
    parse_spec(original, filename=str(path))  # its own errors, at their places
    try:
        text, spec = change(original)
    except SpecError as exc:
        # The spec was valid: the new entry is wrong. Its positions are in a text
        # that was never written, so name the arguments instead.
        raise EditError(
            "\n".join(visible(f"{_argument(i.path)}: {i.message}") for i in exc.issues)
        ) from None
    plan = make_plan(spec)
    rendered = render(plan)
    journal = Journal()
    try:
        report = write(root, rendered, journal=journal)
        if _add_dependencies(root, plan, rendered, journal):
            report.written.append("pyproject.toml")
        replace_file(path, text, journal)
    except BaseException:
        journal.rollback()
        raise
    report.notes.extend(notes(root, spec, plan, rendered))
    return report


def _add_dependencies(
    root: Path, plan: Plan, rendered: Rendered, journal: Journal
) -> bool:
    """Add to pyproject.toml what the code now imports (pydantic for a message
    model) and the runtime extras the spec needs; True when it changed."""
    text = _pyproject(root)
    if text is None:
        return False
    new = with_needs(text, _needs(plan, rendered), plan.extras)
    if new == text:
        return False
    replace_file(root / "pyproject.toml", new, journal)
    return True


_OPTIONS = frozenset(
    {
        "broker",
        "source",
        "group",
        "concurrency",
        "max_attempts",
        "dead_letter",
        "message",
        "method",
        "path",
        "target",
        "args",
        "task",
        "cron",
        "timezone",
        "every",
        "kind",
        "url",
        "prefix",
        "dedupe",
        "outbox",
    }
)


_NESTED_OPTIONS: Final = {"dedupe.key": "--dedupe", "dedupe.window": "--dedupe-window"}


def _argument(path: str) -> str:
    """The ``add-*`` argument behind an issue at ``path`` (``consumers[3].source``
    is ``--source``), or the path itself when no argument sets it."""
    for nested, option in _NESTED_OPTIONS.items():
        if path.endswith(f".{nested}"):
            return option
    field = path.rsplit(".", 1)[-1]
    if field == "name":
        return "NAME"
    if field in _OPTIONS:
        return "--" + field.replace("_", "-")
    return path


def add_consumer(
    root: Path,
    *,
    name: str,
    broker: str,
    source: str,
    group: str | None = None,
    concurrency: int | None = None,
    max_attempts: int | None = None,
    dead_letter: str | None = None,
    message: str | None = None,
    dedupe: str | None = None,
    dedupe_window: str | None = None,
) -> WriteReport:
    """Append a consumer to service.yaml and regenerate; ``dedupe`` is the key
    (``header:<name>`` or ``body:<field>``) and ``dedupe_window`` its window."""
    if dedupe_window is not None and dedupe is None:
        raise EditError(
            "--dedupe-window applies to --dedupe; add --dedupe "
            f"{DEFAULT_DEDUPE_KEY} (or another key), or remove --dedupe-window"
        )
    entry: dict[str, Any] = {"name": name, "broker": broker, "source": source}
    if group is not None:
        entry["group"] = group
    if message is not None:
        entry["message"] = message
    if concurrency is not None:
        entry["concurrency"] = concurrency
    if max_attempts is not None:
        entry["retry"] = {"max_attempts": max_attempts}
    if dead_letter is not None:
        entry["dead_letter"] = dead_letter
    if dedupe is not None:
        entry["dedupe"] = {"key": dedupe}
        if dedupe_window is not None:
            entry["dedupe"]["window"] = dedupe_window
    return _edit(root, section=("consumers",), what="consumer", entry=entry, flow=False)


def add_route(root: Path, *, name: str, method: str, path: str) -> WriteReport:
    """Append an HTTP route to service.yaml and regenerate."""
    entry = {"name": name, "method": method.upper(), "path": path}
    return _edit(root, section=("http", "routes"), what="route", entry=entry, flow=True)


def add_publisher(
    root: Path,
    *,
    name: str,
    broker: str,
    target: str,
    message: str | None = None,
    outbox: bool = False,
) -> WriteReport:
    """Append a publisher to service.yaml and regenerate."""
    entry: dict[str, Any] = {"name": name, "broker": broker, "target": target}
    if message is not None:
        entry["message"] = message
    if outbox:
        entry["outbox"] = True
    return _edit(
        root, section=("publishers",), what="publisher", entry=entry, flow=True
    )


def add_task(
    root: Path,
    *,
    name: str,
    broker: str,
    args: str | None = None,
    concurrency: int | None = None,
    max_attempts: int | None = None,
) -> WriteReport:
    """Append a task to service.yaml and regenerate (handlers get ctx.tasks.NAME)."""
    entry: dict[str, Any] = {"name": name, "broker": broker}
    if args is not None:
        entry["args"] = args
    if concurrency is not None:
        entry["concurrency"] = concurrency
    if max_attempts is not None:
        entry["retry"] = {"max_attempts": max_attempts}
    return _edit(root, section=("tasks",), what="task", entry=entry, flow=True)


def add_schedule(
    root: Path,
    *,
    name: str,
    task: str,
    cron: str | None = None,
    every: str | None = None,
    timezone: str | None = None,
) -> WriteReport:
    """Append a schedule to service.yaml and regenerate."""
    if (cron is None) == (every is None):
        raise EditError(
            "a schedule needs exactly one of --cron and --every: pass --cron "
            "'0 3 * * *' or --every 30s"
        )
    if timezone is not None and cron is None:
        raise EditError(
            "--timezone applies to --cron; remove it, or use --cron instead of --every"
        )
    entry: dict[str, Any] = {"name": name}
    if cron is not None:
        from ruamel.yaml.scalarstring import DoubleQuotedScalarString

        entry["cron"] = DoubleQuotedScalarString(cron)  # `*` reads as YAML otherwise
        if timezone is not None:
            entry["timezone"] = timezone
    else:
        entry["every"] = every
    entry["task"] = task
    return _edit(root, section=("schedules",), what="schedule", entry=entry, flow=True)


# -- new -----------------------------------------------------------------------------

DEFAULT_URLS = {name: k.default_url for name, k in BROKERS.items() if k.default_url}


def new(
    name: str,
    *,
    brokers: Sequence[str] = (),
    http: bool = True,
    directory: Path | None = None,
) -> Path:
    """Create a service from the skeleton, then generate its code; return its root."""
    target = directory if directory is not None else Path(name)
    if target.exists() and any(target.iterdir()):
        raise ProjectError(
            f"{target} already exists and is not empty: choose another --dir, or remove it"
        )
    kinds = list(dict.fromkeys(brokers or ["memory"]))
    broker_entries = [
        {
            "name": "local" if BROKERS[kind].in_process else kind,
            "kind": kind,
            "url": DEFAULT_URLS.get(kind),
        }
        for kind in kinds
    ]
    data = skeleton_data(name, broker_entries, http)
    source = update_module.skeleton_dir()
    copy_skeleton(source, target, data)
    update_module.record(target, data, update_module.skeleton_files(source))
    # The skeleton's tests, formatted like the generated code.
    for path in sorted((target / "tests").glob("*.py")):
        write_file(path, format_python(path.name, path.read_text(encoding="utf-8")))
    # The skeleton's spec must be valid before anything is generated from it.
    parse_spec((target / SPEC_FILENAME).read_text(encoding="utf-8"))
    generate(target)
    return target


def skeleton_data(
    name: str, brokers: list[dict[str, Any]], http: bool
) -> dict[str, Any]:
    """The answers svcgen gives the skeleton (recorded in ``.copier-answers.yml``)."""
    extras = {e for b in brokers if (e := BROKERS[b["kind"]].extra)}
    return {
        "name": name,
        "package": package_name(name),
        "brokers": brokers,
        "http": http,
        "extras": sorted(extras | ({"http"} if http else set())),
        "runtime_range": RUNTIME_RANGE,
    }


def update(root: Path, *, adopt: bool = False) -> UpdateReport:
    """Merge the installed skeleton into ``root``'s service (copier's three-way
    merge); with ``adopt``, record it as the skeleton of a service made before
    svcgen recorded one, from its spec."""
    if not adopt:
        return update_module.update(root)
    spec = validate(root)
    brokers = [
        {"name": n, "kind": str(b.kind), "url": None if b.url is None else str(b.url)}
        for n, b in spec.brokers.items()
    ]
    return update_module.adopt(
        root, skeleton_data(spec.name, brokers, spec.http is not None)
    )


RESOURCE_DEFAULTS: dict[tuple[str, str], dict[str, str]] = {
    ("cache", "redis"): {"url": "${REDIS_URL:-redis://localhost:6379/0}"},
    ("database", "postgres"): {
        "url": "${DATABASE_URL:-postgresql://localhost:5432/postgres}"
    },
    ("storage", "fs"): {"path": "${STORAGE_PATH:-data/storage}"},
}
"""What ``add-resource`` writes when no --url / --path is given."""


def add_resource(
    root: Path,
    *,
    resource: str,
    kind: str,
    url: str | None = None,
    path: str | None = None,
    prefix: str | None = None,
) -> WriteReport:
    """Give the service its cache, database or storage (``ctx.<resource>``), then
    regenerate."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    entry: dict[str, Any] = {"kind": kind}
    given = {"url": url, "path": path, "prefix": prefix}
    values = {k: v for k, v in given.items() if v is not None}
    if not values:
        values = dict(RESOURCE_DEFAULTS.get((resource, kind), {}))
    entry.update((k, DoubleQuotedScalarString(v)) for k, v in values.items())
    return _apply(
        root, lambda text: edit.add_resource(text, resource=resource, entry=entry)
    )
