"""Golden cases: ``tests/golden/<case>/service.yaml`` in, ``expected/`` tree or
``expected_error.txt`` out. Cases named ``bad_*`` must fail validation; the others
must generate."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from svcgen import commands
from svcgen.errors import SpecError

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
EXPECTED = "expected"
EXPECTED_ERROR = "expected_error.txt"


@dataclass(frozen=True)
class Outcome:
    """What svcgen produced for one case: a tree, or the error text."""

    files: dict[str, str] | None
    error: str | None


def cases() -> list[Path]:
    return sorted(p for p in GOLDEN.iterdir() if (p / "service.yaml").is_file())


def run_case(spec_text: str) -> Outcome:
    """Generate from ``spec_text`` into an empty directory; return every file written."""
    with tempfile.TemporaryDirectory(prefix="svcgen-golden-") as tmp:
        root = Path(tmp)
        (root / "service.yaml").write_text(spec_text, encoding="utf-8")
        try:
            with contextlib.chdir(root):  # errors name the spec as given: service.yaml
                commands.generate(Path("."))
        except SpecError as exc:
            return Outcome(files=None, error=str(exc) + "\n")
        files = {
            p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "service.yaml"
        }
        return Outcome(files=files, error=None)


def read_tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def regenerate(case: Path) -> str:
    """Rewrite the expected output of ``case``; return what it now holds."""
    outcome = run_case((case / "service.yaml").read_text(encoding="utf-8"))
    expected = case / EXPECTED
    error = case / EXPECTED_ERROR
    if expected.exists():
        shutil.rmtree(expected)
    error.unlink(missing_ok=True)
    if outcome.error is not None:
        error.write_text(outcome.error, encoding="utf-8")
        return "error"
    assert outcome.files is not None
    for rel, text in outcome.files.items():
        path = expected / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return f"{len(outcome.files)} files"
