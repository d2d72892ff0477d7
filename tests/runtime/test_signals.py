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

import httpx
import pytest

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
        if name in ("*", event["event"]):
            return event
    raise AssertionError(f"no {name!r} event within {timeout}s")


def read_events(
    stream: IO[str] | None, names: set[str], timeout: float = 20.0
) -> dict[str, dict[str, Any]]:
    """Each of ``names`` once, in whatever order the service prints them."""
    seen: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while set(seen) != names:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {sorted(names - set(seen))} within {timeout}s")
        event = read_event(stream, "*", left)
        if event["event"] in names:
            seen[event["event"]] = event
    return seen


def test_sigterm_drains_all_50_in_flight_and_exits_0_promptly() -> None:
    with start("--handler-seconds", "0.5", "--drain-timeout", "5") as proc:
        # Either first: consumers start in tasks of their own, so the handlers may
        # all be running before the Application reports started.
        read_events(proc.stdout, {"ready", "all_started"})
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


@pytest.mark.parametrize("listener", ["http", "health"])
def test_probes_answer_through_the_drain_after_sigterm(listener: str) -> None:
    """Liveness must not fail mid-drain: the port stays open until the drain ends."""
    with start(
        "--messages", "5", "--handler-seconds", "2", "--listener", listener
    ) as proc:
        seen = read_events(proc.stdout, {"ready", "all_started"})
        base = f"http://127.0.0.1:{seen['ready']['port']}"
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        answers: list[tuple[int, int, int, int]] = []
        with httpx.Client(timeout=5) as client:
            while time.monotonic() - sent < 1.5:  # the handlers run for 2 s
                answers.append(
                    (
                        client.get(f"{base}/healthz").status_code,
                        client.get(f"{base}/readyz").status_code,
                        client.get(f"{base}/metrics").status_code,
                        client.get(f"{base}/work").status_code,
                    )
                )
                time.sleep(0.1)
        assert proc.poll() is None  # still draining
        final = read_event(proc.stdout, "exit")
        assert proc.wait(timeout=10) == 0
    other = 503 if listener == "http" else 404  # the health listener has no routes
    assert answers and set(answers) == {(200, 503, 200, other)}, answers
    assert final["acked"] == 5
