"""A git revision checked out beside this tree, for A/B benchmark scripts."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """``rev`` as a temporary detached git worktree of this repository, removed on exit."""
    with tempfile.TemporaryDirectory(prefix="svcgen-ab-") as scratch:
        where = Path(scratch) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(where), rev],
            cwd=REPO,
            check=True,
        )
        try:
            yield where
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(where)],
                cwd=REPO,
                check=False,
            )
