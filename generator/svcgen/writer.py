"""The writer: the only code that touches the disk — write, prune, and check for drift.

It owns only files that start with the header; a file without it is never
overwritten or deleted. Writes are atomic (a temporary file, then a rename), and a
file whose content is already right is not written at all, so mtimes stay put.
"""

from __future__ import annotations

import difflib
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import WriterError
from .render import HEADER, Rendered


@dataclass
class WriteReport:
    """What one ``write`` did, by relative path."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Things the user should do by hand (files svcgen does not own)."""

    def summary(self) -> str:
        parts = [
            f"{len(self.written)} written",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.deleted)} deleted",
            f"{len(self.created)} user file(s) created",
        ]
        return ", ".join(parts)


@dataclass(frozen=True)
class Drift:
    """One difference between the disk and what svcgen would generate."""

    path: str
    kind: str
    """``stale`` (differs), ``missing``, ``extra`` or ``not-generated`` (lacks the header)."""
    diff: str


def has_header(path: Path) -> bool:
    """True when ``path`` starts with svcgen's header line."""
    try:
        with path.open("r", encoding="utf-8") as f:
            return f.readline().rstrip("\r\n") == HEADER
    except (OSError, UnicodeDecodeError):
        return False


def _stub_exists(root: Path, rel: str) -> bool:
    """A stub module counts as present as a module file or as a package."""
    path = root / rel
    if path.exists():
        return True
    if rel.endswith(".py") and not rel.endswith("__init__.py"):
        return (root / rel[: -len(".py")] / "__init__.py").exists()
    return False


def _generated_on_disk(root: Path, generated_dir: str) -> dict[str, bool]:
    """Files under the generated directory: relative path → carries the header."""
    base = root / generated_dir
    found: dict[str, bool] = {}
    if not base.is_dir():
        return found
    for path in sorted(base.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        found[path.relative_to(root).as_posix()] = has_header(path)
    return found


def write(root: Path, rendered: Rendered) -> WriteReport:
    """Bring ``root`` in line with ``rendered``; refuse before writing anything if a
    file in the way lacks the header."""
    report = WriteReport()
    for rel in rendered.generated:
        path = root / rel
        if path.exists() and not has_header(path):
            raise WriterError(
                f"{rel} exists but does not start with the line '{HEADER}', so "
                "svcgen will not overwrite it: move it out of the way, then run "
                "svcgen generate again"
            )
    currents, missing = _prepared(root, rendered)
    for rel, current in currents.items():
        text = rendered.generated.resolve(rel, current)
        if current == text:
            report.unchanged.append(rel)
            continue
        _atomic_write(root / rel, text)
        report.written.append(rel)
    for rel, headed in _generated_on_disk(root, rendered.generated_dir).items():
        if headed and rel not in rendered.generated:
            (root / rel).unlink()
            report.deleted.append(rel)
    for rel in missing:
        _atomic_write(root / rel, rendered.stubs[rel])
        report.created.append(rel)
    return report


def _prepared(
    root: Path, rendered: Rendered
) -> tuple[dict[str, str | None], list[str]]:
    """The generated files on disk (None: missing) and the stubs that are
    missing, with everything that needs black formatted in one batch."""
    currents = {rel: _read(root / rel) for rel in rendered.generated}
    missing = [rel for rel in rendered.stubs if not _stub_exists(root, rel)]
    rendered.prepare(currents, missing)
    return currents, missing


def _read(path: Path) -> str | None:
    """``path``'s text, or None when there is no such file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


_serial = itertools.count()


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{next(_serial)}.tmp")
    try:
        # O_EXCL: never follow or reuse a file someone else put there.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check(root: Path, rendered: Rendered) -> list[Drift]:
    """Every way ``root`` differs from ``rendered``; empty when it is current."""
    drifts: list[Drift] = []
    currents, missing = _prepared(root, rendered)
    for rel, current in currents.items():
        path = root / rel
        text = rendered.generated.resolve(rel, current)
        if current is None:
            diff = _diff("", text, "/dev/null", f"b/{rel}")
            drifts.append(Drift(rel, "missing", diff))
            continue
        if current == text:
            continue
        kind = "stale" if has_header(path) else "not-generated"
        drifts.append(Drift(rel, kind, _diff(current, text, f"a/{rel}", f"b/{rel}")))
    for rel, headed in _generated_on_disk(root, rendered.generated_dir).items():
        if headed and rel not in rendered.generated:
            current = (root / rel).read_text(encoding="utf-8")
            drifts.append(
                Drift(rel, "extra", _diff(current, "", f"a/{rel}", "/dev/null"))
            )
    for rel in missing:
        diff = _diff("", rendered.stubs[rel], "/dev/null", f"b/{rel}")
        drifts.append(Drift(rel, "missing", diff))
    return sorted(drifts, key=lambda d: d.path)


def _diff(a: str, b: str, from_name: str, to_name: str) -> str:
    return "".join(
        difflib.unified_diff(
            a.splitlines(keepends=True),
            b.splitlines(keepends=True),
            fromfile=from_name,
            tofile=to_name,
        )
    )
