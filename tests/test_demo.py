"""The README's demo command works with no server: generate, serve, probe, SIGTERM, exit 0."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_scripts_demo_check_serves_and_drains() -> None:
    env = {**os.environ, "HTTP_PORT": str(free_port())}
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo"), "--check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert 'GET /readyz -> 200 {"status":"ready"}' in out.stdout
    assert "GET /hello -> 200" in out.stdout
    assert "SIGTERM -> exit status 0" in out.stdout
    assert 'svcgen_ready{service="demo"} 1' in out.stdout  # /metrics answered
