"""The cache of black's output returns exactly what black does, and never breaks a run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from svcgen import formatting
from svcgen.formatting import BlackCache

SOURCE = "".join(f"x{i} = {{'a':1,\n'b':2}}\n" for i in range(300))
FORMATTED = "".join(f'x{i} = {{"a": 1, "b": 2}}\n' for i in range(300))
SMALL = "x = {'a':1,\n'b':2}\n"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    formatting._black_cache.cache_clear()
    yield tmp_path / "svcgen"
    formatting._black_cache.cache_clear()


def _no_black(template: str, text: str) -> str:
    raise AssertionError("black ran on a cache hit")


def test_a_hit_returns_blacks_output_without_running_black(
    cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert formatting.format_python("t.jinja", SOURCE) == FORMATTED
    monkeypatch.setattr(formatting, "_run_black", _no_black)
    assert formatting.format_python("t.jinja", SOURCE) == FORMATTED


def test_a_damaged_entry_is_ignored_and_replaced(cache_home: Path) -> None:
    formatting.format_python("t.jinja", SOURCE)
    (entry,) = cache_home.glob("black-*/*.py")
    entry.write_bytes(entry.read_bytes().replace(b"1", b"7"))
    assert formatting.format_python("t.jinja", SOURCE) == FORMATTED
    assert formatting._black_cache().get(SOURCE) == FORMATTED


def test_the_key_covers_the_mode(tmp_path: Path) -> None:
    BlackCache("mode-a", root=tmp_path).put(SOURCE, FORMATTED)
    assert BlackCache("mode-a", root=tmp_path).get(SOURCE) == FORMATTED
    assert BlackCache("mode-b", root=tmp_path).get(SOURCE) is None


def test_an_unwritable_cache_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    formatting._black_cache.cache_clear()
    try:
        assert formatting.format_python("t.jinja", SOURCE) == FORMATTED
    finally:
        formatting._black_cache.cache_clear()


def test_small_texts_skip_the_cache(cache_home: Path) -> None:
    assert len(SMALL) < formatting._CACHE_FROM <= len(SOURCE)
    assert formatting.format_python("t.jinja", SMALL) == 'x = {"a": 1, "b": 2}\n'
    assert not cache_home.exists() or not any(cache_home.glob("black-*/*.py"))
    formatting.format_python("t.jinja", SOURCE)
    assert len(list(cache_home.glob("black-*/*.py"))) == 1


def test_entries_unused_for_a_month_are_pruned_once_a_run(
    cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    formatting.format_python("t.jinja", SOURCE)
    (entry,) = cache_home.glob("black-*/*.py")
    old = entry.stat().st_mtime - 31 * 24 * 3600
    os.utime(entry, (old, old))
    formatting._black_cache.cache_clear()  # a new run
    other = SOURCE.replace("x0 ", "y0 ")
    formatting.format_python("t.jinja", other)  # its first put prunes the old entry
    assert not entry.exists()
    scans: list[Path] = []
    monkeypatch.setattr(formatting, "_prune", scans.append)
    formatting.format_python("t.jinja", SOURCE.replace("x1 ", "y1 "))
    assert scans == []  # the same run does not scan again
