"""The replay survives SIGKILL: killed halfway and run again, every dead letter
reaches the source at least once and the dead-letter destination ends empty.

300 real dead letters (the runtime's consumer rejects them) on each kind of
``KINDS``; ``svcgen dlq replay --all`` runs as a subprocess and is SIGKILLed once
the consumer, now keeping what arrives, has seen about half.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import pytest

from svcgen_runtime import message as m
from svcgen_runtime.deadletters import REPLAY_COUNT

from .harness import CONSUMER, KINDS, Bench

pytestmark = [pytest.mark.broker, pytest.mark.xdist_group("heavy")]

COUNT = 300
RATE = 100  # about 3 s for all: the kill lands well inside
MOVED_ATOMICALLY = {"redis"}
"""Kinds whose replay sends and removes in one step: a kill duplicates nothing."""


@pytest.mark.parametrize("kind", KINDS)
async def test_a_replay_killed_halfway_and_run_again_loses_nothing(
    kind: str, tmp_path: Path
) -> None:
    bench = Bench(kind, tmp_path)
    try:
        async with bench.running():
            bodies = await bench.seed(COUNT)
            assert len(await bench.listed()) == COUNT
            bench.collecting = True

            first = await asyncio.create_subprocess_exec(
                *bench.cli_args("replay", CONSUMER, "--all", "--rate", str(RATE)),
                env=bench.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                await bench.until(
                    lambda: (
                        len(bench.kept) >= COUNT // 2 or first.returncode is not None
                    ),
                    40,
                    "half the replay",
                )
            finally:
                if first.returncode is None:
                    first.send_signal(signal.SIGKILL)
            await first.wait()
            assert first.returncode == -signal.SIGKILL, "the replay ended on its own"
            halfway = len({msg.body for msg in bench.kept})
            assert halfway < COUNT, "the replay ended before the kill: nothing tested"

            second = await bench.cli("replay", CONSUMER, "--all", "--rate", "0")
            assert second.returncode == 0, second.stderr
            await bench.until(
                lambda: {msg.body for msg in bench.kept} >= set(bodies),
                30,
                "every dead letter at the source",
            )
        arrived = {msg.body for msg in bench.kept}
        assert arrived == set(bodies)
        twice = len(bench.kept) - COUNT
        if kind in MOVED_ATOMICALLY:
            assert twice == 0
        else:  # the message(s) whose removal the kill cut short
            assert twice <= 5
        assert await bench.listed() == []
        for msg in bench.kept:
            assert msg.headers[REPLAY_COUNT] == "1"
            assert msg.headers["x-svcgen-replayed-reason"] == "rejected"
            assert m.DLQ_REASON not in msg.headers
            assert msg.delivery_count == 1
    finally:
        await bench.cleanup()
