"""The golden cases of ``svcgen check --against``: build each case's repository, run
the command in it, and write or compare its output.

A case is a directory under ``cases/``: ``old/`` (files written over ``base/``, the
shop service, to make the tree committed), ``new/`` (files written over that
afterwards: the work tree compared), ``args`` (the command line after ``svcgen
check``, split like a shell) and ``expected`` (the exit status on the first line,
``# exit N``, then standard output, then standard error with each line prefixed
``stderr: ``). A case with a file named ``no-base`` starts from an empty tree, one
with ``no-git`` is run outside a git repository. Regenerate every ``expected`` with ``python -m tests.contracts.regen``
and review the diff.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner

from svcgen.cli import main

CASES = Path(__file__).parent / "cases"
BASE = Path(__file__).parent / "base"


def cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.is_dir())


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=svcgen", "-c", "user.email=svcgen@example.invalid",
         "-c", "commit.gpgsign=false", *args],
        cwd=repo, capture_output=True, text=True, check=True,
        env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"},
    )  # fmt: skip
    return done.stdout


def build(case: Path, repo: Path) -> None:
    """``base/`` and ``old/`` committed in a new repository at ``repo``, ``new/``
    written over them."""
    repo.mkdir()
    for layer in ([] if (case / "no-base").exists() else [BASE]) + [case / "old"]:
        if layer.is_dir():
            shutil.copytree(layer, repo, dirs_exist_ok=True)
    if not (case / "no-git").exists():
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "the old contract")
    if (case / "new").is_dir():
        shutil.copytree(case / "new", repo, dirs_exist_ok=True)


def tree(repo: Path) -> dict[str, bytes]:
    """Every file under ``repo`` but ``.git``: what a run must leave as it was."""
    return {
        p.relative_to(repo).as_posix(): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts
    }


def run(case: Path, repo: Path) -> str:
    """The output of ``svcgen check ARGS`` run in ``repo``, as ``expected`` holds it."""
    args = ["check", *shlex.split((case / "args").read_text())]
    before = os.getcwd()
    os.chdir(repo)
    try:
        # git must not find a repository above the case's (the no-git case)
        env = {"GIT_CEILING_DIRECTORIES": str(repo.parent)}
        result = CliRunner().invoke(
            main, args, prog_name="svcgen", env=env, catch_exceptions=False
        )
    finally:
        os.chdir(before)
    lines = [f"# exit {result.exit_code}", *result.stdout.splitlines()]
    lines += [f"stderr: {line}" for line in result.stderr.splitlines()]
    return "\n".join(lines) + "\n"
