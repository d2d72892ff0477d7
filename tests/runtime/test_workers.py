"""``SVCGEN_WORKERS``: how many workers, and the parent's rules (restart a crashed
worker, stop the service when a worker cannot start, pass signals on, exit 0 after
a drain). Real processes; the broker side is in tests/replicas/test_workers.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from svcgen_runtime import workers
from svcgen_runtime.application import EXIT_START_FAILED, Application
from svcgen_runtime.errors import ConfigurationError
from svcgen_runtime.overrides import run_or_refuse
from tests.support import free_port


@pytest.mark.parametrize(("value", "count"), [(None, 1), ("", 1), ("1", 1), ("3", 3)])
def test_the_count(value: str | None, count: int) -> None:
    env = {} if value is None else {workers.WORKERS_VAR: value}
    assert workers.worker_count(env) == count


def test_auto_is_one_per_usable_cpu() -> None:
    expected = len(os.sched_getaffinity(0))
    assert workers.worker_count({workers.WORKERS_VAR: "auto"}) == expected


def test_a_worker_never_runs_workers_of_its_own() -> None:
    env = {workers.WORKERS_VAR: "4", workers.WORKER_INDEX_VAR: "0"}
    assert workers.worker_count(env) == 1 and workers.in_worker(env)


@pytest.mark.parametrize("value", ["0", "65", "two", "-1", "1.5"])
def test_a_bad_count_is_one_sentence(value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        workers.worker_count({workers.WORKERS_VAR: value})
    assert str(info.value) == (
        f"SVCGEN_WORKERS={value!r} is not a number of worker processes: set it to a "
        "whole number from 1 to 64, or auto (one per CPU)"
    )


def test_run_or_refuse_refuses_a_bad_count_before_building(
    caplog: pytest.LogCaptureFixture,
) -> None:
    built: list[bool] = []

    def build() -> Application:
        built.append(True)
        raise AssertionError("not reached")

    status = run_or_refuse(build, "shop", {workers.WORKERS_VAR: "many"})
    assert status == EXIT_START_FAILED and built == []
    assert "SVCGEN_WORKERS='many'" in caplog.records[0].getMessage()


# A worker: the first run of each index dies (status 1), the next runs until SIGTERM,
# then exits 0; with FAIL_START set, index 1 cannot start (status 3).
WORKER = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    index = os.environ["SVCGEN_WORKER_INDEX"]
    marks = Path(sys.argv[1])
    if os.environ.get("FAIL_START") and index == "1":
        sys.exit(3)
    first = not (marks / f"crashed-{index}").exists()
    (marks / f"{'crashed' if first else 'running'}-{index}").write_text(str(os.getpid()))
    if first:
        sys.exit(1)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop:
        time.sleep(0.02)
    (marks / f"drained-{index}").write_text("")
    """
)
PARENT = textwrap.dedent(
    """
    import logging, sys
    from svcgen_runtime import workers
    logging.basicConfig(level=logging.INFO)
    command = [sys.executable, "-c", sys.argv[1], sys.argv[2]]
    sys.exit(workers.Supervisor("shop", 2, command).run())
    """
)


def _parent(marks: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", PARENT, WORKER, str(marks)],
        env={**os.environ, **env},
        stderr=subprocess.PIPE,
        text=True,
    )


def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_crashed_worker_restarts_and_sigterm_drains_all(tmp_path: Path) -> None:
    parent = _parent(tmp_path)
    try:
        _until(lambda: all((tmp_path / f"running-{i}").exists() for i in (0, 1)))
        parent.send_signal(signal.SIGTERM)
        _, err = parent.communicate(timeout=20)
    finally:
        parent.kill()
    assert parent.returncode == 0, err
    assert all((tmp_path / f"drained-{i}").exists() for i in (0, 1))
    assert err.count("died with status 1") == 2 and "restarting it in 1.0 s" in err


def test_a_worker_that_cannot_start_stops_the_service_with_3(tmp_path: Path) -> None:
    parent = _parent(tmp_path, FAIL_START="1")
    try:
        _, err = parent.communicate(timeout=30)
    finally:
        parent.kill()
    assert parent.returncode == EXIT_START_FAILED, err
    assert "worker 1 could not start (status 3); stopping the service" in err


HTTP_WORKER = textwrap.dedent(
    """
    import os, sys
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from svcgen_runtime.application import Application
    from svcgen_runtime.http import HttpServer

    async def pid(request):
        return PlainTextResponse(str(os.getpid()))

    http = HttpServer(routes=[Route("/pid", pid)], host="127.0.0.1", port=int(sys.argv[1]))
    app = Application(name="w", brokers=[], consumers=[], http=http)
    sys.exit(app.run())
    """
)


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return None


def test_workers_http_servers_share_one_port(tmp_path: Path) -> None:
    port = free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HTTP_WORKER, str(port)],
            env={**os.environ, workers.WORKER_INDEX_VAR: str(i)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    try:
        url = f"http://127.0.0.1:{port}/pid"
        seen: set[str] = set()
        deadline = time.monotonic() + 20
        while seen != {str(p.pid) for p in procs}:
            assert time.monotonic() < deadline, (seen, [p.poll() for p in procs])
            answer = _get(url)
            if answer is not None:
                seen.add(answer)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        assert [p.wait(timeout=20) for p in procs] == [0, 0]
    finally:
        for p in procs:
            p.kill()
            p.communicate()
