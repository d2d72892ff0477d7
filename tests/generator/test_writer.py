"""The writer: header rule, pruning, atomic and minimal writes, and drift checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from svcgen import commands, formatting
from svcgen.errors import SpecError, WriterError
from svcgen.formatting import FINGERPRINT, HEADER

SPEC = """\
name: shop
brokers:
  local: {kind: memory}
http:
  routes:
    - {name: get_cart, method: GET, path: "/carts/{cart_id}"}
consumers:
  - {name: cart_updated, broker: local, source: carts.updated}
publishers:
  - {name: cart_checked_out, broker: local, target: carts.checked_out}
"""
GEN = "src/shop/_generated"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "service.yaml").write_text(SPEC)
    commands.generate(tmp_path)
    return tmp_path


def _files(root: Path) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.is_file()
    }


def test_first_generate_writes_generated_files_and_stubs(tmp_path: Path) -> None:
    (tmp_path / "service.yaml").write_text(SPEC)
    report = commands.generate(tmp_path)
    assert report.written == [
        "deploy/base/deployment.yaml",
        "deploy/base/kustomization.yaml",
        "deploy/base/pdb.yaml",
        "deploy/base/service.yaml",
        f"{GEN}/__init__.py",
        f"{GEN}/app.py",
        f"{GEN}/context.py",
        f"{GEN}/settings.py",
    ]
    assert "src/shop/handlers/cart_updated.py" in report.created
    assert "src/shop/routes/get_cart.py" in report.created
    for rel in report.written:
        assert (tmp_path / rel).read_text().startswith(HEADER + "\n")
    for rel in report.created:
        assert not (tmp_path / rel).read_text().startswith(HEADER)


def test_regenerating_with_nothing_to_change_touches_no_file(project: Path) -> None:
    past = 1_600_000_000
    for path in project.rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))
    before = _files(project)
    report = commands.generate(project)
    assert report.written == [] and report.deleted == [] and report.created == []
    assert _files(project) == before


def test_a_file_without_the_header_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "service.yaml").write_text(SPEC)
    app = tmp_path / GEN / "app.py"
    app.parent.mkdir(parents=True)
    app.write_text("# my own code\n")
    with pytest.raises(WriterError) as info:
        commands.generate(tmp_path)
    assert str(info.value) == (
        f"{GEN}/app.py exists but does not start with the line '{HEADER}', so svcgen "
        "will not overwrite it: move it out of the way, then run svcgen generate again"
    )
    assert app.read_text() == "# my own code\n"
    assert not (tmp_path / GEN / "context.py").exists()


def test_stale_generated_files_are_pruned_but_unheaded_ones_kept(project: Path) -> None:
    stale = project / GEN / "consumers.py"
    stale.write_text(HEADER + "\nOLD = 1\n")
    mine = project / GEN / "notes.py"
    mine.write_text("# not generated\n")
    report = commands.generate(project)
    assert report.deleted == [f"{GEN}/consumers.py"]
    assert not stale.exists()
    assert mine.read_text() == "# not generated\n"


def test_user_owned_stubs_are_never_overwritten(project: Path) -> None:
    handler = project / "src/shop/handlers/cart_updated.py"
    handler.write_text("async def handle(ctx, message, raw):\n    return None\n")
    commands.generate(project)
    assert (
        handler.read_text() == "async def handle(ctx, message, raw):\n    return None\n"
    )


def test_a_removed_consumer_prunes_nothing_user_owned(project: Path) -> None:
    (project / "service.yaml").write_text(
        SPEC.replace(
            "consumers:\n  - {name: cart_updated, broker: local, source: carts.updated}\n",
            "",
        )
    )
    commands.generate(project)
    assert (project / "src/shop/handlers/cart_updated.py").exists()
    assert "cart_updated" not in (project / GEN / "app.py").read_text()


def test_an_invalid_spec_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "service.yaml").write_text(SPEC.replace("kind: memory", "kind: nope"))
    with pytest.raises(SpecError):
        commands.generate(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["service.yaml"]


def test_writes_leave_no_temporary_files(project: Path) -> None:
    (project / "service.yaml").write_text(
        SPEC.replace("carts.updated", "carts.changed")
    )
    commands.generate(project)
    leftovers = [p for p in project.rglob("*.tmp")]
    assert leftovers == []


def test_check_is_clean_after_generate(project: Path) -> None:
    assert commands.check(project) == []


def test_check_reports_stale_code_after_a_spec_change(project: Path) -> None:
    (project / "service.yaml").write_text(
        SPEC.replace("carts.updated", "carts.changed")
    )
    drifts = commands.check(project)
    assert [(d.kind, d.path) for d in drifts] == [("stale", f"{GEN}/app.py")]
    assert '-        source="carts.updated",' in drifts[0].diff
    assert '+        source="carts.changed",' in drifts[0].diff
    assert drifts[0].diff.startswith(f"--- a/{GEN}/app.py\n+++ b/{GEN}/app.py\n")


def test_check_reports_a_missing_file(project: Path) -> None:
    (project / GEN / "settings.py").unlink()
    drifts = commands.check(project)
    assert [(d.kind, d.path) for d in drifts] == [("missing", f"{GEN}/settings.py")]


def test_check_reports_an_extra_generated_file(project: Path) -> None:
    (project / GEN / "routes.py").write_text(HEADER + "\n")
    drifts = commands.check(project)
    assert [(d.kind, d.path) for d in drifts] == [("extra", f"{GEN}/routes.py")]


def test_check_reports_a_hand_edited_file(project: Path) -> None:
    app = project / GEN / "app.py"
    app.write_text(app.read_text().replace("jitter=True,", "jitter=False,"))
    drifts = commands.check(project)
    assert [(d.kind, d.path) for d in drifts] == [("stale", f"{GEN}/app.py")]
    assert "-            jitter=False,\n+            jitter=True,\n" in drifts[0].diff


def test_check_reports_a_hand_written_file_in_place_of_a_generated_one(
    project: Path,
) -> None:
    (project / GEN / "context.py").write_text("# mine\n")
    drifts = commands.check(project)
    assert [(d.kind, d.path) for d in drifts] == [
        ("not-generated", f"{GEN}/context.py")
    ]


def test_current_files_are_known_by_their_fingerprint_without_black(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_formatting(template: str, text: str) -> str:
        raise AssertionError(f"{template} was formatted although it is current")

    monkeypatch.setattr(formatting, "_run_black", no_formatting)
    before = _files(project)
    assert commands.check(project) == []
    report = commands.generate(project)
    assert report.written == [] and len(report.unchanged) == 8  # 4 .py, 4 .yaml
    assert _files(project) == before


def test_a_hand_edited_fingerprint_is_reported_and_rewritten(project: Path) -> None:
    app = project / GEN / "app.py"
    good = app.read_text()
    header, line, rest = good.split("\n", 2)
    assert header == HEADER and line.startswith(FINGERPRINT)
    app.write_text(f"{header}\n{FINGERPRINT}{'0' * 32}\n{rest}")
    drifts = commands.check(project)
    assert [(d.kind, d.path) for d in drifts] == [("stale", f"{GEN}/app.py")]
    assert f"-{FINGERPRINT}{'0' * 32}\n+{line}\n" in drifts[0].diff
    assert commands.generate(project).written == [f"{GEN}/app.py"]
    assert app.read_text() == good


def test_a_reformatted_file_under_its_fingerprint_is_reported(project: Path) -> None:
    app = project / GEN / "app.py"
    good = app.read_text()
    app.write_text(
        good.replace(
            '        source="carts.updated",\n',
            '        source="carts.updated",  # moved\n',
        )
    )
    drifts = commands.check(project)
    assert [(d.kind, d.path) for d in drifts] == [("stale", f"{GEN}/app.py")]
    assert '+        source="carts.updated",\n' in drifts[0].diff
    commands.generate(project)
    assert app.read_text() == good
