"""User-owned modules whose component left the spec: named with the command that
removes them by ``generate`` and ``check``, never deleted, and not drift."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from svcgen.cli import main

SPEC = """\
name: shop
brokers:
  local: {kind: memory}
http:
  routes:
    - {name: hello, method: GET, path: /hello}
    - {name: gone_route, method: GET, path: /gone}
consumers:
  - {name: stays, broker: local, source: s}
  - {name: gone_consumer, broker: local, source: g}
tasks:
  - {name: job, broker: local}
  - {name: gone_task, broker: local}
schedules:
  - {name: beat, every: 1m, task: job}
  - {name: gone_schedule, every: 1m, task: job}
"""

GONE = {
    "consumer": "src/shop/handlers/gone_consumer.py",
    "route": "src/shop/routes/gone_route.py",
    "task": "src/shop/tasks/gone_task.py",
    "schedule": "src/shop/schedules/gone_schedule.py",
}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _note(rel: str, kind: str) -> str:
    return (
        f"note: {rel} belongs to no {kind} in service.yaml (svcgen never deletes a "
        f"user file); if it is no longer needed, remove it: git rm {rel}\n"
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "service.yaml").write_text(SPEC)
    assert run("generate", "--dir", str(tmp_path)).exit_code == 0
    return tmp_path


def test_generate_and_check_name_each_orphan_and_keep_it(root: Path) -> None:
    spec = root / "service.yaml"
    spec.write_text("".join(x for x in SPEC.splitlines(True) if "gone_" not in x))
    (root / "src/shop/handlers/_shared.py").write_text("HELPER = 1\n")  # a helper
    generated = run("generate", "--dir", str(root))
    assert generated.exit_code == 0, generated.output
    expected = "".join(
        _note(GONE[kind], kind) for kind in ("consumer", "route", "task", "schedule")
    )
    assert sorted(generated.stderr.splitlines()) == sorted(expected.splitlines())
    assert all((root / rel).is_file() for rel in GONE.values())
    checked = run("check", "--dir", str(root))
    assert checked.exit_code == 0  # an orphan is not drift of generated code
    assert checked.stdout == "generated code is current\n"
    assert sorted(checked.stderr.splitlines()) == sorted(expected.splitlines())
    assert all((root / rel).is_file() for rel in GONE.values())


def test_the_last_consumer_gone_names_its_package_too(tmp_path: Path) -> None:
    spec = tmp_path / "service.yaml"
    spec.write_text(
        "name: shop\nbrokers:\n  local: {kind: memory}\n"
        "consumers:\n  - {name: only, broker: local, source: s}\n"
    )
    assert run("generate", "--dir", str(tmp_path)).exit_code == 0
    spec.write_text("name: shop\nbrokers:\n  local: {kind: memory}\n")
    result = run("generate", "--dir", str(tmp_path))
    assert result.exit_code == 0
    assert result.stderr == (
        _note("src/shop/handlers/__init__.py", "consumer")
        + _note("src/shop/handlers/only.py", "consumer")
    )


def test_a_current_project_has_no_orphans(root: Path) -> None:
    result = run("check", "--dir", str(root))
    assert result.exit_code == 0
    assert result.stderr == ""
