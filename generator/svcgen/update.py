"""``svcgen update``: the installed svcgen's skeleton merged into an existing service.

Copier's update is a three-way merge: it renders the template the service was made
from (``_src_path`` at the git revision ``_commit`` of copier's answers file) and the
template now, and re-applies the user's changes (the service against the old render)
onto the new render, with inline conflict markers where both touched the same lines.
It needs both versions as git revisions of one repository; svcgen's skeleton ships
inside the wheel, not as a repository, and a later svcgen no longer has the old one.

So the service keeps what it was made from: ``svcgen new`` records copier's answers in
``.copier-answers.yml`` (``_commit`` names svcgen's version and a digest of the
skeleton's files) and a copy of the skeleton's source (a few KB) in
``.svcgen/skeleton/``. ``update`` builds a throw-away git repository in a temporary
folder, one commit of that copy tagged ``_commit`` and one of the installed skeleton,
points copier at it, runs the update, then records the new answers and copy. Offline,
deterministic, no prompts; generated files (``_generated/``, ``deploy/base/``) are
excluded from both the rendering and the re-applied diff.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ProjectError
from .formatting import RenderError, format_python
from .kinds import BROKERS
from .names import check_name, check_service_name, package_name
from .render import templates_dir
from .version import RUNTIME_RANGE, VERSION

ANSWERS_FILE = ".copier-answers.yml"
"""Copier's answers file (its default name), at the service's root."""
SNAPSHOT_DIR = ".svcgen/skeleton"
"""The copy of the skeleton the service was last rendered from; also ``_src_path``."""
PROTECTED = ("src/*/_generated/**", "deploy/base/**", ".svcgen/**")
"""Never rendered nor patched by an update: svcgen's generated files and its records."""

_ANSWERS_HEADER = (
    "# Written by svcgen new and svcgen update: the answers the skeleton was rendered\n"
    "# with and which skeleton (_commit: svcgen's version + a digest of its files).\n"
    "# Do not edit; svcgen update merges from it and .svcgen/skeleton/.\n"
)
_README = (
    "# .svcgen/\n\n"
    "`skeleton/` is the copy of svcgen's skeleton (a copier template) this service was\n"
    "last rendered from, as `.copier-answers.yml` records. `svcgen update` needs it to\n"
    "three-way merge a newer svcgen's skeleton into your files offline: commit it,\n"
    "do not edit it; `svcgen update` refreshes it.\n"
)
_COMMIT = re.compile(r"[0-9][0-9a-z.!]*\+skeleton\.[0-9a-f]{12}")
"""``_commit``: a public PEP 440 version (what git tags and copier compare) + digest."""


@dataclass
class UpdateReport:
    """What one ``update`` (or ``adopt``) did, by path relative to the service."""

    old: str
    new: str
    up_to_date: bool = False
    changed: list[tuple[str, str]] = field(default_factory=list)
    """(path, "added" | "updated" | "removed" | "recorded")."""

    def messages(self, *, adopted: bool = False) -> tuple[list[str], list[str]]:
        """What the command prints: standard output's lines, standard error's."""
        if adopted:
            return [
                f"recorded the skeleton of svcgen {self.new} in {ANSWERS_FILE} and "
                f"{SNAPSHOT_DIR}/: commit them; svcgen update merges later skeletons"
            ], []
        if self.up_to_date:
            return [f"already up to date: the skeleton is still {self.old}"], []
        out = [f"{kind} {rel}" for rel, kind in self.changed]
        out.append(f"skeleton {self.old} -> {self.new}")
        err = [f"conflict: {rel}" for rel in self.conflicts]
        if any(rel == "service.yaml" for rel, _ in self.changed):
            err.append("note: service.yaml changed: run svcgen generate")
        if self.conflicts:
            err.append(
                f"{len(self.conflicts)} file(s) have conflicts: edit the <<<<<<< / "
                ">>>>>>> blocks, then git add them and commit"
            )
        else:
            out.append("review with git diff, then commit")
        return out, err

    conflicts: list[str] = field(default_factory=list)


def skeleton_dir() -> Path:
    """The installed svcgen's copier skeleton (tests point this at another one)."""
    return templates_dir() / "skeleton"


def skeleton_files(source: Path) -> dict[str, bytes]:
    """Every file of a skeleton folder, by relative POSIX path."""
    return {
        path.relative_to(source).as_posix(): path.read_bytes()
        for path in sorted(source.rglob("*"))
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix not in {".pyc", ".pyo"}
    }


def _version() -> str:
    """svcgen's public version (no local part: ``_commit`` adds its own)."""
    return VERSION.split("+")[0].lower()


def commit_id(files: Mapping[str, bytes]) -> str:
    """``_commit`` for a skeleton: svcgen's version and a digest of its files."""
    digest = hashlib.sha256()
    for rel in sorted(files):
        data = files[rel]
        digest.update(f"{rel}\0{len(data)}\0".encode())
        digest.update(data)
    return f"{_version()}+skeleton.{digest.hexdigest()[:12]}"


def record(root: Path, data: Mapping[str, Any], files: Mapping[str, bytes]) -> str:
    """Write ``root``'s answers file and skeleton copy for ``files`` rendered with
    ``data``; return the ``_commit`` recorded."""
    import yaml

    commit = commit_id(files)
    answers = {"_commit": commit, "_src_path": SNAPSHOT_DIR}
    answers.update({k: v for k, v in data.items() if not k.startswith("_")})
    text = yaml.safe_dump(
        answers, sort_keys=False, default_flow_style=False, allow_unicode=True
    )
    (root / ANSWERS_FILE).write_text(_ANSWERS_HEADER + text, encoding="utf-8")
    snapshot = root / SNAPSHOT_DIR
    snapshot.mkdir(parents=True, exist_ok=True)
    _fill(snapshot, files)
    (snapshot.parent / "README.md").write_text(_README, encoding="utf-8")
    return commit


def read_answers(root: Path) -> dict[str, Any]:
    """The answers file of the service in ``root``; a ProjectError naming the fix
    when it is missing or not svcgen's."""
    import yaml

    path = root / ANSWERS_FILE
    if not path.is_file():
        raise ProjectError(
            f"{root} has no {ANSWERS_FILE}, so svcgen does not know which skeleton "
            "made it (services made before svcgen update existed have none): run "
            "svcgen update --adopt "
            "to record the installed skeleton as its starting point, commit, and later "
            "svcgen update merges what changes after it"
        )
    try:
        answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ProjectError(
            f"{path} is not valid YAML ({type(exc).__name__}): restore it from git "
            f"(git checkout -- {ANSWERS_FILE})"
        ) from None
    if not isinstance(answers, dict):
        answers = {}
    commit = answers.get("_commit")
    if not isinstance(commit, str) or _COMMIT.fullmatch(commit) is None:
        raise ProjectError(
            f"{path} has no _commit written by svcgen: restore it from git "
            f"(git checkout -- {ANSWERS_FILE}), or remove it and run svcgen update --adopt"
        )
    if not (root / SNAPSHOT_DIR / "copier.yml").is_file():
        raise ProjectError(
            f"{root / SNAPSHOT_DIR} is missing, and svcgen update merges from it: "
            f"restore it from git (git checkout -- {SNAPSHOT_DIR}), or remove "
            f"{ANSWERS_FILE} and run svcgen update --adopt"
        )
    problem = answers_problem(answers)
    if problem is not None:
        raise ProjectError(
            f"{path}: {problem}; restore it from git (git checkout -- {ANSWERS_FILE})"
        )
    return {str(k): v for k, v in answers.items()}


_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f]')
_RANGE = re.compile(r">=\d+(\.\d+)*,<\d+(\.\d+)*")


def answers_problem(answers: Mapping[str, Any]) -> str | None:
    """What makes ``answers`` unfit to render the skeleton with (they reach
    pyproject.toml, service.yaml and README.md), or None."""
    name, brokers = answers.get("name"), answers.get("brokers")
    if not isinstance(name, str):
        return "name must be the service's name"
    try:
        check_service_name(name)
        for b in brokers if isinstance(brokers, list) and brokers else [None]:
            if not isinstance(b, dict) or b.get("kind") not in BROKERS:
                return "brokers must be a list of {name, kind, url} of known kinds"
            check_name(str(b.get("name")))
            url = b.get("url")
            if url is not None and (not isinstance(url, str) or _UNSAFE.search(url)):
                return f"broker {b['name']}'s url must be text without quotes"
    except ValueError as exc:
        return str(exc)
    if answers.get("package") != package_name(name):
        return "package must be the name with - as _"
    extras = answers.get("extras")
    known = {k.extra for k in BROKERS.values()} | {"http"}
    if not isinstance(extras, list) or not set(extras) <= known:
        return f"extras must be a list of {', '.join(sorted(e for e in known if e))}"
    if not isinstance(answers.get("http"), bool):
        return "http must be true or false"
    runtime_range = answers.get("runtime_range", RUNTIME_RANGE)
    if not isinstance(runtime_range, str) or not _RANGE.fullmatch(runtime_range):
        return "runtime_range must be a version range such as >=0.1,<0.2"
    return None


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run git in ``cwd`` with a fixed identity and dates (the throw-away repository's
    commits are the same every time)."""
    env = dict(
        os.environ,
        GIT_AUTHOR_DATE="2000-01-01T00:00:00Z",
        GIT_COMMITTER_DATE="2000-01-01T00:00:00Z",
    )
    config = ["-c", "user.name=svcgen", "-c", "user.email=svcgen@localhost"]
    config += ["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"]
    return subprocess.run(
        ["git", *config, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def check_git(root: Path) -> None:
    """A ProjectError unless ``root`` is in a git work tree with nothing uncommitted."""
    try:
        inside = _git(root, "rev-parse", "--is-inside-work-tree")
    except FileNotFoundError:
        raise ProjectError(
            "git is not installed, and svcgen update merges with git: install git"
        ) from None
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        raise ProjectError(
            f"{root} is not in a git repository, and svcgen update shows its changes as "
            "a git diff: run git init && git add -A && git commit -m 'service', then "
            "svcgen update"
        )
    status = _git(root, "status", "--porcelain", "--", ".")
    if status.stdout.strip():
        raise ProjectError(
            f"{root} has uncommitted changes, and svcgen update needs a clean tree so "
            "that git diff shows only its changes: commit or stash first (git stash)"
        )


def _fill(folder: Path, files: Mapping[str, bytes]) -> None:
    """Make ``folder`` hold exactly ``files`` (a ``.git`` in it stays)."""
    for child in folder.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def _template_repo(
    repo: Path, old: Mapping[str, bytes], old_tag: str, new: Mapping[str, bytes]
) -> None:
    """A git repository of the skeleton: ``old`` tagged ``old_tag``, then ``new`` at
    HEAD, untagged (copier reads its version as the old one's successor)."""
    _check(_git(repo, "init", "-q"))
    for files, message in (
        (old, "the skeleton the service was made from"),
        (new, "now"),
    ):
        _fill(repo, files)
        _check(_git(repo, "add", "-A", "--force"))
        _check(_git(repo, "commit", "-q", "--allow-empty", "-m", message))
        if files is old:
            _check(_git(repo, "tag", old_tag))


def _check(done: subprocess.CompletedProcess[str]) -> None:
    if done.returncode != 0:
        args = " ".join(done.args[9:])
        raise RuntimeError(f"git {args} failed: {done.stderr.strip()}")


def _lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stdout.split("\0") if line]


_STATUS = {"A": "added", "D": "removed", "M": "updated"}


def _pairs(fields: list[str]) -> list[tuple[str, str]]:
    """``git diff --name-status --no-renames -z``'s fields as (status, path)."""
    return list(zip(fields[::2], fields[1::2], strict=True))


def _format_tests(root: Path, changed: Mapping[str, str], conflicts: list[str]) -> None:
    """Format the skeleton's tests the update changed, as ``svcgen new`` does (copier
    renders them unformatted); a file with conflict markers is left as it is."""
    for rel, kind in changed.items():
        if rel.startswith("tests/") and rel.endswith(".py") and kind != "removed":
            if rel not in conflicts:
                path = root / rel
                try:
                    text = format_python(rel, path.read_text(encoding="utf-8"))
                except RenderError:  # the user's code black cannot parse: theirs
                    continue
                path.write_text(text, encoding="utf-8")


def _answered(answers: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answers.items() if not k.startswith("_")}


def _load(path: Path) -> dict[str, Any]:
    """A YAML mapping from ``path``; empty when it is anything else."""
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return {str(k): v for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def update(root: Path) -> UpdateReport:
    """Merge the installed skeleton into the service in ``root``; nothing written when
    it is unchanged or ``root`` is not a clean, recorded service."""
    if not (root / "service.yaml").is_file():
        raise ProjectError(
            f"{root} is not a service (no service.yaml): run svcgen update in the "
            "service's root folder, or pass --dir"
        )
    answers = read_answers(root)
    old_files = skeleton_files(root / SNAPSHOT_DIR)
    new_files = skeleton_files(skeleton_dir())
    old_commit, new_commit = str(answers["_commit"]), commit_id(new_files)
    # the old skeleton renders with the range recorded, the new one with this svcgen's
    old_data = {"runtime_range": RUNTIME_RANGE, **_answered(answers)}
    data = {**old_data, "runtime_range": RUNTIME_RANGE}
    if old_files == new_files and old_data == data:
        return UpdateReport(old_commit, old_commit, up_to_date=True)
    check_git(root)
    with tempfile.TemporaryDirectory(prefix="svcgen-skeleton-") as tmp:
        repo = Path(tmp)
        _template_repo(repo, old_files, old_commit, new_files)
        _run_copier_update(root.resolve(), repo, old_commit, old_data, data)
    # copier wrote the answers of the new skeleton's questions (a new one's default)
    data = _answered(_load(root / ANSWERS_FILE)) or data
    conflicts = _lines(
        _git(root, "diff", "--name-only", "--diff-filter=U", "-z", "--relative")
    )
    record(root, data, new_files)
    status = _lines(
        _git(root, "diff", "--name-status", "--no-renames", "-z", "--relative", "HEAD")
    )
    changed = {path: _STATUS.get(kind[0], "updated") for kind, path in _pairs(status)}
    for path in _lines(_git(root, "ls-files", "--others", "--exclude-standard", "-z")):
        changed[path] = "added"
    _format_tests(root, changed, conflicts)
    # the skeleton's copy is one line of the report, not one per template file
    changed = {p: k for p, k in changed.items() if not p.startswith(".svcgen/")}
    changed[SNAPSHOT_DIR + "/"] = "recorded"
    return UpdateReport(
        old_commit,
        new_commit,
        changed=sorted(changed.items()),
        conflicts=sorted(set(conflicts)),
    )


def _run_copier_update(
    root: Path,
    repo: Path,
    old_commit: str,
    old_data: dict[str, Any],
    data: dict[str, Any],
) -> None:
    """Copier's update of ``root`` from the old tag of ``repo`` (rendered with
    ``old_data``) to its HEAD (rendered with ``data``).

    The answers file names ``.svcgen/skeleton`` as ``_src_path`` (a folder, not a
    repository), so the worker is told the throw-away repository instead, both as the
    new template and as the one of the last answers.
    """
    import warnings

    try:  # copier's Worker: run_update cannot be told the last answers' template
        from copier._main import Worker
        from copier._settings import SettingsModel
        from copier.errors import UserMessageError
    except ImportError:  # pragma: no cover - an older copier than svcgen requires
        raise ProjectError(
            "svcgen update needs copier 9.19 or later: pip install -U 'copier>=9.19,<10'"
        ) from None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Worker(
                dst_path=root,
                src_path=str(repo),
                vcs_ref="HEAD",
                data=data,
                settings=SettingsModel(),
                defaults=True,
                overwrite=True,
                quiet=True,
                unsafe=False,
                skip_answered=True,
                conflict="inline",
                exclude=list(PROTECTED),
                skip_if_exists=list(PROTECTED),
            ) as worker:
                worker.subproject.last_answers = {
                    **old_data,
                    "_src_path": str(repo),
                    "_commit": old_commit,
                }
                worker.run_update()
        except UserMessageError as exc:
            raise ProjectError(f"copier refused the update: {exc}") from None


def adopt(root: Path, data: Mapping[str, Any]) -> UpdateReport:
    """Record the installed skeleton, rendered with ``data``, as the one ``root`` was
    made from (a service made before svcgen recorded it)."""
    if (root / ANSWERS_FILE).exists():
        raise ProjectError(
            f"{root} already records its skeleton in {ANSWERS_FILE}: run svcgen update "
            "(without --adopt)"
        )
    problem = answers_problem(data)
    if problem is not None:
        raise ProjectError(f"{root / 'service.yaml'} cannot be adopted: {problem}")
    commit = record(root, data, skeleton_files(skeleton_dir()))
    changed = [(ANSWERS_FILE, "recorded"), (SNAPSHOT_DIR + "/", "recorded")]
    return UpdateReport(commit, commit, changed=changed)
