"""The README's first set-up command: ``scripts/demo`` generates a service and runs
it on the embedded memory broker, with no server at all."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_demo_serves_probes_a_route_and_metrics_then_drains() -> None:
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo"), "--check"],
        env={**os.environ, "HTTP_PORT": str(_free_port())},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for line in (
        'demo: GET /readyz -> 200 {"status":"ready"}',
        'demo: GET /hello -> 200 {"route":"hello","params":{}}',
        "demo: SIGTERM -> exit status 0",
    ):
        assert line in done.stdout
    assert 'svcgen_ready{service="demo"} 1' in done.stdout
