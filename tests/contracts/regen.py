"""Rewrite the ``expected`` output of every contract-check case:
``python -m tests.contracts.regen`` (from the repo root), then review the diff."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .cases import build, cases, run


def main() -> None:
    for case in cases():
        with tempfile.TemporaryDirectory() as tmp:
            repo = Path(tmp) / "repo"
            build(case, repo)
            output = run(case, repo)
        (case / "expected").write_text(output)
        print(f"{case.name}: {output.splitlines()[0]}")


if __name__ == "__main__":
    main()
