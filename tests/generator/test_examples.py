"""The committed examples: generated code is current (as their CI checks) and their own
tests pass on memory brokers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAMES = ["billing", "orders", "sensors"]


@pytest.mark.parametrize("name", NAMES)
def test_svcgen_check_passes(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "svcgen.cli", "check", "--dir", str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "generated code is current\n"
    assert result.stderr == ""  # no note: pyproject.toml declares what it imports


@pytest.mark.parametrize("name", NAMES)
def test_the_example_tests_pass(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLES / name,
        capture_output=True,
        text=True,
        check=False,
        timeout=90,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
