"""A forked helper formats half of a large batch, and never changes the output."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks.generate import big_spec
from svcgen import commands, parallel, render
from svcgen.cache import BlackCache
from svcgen.plan import make_plan
from svcgen.spec import load_spec

from .golden import read_tree


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Processes allowed (as in the CLI) on two CPUs; yields the forked pids."""
    forks: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    monkeypatch.setattr(parallel, "_free_cpus", lambda: 2)
    parallel.use_processes(True)
    try:
        yield forks
    finally:
        parallel.use_processes(False)


def _generate(root: Path) -> dict[str, str]:
    root.mkdir()
    (root / "service.yaml").write_text(big_spec())
    commands.generate(root)
    return read_tree(root / "src")


def test_a_large_generate_forks_one_helper_and_writes_the_same_tree(
    tmp_path: Path, processes: list[int]
) -> None:
    parallel.use_processes(False)
    alone = _generate(tmp_path / "alone")
    assert processes == []
    parallel.use_processes(True)
    together = _generate(tmp_path / "together")
    assert len(processes) == 1
    assert together == alone
    assert len(together) == 79  # app.py, context.py, settings.py, __init__ and stubs


def test_a_helper_that_sends_nothing_usable_costs_time_not_output(
    tmp_path: Path, processes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    parallel.use_processes(False)
    alone = _generate(tmp_path / "alone")
    parallel.use_processes(True)
    broken = SimpleNamespace(dumps=lambda data: "{not json", loads=json.loads)
    monkeypatch.setattr(parallel, "json", broken)
    assert _generate(tmp_path / "fallback") == alone
    assert len(processes) == 1


def test_small_batches_a_single_cpu_or_threads_do_not_fork(
    tmp_path: Path, processes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    small = tmp_path / "small"
    small.mkdir()
    (small / "service.yaml").write_text("name: tiny\nbrokers: {}\n")
    commands.generate(small)
    assert processes == []
    monkeypatch.setattr(parallel, "_free_cpus", lambda: 1)
    _generate(tmp_path / "one_cpu")
    assert processes == []
    monkeypatch.setattr(parallel, "_free_cpus", lambda: 2)
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    _generate(tmp_path / "threads")  # another thread running: no fork
    assert processes == []


def test_the_helper_stores_its_share_in_the_cache(
    tmp_path: Path, processes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "fresh-cache"))
    render._black_cache.cache_clear()
    stored_here: list[str] = []
    real_put = BlackCache.put

    def put(self: BlackCache, text: str, formatted: str) -> None:
        stored_here.append(text)  # only this process's puts: the helper's are its own
        real_put(self, text, formatted)

    monkeypatch.setattr(BlackCache, "put", put)
    try:
        root = tmp_path / "service"
        _generate(root)
        assert len(processes) == 1
        rendered = render.render(make_plan(load_spec(root / "service.yaml")))
        template, text = rendered.generated.render_of("src/bench/_generated/app.py")
        # app.py, the largest text, went to the helper, which stored it itself
        assert text not in stored_here
        assert render._black_cache().get(text) == render._run_black(template, text)
    finally:
        render._black_cache.cache_clear()
