"""``svcgen add-resource``: one cache, database and storage per service, added to
service.yaml without touching its other lines, then regenerated."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from svcgen import commands
from svcgen.cli import main
from svcgen.errors import EditError

BASE = """\
# the shop service
name: shop
brokers:
  local: {kind: memory}   # in-process
consumers:
  - {name: cart_updated, broker: local, source: carts.updated}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "service.yaml").write_text(BASE)
    commands.generate(tmp_path)
    return tmp_path


def _spec(root: Path) -> str:
    return (root / "service.yaml").read_text()


def test_the_first_resource_appends_a_resources_block(root: Path) -> None:
    report = commands.add_resource(root, resource="cache", kind="redis")
    text = _spec(root)
    assert text.startswith(BASE)  # every line before stays as it was
    assert text[len(BASE) :] == (
        "resources:\n"
        '  cache: {kind: redis, url: "${REDIS_URL:-redis://localhost:6379/0}"}\n'
    )
    assert "src/shop/_generated/context.py" in report.written
    context = (root / "src/shop/_generated/context.py").read_text()
    assert "    cache: Cache\n" in context
    assert commands.check(root) == []


def test_a_second_resource_goes_after_the_last_one_and_its_comments(
    tmp_path: Path,
) -> None:
    (tmp_path / "service.yaml").write_text(
        BASE
        + "resources:\n"
        + "  cache:\n"
        + "    kind: memory\n"
        + "    # keys expire on their own\n"
        + "shutdown: {drain_timeout: 10s}  # short\n"
    )
    commands.add_resource(
        tmp_path, resource="database", kind="postgres", url="${PG_URL}"
    )
    assert _spec(tmp_path) == (
        BASE
        + "resources:\n"
        + "  cache:\n"
        + "    kind: memory\n"
        + "    # keys expire on their own\n"
        + '  database: {kind: postgres, url: "${PG_URL}"}\n'
        + "shutdown: {drain_timeout: 10s}  # short\n"
    )
    assert commands.check(tmp_path) == []


def test_a_flow_resources_mapping_is_extended(tmp_path: Path) -> None:
    (tmp_path / "service.yaml").write_text(
        BASE + "resources: {cache: {kind: memory}}\n"
    )
    commands.add_resource(tmp_path, resource="storage", kind="fs", path="files")
    resources = YAML(typ="safe").load(_spec(tmp_path))["resources"]
    assert resources == {
        "cache": {"kind": "memory"},
        "storage": {"kind": "fs", "path": "files"},
    }


def test_an_empty_resources_key_gets_the_resource(tmp_path: Path) -> None:
    """``resources:`` with nothing under it is null: filled in, not appended again
    (which made a duplicate key)."""
    (tmp_path / "service.yaml").write_text(BASE + "resources:\n")
    commands.add_resource(tmp_path, resource="cache", kind="memory")
    assert YAML(typ="safe").load(_spec(tmp_path))["resources"] == {
        "cache": {"kind": "memory"}
    }
    assert commands.check(tmp_path) == []


def test_a_second_cache_is_refused_and_nothing_changes(root: Path) -> None:
    commands.add_resource(root, resource="cache", kind="memory")
    before = _spec(root)
    with pytest.raises(EditError, match=r"already has a cache \(service.yaml line 8\)"):
        commands.add_resource(root, resource="cache", kind="redis")
    assert _spec(root) == before


def test_a_kind_the_resource_does_not_have_is_refused(root: Path) -> None:
    with pytest.raises(EditError, match=r"^--kind: expected 'memory' or 'redis'"):
        commands.add_resource(root, resource="cache", kind="sqlite")
    assert _spec(root) == BASE


def test_the_command_line(root: Path) -> None:
    runner = CliRunner()
    args = ["add-resource", "storage", "--kind", "memory", "--dir", str(root)]
    done = runner.invoke(main, args)
    assert done.exit_code == 0, done.output
    assert "resources:\n  storage: {kind: memory}\n" in _spec(root)
    again = runner.invoke(main, args)
    assert again.exit_code == 2
    assert "already has a storage" in again.output
    assert "Traceback" not in again.output
