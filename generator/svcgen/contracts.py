"""``svcgen check --against REF``: the service's message contracts, compared with REF's.

A contract is what other services rely on: the channels the service reads and writes
(broker and address), the model of each message, the consumers' groups and
dead-letter destinations. ``collect`` reads it from a directory (the spec, and the
models' JSON Schemas from a process of their own, ``contracts_dump``, since the work
tree and the old tree hold modules of the same names); ``diff`` compares two. The old
tree comes from git (``contracts_git``). Each change is one line, ``path:line:
breaking: sentence`` or ``path:line: change: sentence``, where path:line is in the
work tree: a field in the model's source file, a consumer or publisher in
service.yaml, or the list it was removed from. The rules, per direction, are in
docs/contracts.md; the schema rules in ``contracts_schema``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .contracts_dump import load_models
from .contracts_git import service_at
from .contracts_schema import Finding, Role, compare
from .errors import EXIT_DRIFT, EXIT_OK, ProjectError, SpecError, visible
from .plan import make_plan
from .spec import SPEC_FILENAME, load_spec, parse_spec, read_spec
from .spec_models import ServiceSpec
from .spec_reader import Positions, parse_yaml

_SECTIONS: Final = {"consumer": "consumers", "publisher": "publishers", "task": "tasks"}
_ROLES: Final[dict[str, tuple[Role, ...]]] = {
    "consumer": ("read",),
    "publisher": ("written",),
    "task": ("read", "written"),
}
_VERBS: Final = {
    ("consumer", "read"): "read by consumer",
    ("publisher", "written"): "sent by publisher",
    ("task", "read"): "read by task",
    ("task", "written"): "enqueued for task",
}


@dataclass(frozen=True)
class Operation:
    """A consumer, publisher or task, as far as other services can tell."""

    kind: str
    name: str
    broker_name: str
    broker: tuple[str, str | None]
    """The broker's kind and URL (as written): the same on both sides, the same broker."""
    address: str
    group: str | None
    message: str | None
    dead_letter: str | None
    lines: dict[str, int]
    """service.yaml's line of the entry (``""``) and of each key it sets."""

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def line(self, key: str) -> int:
        return self.lines.get(key, self.lines[""])


@dataclass
class Contract:
    root: Path
    """The service's directory, as given (paths in the report start with it)."""
    operations: dict[tuple[str, str], Operation]
    section_lines: dict[str, int]
    models: dict[str, Any] = field(default_factory=dict)
    """``contracts_dump``'s record of each model: schemas and locations."""

    @property
    def spec_file(self) -> str:
        return str(self.root / SPEC_FILENAME)

    def refs(self) -> list[str]:
        return sorted({o.message for o in self.operations.values() if o.message})


@dataclass(frozen=True, order=True)
class Change:
    file: str
    line: int
    breaking: bool
    text: str

    def format(self) -> str:
        what = "breaking" if self.breaking else "change"
        return f"{visible(self.file)}:{self.line}: {what}: {visible(self.text)}"


@dataclass(frozen=True)
class Report:
    ref: str
    changes: tuple[Change, ...]
    all_changes: bool

    @property
    def breaking(self) -> int:
        return sum(c.breaking for c in self.changes)

    @property
    def exit_code(self) -> int:
        return EXIT_DRIFT if self.breaking else EXIT_OK

    def lines(self) -> list[str]:
        shown = [c for c in self.changes if c.breaking or self.all_changes]
        other = len(self.changes) - self.breaking
        others = _count(other, "other change")
        hint = "" if self.all_changes or not other else " (--all-changes lists them)"
        if self.breaking:
            summary = f"{_count(self.breaking, 'breaking change')} against {self.ref}"
            summary += f", {others}{hint}" if other else ""
        elif other:
            summary = f"no breaking changes against {self.ref}, {others}{hint}"
        else:
            summary = f"no contract changes against {self.ref}"
        return [c.format() for c in shown] + [summary]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def check_against(root: Path, ref: str, *, all_changes: bool = False) -> Report:
    """The changes of the service in ``root`` (its work tree) since ``ref``."""
    spec_path = root / SPEC_FILENAME
    text = read_spec(spec_path)
    new = collect(root, parse_spec(text, filename=str(spec_path)), text)
    with tempfile.TemporaryDirectory(prefix="svcgen-against-") as tmp:
        old_root = service_at(root, ref, Path(tmp))
        old_spec = _old_spec(old_root / SPEC_FILENAME, ref)
        old = collect(old_root, old_spec, None)
        sides = {f"at {ref}": old, "in the work tree": new}
        loaded = load_models({where: (c.root, c.refs()) for where, c in sides.items()})
        for where, contract in sides.items():
            contract.models = loaded[where]
    return Report(ref, tuple(sorted(diff(old, new))), all_changes)


def _old_spec(path: Path, ref: str) -> ServiceSpec:
    try:
        return load_spec(path)
    except SpecError as exc:
        first = exc.issues[0]
        raise ProjectError(
            f"service.yaml at {ref} is not a valid spec for this svcgen (line "
            f"{first.line}: {visible(first.message)}): compare against a later commit"
        ) from None


def collect(root: Path, spec: ServiceSpec, text: str | None) -> Contract:
    """The contract of ``spec`` (models not loaded); with the spec's ``text``, the
    line of every entry and key."""
    pos = parse_yaml(text, str(root / SPEC_FILENAME)).positions if text else None
    plan = make_plan(spec)
    brokers = {n: (b.kind, b.url) for n, b in spec.brokers.items()}
    ops: dict[tuple[str, str], Operation] = {}
    index = {
        kind: {item.name: i for i, item in enumerate(getattr(spec, section))}
        for kind, section in _SECTIONS.items()
    }

    def lines(kind: str, name: str, keys: tuple[str, ...]) -> dict[str, int]:
        if pos is None:
            return {"": 1}
        loc = (_SECTIONS[kind], index[kind][name])
        found = {"": pos.value(loc).line}
        for key in keys:
            if (*loc, key) in pos.keys:
                found[key] = pos.keys[(*loc, key)].line
        return found

    keys = ("broker", "source", "target", "group", "message", "args", "dead_letter")
    for c in plan.consumers:
        ops[("consumer", c.name)] = Operation(
            "consumer", c.name, c.broker, brokers[c.broker], c.source, c.group,
            _ref(c.message_import), c.dead_letter, lines("consumer", c.name, keys),
        )  # fmt: skip
    for p in plan.publishers:
        ops[("publisher", p.name)] = Operation(
            "publisher", p.name, p.broker, brokers[p.broker], p.target, None,
            _ref(p.message_import), None, lines("publisher", p.name, keys),
        )  # fmt: skip
    for t in plan.tasks:
        ops[("task", t.name)] = Operation(
            "task", t.name, t.broker, brokers[t.broker], t.queue, t.group,
            _ref(t.args_import), t.dead_letter, lines("task", t.name, keys),
        )  # fmt: skip
    sections = {s: _section_line(pos, s) for s in _SECTIONS.values()}
    return Contract(root, ops, sections)


def _ref(imported: tuple[str, str, str | None] | None) -> str | None:
    return None if imported is None else f"{imported[0]}:{imported[1]}"


def _section_line(pos: Positions | None, section: str) -> int:
    if pos is None or (section,) not in pos.keys:
        return 1
    return pos.keys[(section,)].line


# -- the diff ---------------------------------------------------------------------


def diff(old: Contract, new: Contract) -> list[Change]:
    """Every change from ``old`` to ``new``, breaking ones marked."""
    changes: list[Change] = []
    spec = new.spec_file
    writes = {
        (o.broker, o.address) for o in new.operations.values() if o.kind != "consumer"
    }
    reads = {
        (o.broker, o.address): o
        for o in new.operations.values()
        if o.kind != "publisher"
    }
    for key in sorted(old.operations.keys() | new.operations.keys()):
        o, n = old.operations.get(key), new.operations.get(key)
        if n is None and o is not None:
            channel = (o.broker, o.address)
            reader = reads.get(channel)
            if o.kind == "publisher" and channel not in writes and reader is not None:
                changes.append(
                    Change(
                        spec,
                        reader.line("source"),
                        True,
                        f"{o.label} was removed, so nothing here sends to "
                        f"{o.address} any more, but {reader.label} still reads it",
                    )
                )
            else:
                where = new.section_lines[_SECTIONS[o.kind]]
                changes.append(Change(spec, where, False, f"{o.label} was removed"))
        elif o is None and n is not None:
            changes.append(Change(spec, n.line(""), False, f"{n.label} is new"))
        elif o is not None and n is not None:
            changes += _operation(o, n, spec)
    changes += _schemas(old, new)
    return changes


def _operation(o: Operation, n: Operation, spec: str) -> list[Change]:
    found = []
    if o.broker != n.broker:
        was = (
            o.broker_name
            if o.broker[0] == n.broker[0]
            else f"{o.broker_name} ({o.broker[0]})"
        )
        now = (
            n.broker_name
            if o.broker[0] == n.broker[0]
            else f"{n.broker_name} ({n.broker[0]})"
        )
        lost = {
            "consumer": "what writers send to the old broker is no longer read",
            "publisher": "readers on the old broker get nothing more",
            "task": "tasks queued on the old broker are no longer run",
        }[n.kind]
        found.append(
            Change(
                spec,
                n.line("broker"),
                True,
                f"{n.label} now uses broker {now}, another broker than {was}; {lost}",
            )
        )
    if o.address != n.address:
        if n.kind == "consumer":
            text = (
                f"{n.label} now reads {n.address} (was {o.address}); what writers "
                f"send to {o.address} is no longer read by it"
            )
        else:
            text = (
                f"{n.label} now sends to {n.address} (was {o.address}); readers of "
                f"{o.address} get nothing more from it"
            )
        found.append(
            Change(
                spec, n.line("source" if n.kind == "consumer" else "target"), True, text
            )
        )
    if o.group != n.group and n.kind == "consumer":
        found.append(
            Change(
                spec,
                n.line("group"),
                False,
                f"{n.label}'s group is now {n.group} (was {o.group}); the new group "
                "starts without the old one's position",
            )
        )
    if o.dead_letter != n.dead_letter:
        now = f"now go to {n.dead_letter}" if n.dead_letter else "are now dropped"
        was = f"went to {o.dead_letter}" if o.dead_letter else "were dropped"
        text = f"{n.label}'s dead letters {now} (they {was})"
        if o.dead_letter is not None:
            text += f"; tools and alerts that read {o.dead_letter} miss them"
        found.append(
            Change(spec, n.line("dead_letter"), o.dead_letter is not None, text)
        )
    if o.message != n.message:
        found.append(_message_swap(o, n, spec))
    return found


def _message_swap(o: Operation, n: Operation, spec: str) -> Change:
    key = "args" if n.kind == "task" else "message"
    line = n.line(key)
    roles = _ROLES[n.kind]
    if o.message is not None and n.message is not None:
        return Change(
            spec,
            line,
            False,
            f"{n.label}'s {key} is now {n.message} (was {o.message}); their schemas "
            "are compared field by field",
        )
    if n.message is not None:  # raw bytes before
        return Change(
            spec,
            line,
            True,
            f"{n.label} now decodes JSON of {n.message} (was raw bytes); writers of "
            "the old contract may send bytes it rejects"
            if roles == ("read",)
            else f"{n.label} now sends JSON of {n.message} (was raw bytes); readers of "
            "the old contract may not read it",
        )
    breaking = "written" in roles
    return Change(
        spec,
        line,
        breaking,
        f"{n.label} now takes raw bytes (was {o.message})"
        if not breaking
        else f"{n.label} now sends raw bytes (was JSON of {o.message}); readers of the "
        "old contract may not read them",
    )


def _schemas(old: Contract, new: Contract) -> list[Change]:
    """The models' changes, each pair of schemas compared once per direction."""
    pairs: dict[tuple[str, str, Role], list[Operation]] = {}
    for key, n in new.operations.items():
        o = old.operations.get(key)
        if o is None or o.message is None or n.message is None:
            continue
        for role in _ROLES[n.kind]:
            pairs.setdefault((o.message, n.message, role), []).append(n)
    changes = []
    for (old_ref, new_ref, role), ops in sorted(pairs.items()):
        mode = "validation" if role == "read" else "serialization"
        findings = compare(old.models[old_ref][mode], new.models[new_ref][mode], role)
        verb = _VERBS[(ops[0].kind, role)]
        names = ", ".join(o.name for o in ops)
        subject = f"{new_ref} {verb}{'s' if len(ops) > 1 else ''} {names}"
        for f in findings:
            file, line = _place(new, new_ref, f, ops[0])
            changes.append(Change(file, line, f.breaking, f"{subject}: {f.text}"))
    return changes


def _place(new: Contract, ref: str, finding: Finding, op: Operation) -> tuple[str, int]:
    """Where ``finding`` is in the work tree: the field, else its model, else the
    spec's ``message`` key."""
    places = new.models[ref].get("locations", {})
    model = places.get(finding.model) or places.get("")
    if model is not None:
        if finding.field is not None and finding.field in model["fields"]:
            file, line = model["fields"][finding.field]
            return str(new.root / file), int(line)
        return str(new.root / model["file"]), int(model["line"])
    return new.spec_file, op.line("args" if op.kind == "task" else "message")
