"""Real signals to a real service process: SIGTERM drains, a forced drain fails, twice is now."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

SCRIPT = Path(__file__).with_name("signal_service.py")


@contextlib.contextmanager
def start(*args: str) -> Iterator[subprocess.Popen[str]]:
    """Run the service; whatever happens in the test, it is killed at the end."""
    with subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as proc:
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()


def read_event(
    stream: IO[str] | None, name: str, timeout: float = 20.0
) -> dict[str, Any]:
    assert stream is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            raise AssertionError(f"the service exited before {name!r}")
        event: dict[str, Any] = json.loads(line)
        if event["event"] == name:
            return event
    raise AssertionError(f"no {name!r} event within {timeout}s")


def test_sigterm_drains_all_50_in_flight_and_exits_0_promptly() -> None:
    with start("--handler-seconds", "0.5", "--drain-timeout", "5") as proc:
        read_event(proc.stdout, "ready")
        read_event(proc.stdout, "all_started")
        proc.send_signal(signal.SIGTERM)
        final = read_event(proc.stdout, "exit")
        code = proc.wait(timeout=10)
        exited = time.time()
    assert code == 0
    assert final["acked"] == 50
    assert final["released"] == 0
    assert exited - final["last_done"] <= 1.0


def test_drain_timeout_forces_a_non_zero_exit_and_acks_nothing() -> None:
    with start("--handler-seconds", "10", "--drain-timeout", "1") as proc:
        read_event(proc.stdout, "all_started")
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        final = read_event(proc.stdout, "exit")
        code = proc.wait(timeout=10)
        took = time.monotonic() - sent
    assert code != 0
    assert took <= 2.0, took
    assert final["acked"] == 0
    assert final["released"] == 50


def test_a_second_sigterm_during_the_drain_exits_at_once() -> None:
    with start("--handler-seconds", "10", "--drain-timeout", "20") as proc:
        read_event(proc.stdout, "all_started")
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert proc.poll() is None  # still draining
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        final = read_event(proc.stdout, "exit")
        code = proc.wait(timeout=10)
        took = time.monotonic() - sent
    assert code != 0
    assert took <= 1.0, took
    assert final["acked"] == 0
