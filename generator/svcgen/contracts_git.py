"""The service as it was at a git revision, read without touching the work tree.

``svcgen check --against REF`` compares the work tree with REF. The revision is
checked before git sees it as one: a name starting with ``-`` (``--output=/tmp/x``)
or holding control characters is refused, and what is left is resolved with
``git rev-parse --verify --quiet --end-of-options REF^{commit}``, so git never reads
it as an option; every later call uses the commit id. The files are read from the
object database (``ls-tree`` and ``cat-file --batch``), not with ``git archive``,
which would apply the commit's ``export-ignore`` and ``export-subst`` attributes:
``service.yaml`` and ``src/`` of the service's directory, the directory found as
``git rev-parse --show-prefix`` (a service may live in a subdirectory of its
repository). Nothing is checked out, no index or ref is written.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path, PurePosixPath

from .errors import ProjectError, visible

_UNSAFE_REF = re.compile(r"^-|[\x00-\x20\x7f]")
"""An option, or a character no git ref may hold (control characters, spaces)."""

GIT_TIMEOUT = 120.0


def _git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """Run git in ``root``; its output, or ProjectError with git's own sentence."""
    env = {
        **os.environ,
        "LC_ALL": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_LITERAL_PATHSPECS": "1",  # a directory named `*` is a name
    }
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin,
            capture_output=True,
            env=env,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise ProjectError(
            "git is not installed, and svcgen check --against reads the old service "
            "from git: install git, or run svcgen check without --against"
        ) from None
    except subprocess.TimeoutExpired:
        raise ProjectError(
            f"git {args[0]} took more than {GIT_TIMEOUT:g}s in {root}; check the "
            "repository (git status) and run svcgen check again"
        ) from None
    if done.returncode != 0:
        said = " ".join(done.stderr.decode("utf-8", "replace").split())
        raise _GitFailed(said)
    return done.stdout


class _GitFailed(Exception):
    """git exited non-zero; the text is what it said."""


def service_at(root: Path, ref: str, into: Path) -> Path:
    """Copy ``service.yaml`` and ``src/`` of the service in ``root`` as they were at
    ``ref`` into ``into``; the service's directory there.

    Raises:
        ProjectError: the ref is unsafe or names no commit, ``root`` is not in a git
            repository, or the service has no service.yaml at ``ref``.
    """
    here = "the current directory" if str(root) == "." else str(root)
    if not ref or _UNSAFE_REF.search(ref):
        raise ProjectError(
            f"--against {visible(ref)!r} is not a git revision: name a branch, tag or "
            "commit, such as origin/main or HEAD~1"
        )
    try:
        prefix = _git(root, "rev-parse", "--show-prefix").decode().strip()
    except _GitFailed:
        raise ProjectError(
            f"{here} is not in a git repository, so there is nothing to compare "
            "against: run svcgen check --against in a git checkout of the service"
        ) from None
    try:
        commit = (
            _git(
                root,
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                f"{ref}^{{commit}}",
            )
            .decode()
            .strip()
        )
    except _GitFailed:
        raise ProjectError(
            f"{ref} names no commit in the repository of {here}: fetch it first "
            "(git fetch origin main) or name a branch, tag or commit that exists"
        ) from None
    spec = f"{prefix}service.yaml"
    try:
        listing = _git(
            root,
            "ls-tree",
            "-r",
            "-z",
            "--full-tree",
            commit,
            "--",
            spec,
            f"{prefix}src",
        )
    except _GitFailed as exc:
        raise ProjectError(
            f"git cannot list {ref} ({exc}): check the repository with git fsck"
        ) from None
    entries = [e for e in listing.decode("utf-8", "surrogateescape").split("\0") if e]
    blobs: list[tuple[str, str]] = []
    for entry in entries:
        meta, _, path = entry.partition("\t")
        mode, kind, sha = meta.split()
        if kind == "blob" and mode in ("100644", "100755"):
            blobs.append((sha, path))  # symbolic links and submodules are skipped
    if spec not in {path for _, path in blobs}:
        raise ProjectError(
            f"there is no {spec} at {ref}, so there is no contract to compare "
            "against: name a commit where the service exists, or run svcgen check "
            "without --against"
        )
    _write_blobs(root, blobs, into)
    return into / prefix if prefix else into


def _write_blobs(root: Path, blobs: list[tuple[str, str]], into: Path) -> None:
    """Write each blob's content to ``into/<path>``, read in one ``cat-file``."""
    try:
        out = _git(
            root,
            "cat-file",
            "--batch",
            stdin="".join(f"{sha}\n" for sha, _ in blobs).encode(),
        )
    except _GitFailed as exc:
        raise ProjectError(
            f"git cannot read the files of the old service ({exc}): check the "
            "repository with git fsck"
        ) from None
    at = 0
    for sha, path in blobs:
        header_end = out.index(b"\n", at)
        header = out[at:header_end].split()
        if len(header) != 3 or header[0].decode() != sha:
            raise ProjectError(
                f"git cat-file answered out of order for {path}: run svcgen check again"
            )
        size = int(header[2])
        body = out[header_end + 1 : header_end + 1 + size]
        at = header_end + 1 + size + 1
        parts = PurePosixPath(path).parts
        if PurePosixPath(path).is_absolute() or ".." in parts:
            continue  # git never stores such a path; refuse to follow one
        target = into.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
