"""Small helpers every test module shares."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def until(
    cond: Callable[[], bool], timeout: float = 10.0, what: str = "the condition"
) -> None:
    """Poll ``cond`` every 20 ms; fail the test when it is not true within ``timeout``."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def until_async(
    cond: Callable[[], Awaitable[bool]],
    timeout: float = 10.0,
    what: str = "the condition",
) -> None:
    """``until`` for a condition that has to ask something (every 100 ms)."""
    deadline = time.monotonic() + timeout
    while not await cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


def run_svcgen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``svcgen ARGS`` in a process of its own (``python -m svcgen.cli``) in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "svcgen.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
