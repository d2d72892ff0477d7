"""The generated service's pyproject.toml declares what its code imports: add-*
adds it, generate and check name what is missing with the line to add."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from svcgen import commands
from svcgen.cli import main
from svcgen.pyproject import with_needs
from svcgen.version import RUNTIME_RANGE

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _deps(root: Path) -> list[str]:
    data = tomllib.loads((root / "pyproject.toml").read_text())
    deps: list[str] = data["project"]["dependencies"]
    return deps


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return commands.new("shop", directory=tmp_path / "shop")


def test_a_message_model_adds_pydantic(root: Path) -> None:
    """models.py imports pydantic: without it the service's tests fail with
    ModuleNotFoundError in a fresh venv."""
    before = (root / "pyproject.toml").read_text()
    result = run(
        "add-consumer", "paid", "--broker", "local", "--source", "p",
        "--message", "shop.models:Paid", "--dir", str(root),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "from pydantic import BaseModel" in (root / "src/shop/models.py").read_text()
    assert "wrote pyproject.toml" in result.stdout
    assert _deps(root) == [f"svcgen-runtime[http]{RUNTIME_RANGE}", "pydantic>=2"]
    after = (root / "pyproject.toml").read_text()
    assert after == before.replace(
        f'  "svcgen-runtime[http]{RUNTIME_RANGE}",\n',
        f'  "svcgen-runtime[http]{RUNTIME_RANGE}",\n  "pydantic>=2",\n',
    )
    assert result.stderr == ""
    again = run(
        "add-publisher", "out", "--broker", "local", "--target", "o",
        "--message", "shop.models:Out", "--dir", str(root),
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "pyproject.toml" not in again.stdout  # already there
    assert _deps(root) == [f"svcgen-runtime[http]{RUNTIME_RANGE}", "pydantic>=2"]


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (("add-resource", "cache", "--kind", "redis"), "redis"),
        (("add-resource", "database", "--kind", "postgres"), "postgres"),
        (("add-task", "job", "--broker", "local"), None),
    ],
)
def test_add_adds_the_runtime_extra_it_needs(
    root: Path, args: tuple[str, ...], extra: str | None
) -> None:
    result = run(*args, "--dir", str(root))
    assert result.exit_code == 0, result.output
    extras = sorted({"http"} | ({extra} if extra else set()))
    assert _deps(root) == [f"svcgen-runtime[{','.join(extras)}]{RUNTIME_RANGE}"]
    assert result.stderr == ""
    assert (
        run("add-task", "sweep", "--broker", "local", "--dir", str(root)).exit_code == 0
    )
    schedule = run(
        "add-schedule", "nightly", "--task", "sweep", "--every", "1h", "--dir",
        str(root),
    )  # fmt: skip
    assert schedule.exit_code == 0, schedule.output
    assert _deps(root) == [
        f"svcgen-runtime[{','.join(sorted([*extras, 'schedules']))}]{RUNTIME_RANGE}"
    ]


def test_generate_and_check_name_an_import_nothing_declares(root: Path) -> None:
    run(
        "add-consumer", "paid", "--broker", "local", "--source", "p",
        "--message", "shop.models:Paid", "--dir", str(root),
    )  # fmt: skip
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('  "pydantic>=2",\n', ""))
    note = (
        "note: pyproject.toml: src/shop/models.py imports pydantic, which no dependency "
        'in [project] dependencies provides; add "pydantic>=2" to it and reinstall\n'
    )
    generated = run("generate", "--dir", str(root))
    assert generated.exit_code == 0
    assert generated.stderr == note
    checked = run("check", "--dir", str(root))
    assert checked.exit_code == 0
    assert checked.stderr == note


@pytest.mark.parametrize("name", ["billing", "orders", "sensors"])
def test_the_examples_declare_what_they_import(name: str) -> None:
    assert commands.check_with_notes(EXAMPLES / name) == ([], [])


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            'dependencies = ["svcgen-runtime>=0.1"]  # one line',
            'dependencies = ["svcgen-runtime[redis]>=0.1", "pydantic>=2"]  # one line',
        ),
        (
            "dependencies = [\n  'svcgen-runtime>=0.1'  # no comma\n]",
            "dependencies = [\n  'svcgen-runtime[redis]>=0.1',  # no comma\n"
            '  "pydantic>=2",\n]',
        ),
        ("dependencies = []", 'dependencies = ["pydantic>=2"]'),
    ],
)
def test_the_pyproject_edit_keeps_the_file_s_layout(before: str, after: str) -> None:
    from svcgen.pyproject import Need

    needs = {"pydantic": Need("pydantic", frozenset(), "src/x/models.py", "pydantic")}
    head = '[project]\nname = "x"  # the service\n'
    tail = '\n\n[tool.x]\ndependencies = ["not", "this"]\n'
    got = with_needs(head + before + tail, needs, ["redis"])
    assert got == head + after + tail
