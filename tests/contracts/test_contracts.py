"""``svcgen check --against REF``: every golden case gives its expected lines and exit
status, and leaves the work tree as it was (no file written, no bytecode)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .cases import build, cases, run, tree

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    build(case, repo)
    before = tree(repo)
    assert run(case, repo) == (case / "expected").read_text()
    assert tree(repo) == before
