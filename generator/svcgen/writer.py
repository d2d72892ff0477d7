"""The writer: every file svcgen writes for the user, and the drift check.

Generated code: ``write`` brings the files under ``_generated/`` in line with a
render, prunes the ones no longer produced, and creates missing stubs; ``check``
reports how the disk differs. It owns only files that start with the header; a
file without it is never overwritten or deleted. Writes are atomic (a temporary
file, then a rename), and a file whose content is already right is not written
at all, so mtimes stay put.

The user's files: ``replace_file`` (service.yaml and pyproject.toml for ``add-*``,
atomic, noted in a ``Journal`` that puts every change of a refused run back),
``copy_skeleton`` (copier's skeleton for ``svcgen new``) and ``write_file`` (a
file the user named, in place: the ``docs --output`` document, the skeleton's
formatted tests). The rest of svcgen only reads the user's files; its own cache
(black's output, in the user's cache directory) and the precompiled templates
(written while svcgen is developed) are ``formatting``'s.
"""

from __future__ import annotations

import difflib
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .errors import ProjectError, WriterError
from .formatting import HEADER, header_version, same_output
from .render import Rendered


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
    """True when ``path`` starts with svcgen's header line (naming any version)."""
    try:
        with path.open("r", encoding="utf-8") as f:
            return header_version(f.readline()) is not None
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


def _generated_on_disk(root: Path, rendered: Rendered) -> dict[str, bool]:
    """Files under the directories svcgen owns (``_generated/``, ``deploy/base/``):
    relative path → carries the header."""
    found: dict[str, bool] = {}
    for owned in rendered.owned_dirs or (rendered.generated_dir,):
        base = root / owned
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            found[path.relative_to(root).as_posix()] = has_header(path)
    return found


class _Saved(NamedTuple):
    """A file as it was: its bytes, permission bits and times."""

    data: bytes
    mode: int
    atime_ns: int
    mtime_ns: int


class Journal:
    """The files and directories a run changed, to put back as they were when a
    later step fails (an ``add-*`` that is refused changes nothing)."""

    def __init__(self) -> None:
        self._files: dict[Path, _Saved | None] = {}
        self._dirs: list[Path] = []

    def file(self, path: Path) -> None:
        """Remember ``path`` (its bytes, mode and times, or that it is missing)."""
        if path in self._files:
            return
        try:
            st = path.stat()
            self._files[path] = _Saved(
                path.read_bytes(),
                st.st_mode & 0o7777,
                st.st_atime_ns,
                st.st_mtime_ns,
            )
        except FileNotFoundError:
            self._files[path] = None

    def directories(self, path: Path) -> None:
        """Create ``path``'s missing parent directories, remembering each."""
        missing = []
        parent = path.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for directory in reversed(missing):
            directory.mkdir()
            self._dirs.append(directory)

    def rollback(self) -> None:
        """Put every remembered file and directory back as it was."""
        for path, saved in reversed(self._files.items()):
            if saved is None:
                path.unlink(missing_ok=True)
                continue
            if not path.exists() or path.read_bytes() != saved.data:
                path.write_bytes(saved.data)
            os.chmod(path, saved.mode)
            os.utime(path, ns=(saved.atime_ns, saved.mtime_ns))
        for directory in reversed(self._dirs):
            try:
                directory.rmdir()
            except OSError:
                pass  # something else put a file there: leave it
        self._files.clear()
        self._dirs.clear()


def _cannot_write(root: Path, rel: str, exc: OSError) -> WriterError:
    """One sentence for a file svcgen could not write, naming what is in the way."""
    for parent in (root / rel).parents:
        if parent == root:
            break
        if parent.exists() and not parent.is_dir():
            return WriterError(
                f"cannot write {rel}: {parent.relative_to(root).as_posix()} is a "
                "file, not a directory; move it out of the way, then run svcgen again"
            )
    return WriterError(
        f"cannot write {rel}: {exc.strerror or exc}; check the file and its "
        "directory, then run svcgen again"
    )


def write(
    root: Path, rendered: Rendered, *, journal: Journal | None = None
) -> WriteReport:
    """Bring ``root`` in line with ``rendered``; refuse before writing anything if a
    file in the way lacks the header. Each change is noted in ``journal``, and a
    file that cannot be written undoes them all."""
    own = journal is None
    journal = journal if journal is not None else Journal()
    try:
        return _write(root, rendered, journal)
    except BaseException:
        if own:
            journal.rollback()
        raise


def _write(root: Path, rendered: Rendered, journal: Journal) -> WriteReport:
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
        _write_file(root, rel, text, journal)
        report.written.append(rel)
    for rel, headed in _generated_on_disk(root, rendered).items():
        if headed and rel not in rendered.generated:
            journal.file(root / rel)
            (root / rel).unlink()
            report.deleted.append(rel)
    for rel in missing:
        _write_file(root, rel, rendered.stubs[rel], journal)
        report.created.append(rel)
    return report


def _write_file(root: Path, rel: str, text: str, journal: Journal) -> None:
    path = root / rel
    try:
        journal.file(path)
        journal.directories(path)
        _atomic_write(path, text)
    except OSError as exc:
        raise _cannot_write(root, rel, exc) from None


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


def _atomic_write(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to a new file beside ``path``, then rename it over ``path``;
    ``mode``: the permission bits the file gets (default: a new file's)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{next(_serial)}.tmp")
    try:
        # O_EXCL: never follow or reuse a file someone else put there.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def replace_file(path: Path, text: str, journal: Journal) -> None:
    """Replace the user's file ``path`` (service.yaml, pyproject.toml) with
    ``text``, atomically, keeping its permission bits; noted in ``journal``."""
    journal.file(path)
    try:
        _atomic_write(path, text, mode=path.stat().st_mode & 0o777)
    except OSError as exc:
        raise ProjectError(
            f"cannot write {path}: {exc.strerror or exc}; check the file and its "
            "directory, then run svcgen again"
        ) from None


def write_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` in place, a file the user asked for."""
    path.write_text(text, encoding="utf-8")


def copy_skeleton(source: Path, target: Path, data: dict[str, Any]) -> None:
    """Create a service in ``target`` from copier's skeleton ``source``, filled with
    ``data`` (copier writes its answers file too; ``update.record`` completes it)."""
    import warnings

    from copier import run_copy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_copy(
            str(source),
            str(target),
            data=data,
            defaults=True,
            quiet=True,
            unsafe=False,
            overwrite=False,
        )


USER_DIRS: dict[str, str] = {
    "handlers": "consumer",
    "routes": "route",
    "tasks": "task",
    "schedules": "schedule",
}
"""The folders of user-owned modules, one per component of this kind."""


class Orphan(NamedTuple):
    """A user-owned module no component of the spec has any more."""

    path: str
    """Relative to the root; a package's ends in ``/``."""
    kind: str
    """The kind of component its folder holds (``consumer``, ``route``...)."""


def orphans(root: Path, rendered: Rendered) -> list[Orphan]:
    """User-owned modules no component of the spec has any more: a module in a folder of ``USER_DIRS`` that svcgen would not create
    (names starting with ``_`` are the user's helpers), and the folder's
    ``__init__.py`` once no component of its kind is left. Never deleted."""
    src = rendered.generated_dir.rsplit("/", 1)[0]
    found = []
    for folder, kind in USER_DIRS.items():
        base = root / src / folder
        if not base.is_dir():
            continue
        for path in sorted(base.iterdir()):
            rel = path.relative_to(root).as_posix()
            if path.name.startswith((".", "_")) and path.name != "__init__.py":
                continue
            if path.is_dir():
                if (path / "__init__.py").is_file() and f"{rel}.py" not in (
                    rendered.stubs
                ):
                    found.append(Orphan(rel + "/", kind))
            elif path.suffix == ".py" and rel not in rendered.stubs:
                found.append(Orphan(rel, kind))
    return found


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
        if same_output(current, text):
            continue
        kind = "stale" if has_header(path) else "not-generated"
        drifts.append(Drift(rel, kind, _diff(current, text, f"a/{rel}", f"b/{rel}")))
    for rel, headed in _generated_on_disk(root, rendered).items():
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
