"""A consumer process for the crash and drain scenarios: ``python -m tests.contract.worker``.

Appends ``start <id>`` / ``done <id>`` lines to --out (flushed per line) and exits
with the Application's status. Message ids are the bodies (``b"m-17"``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path

from svcgen_runtime import Application, Consumer, InboundMessage

from .conftest import make_harness

ROOT = Path(__file__).resolve().parents[2]


def spawn(
    kind: str,
    source: str,
    group: str,
    out: Path,
    *,
    concurrency: int,
    handler_seconds: float,
    drain_timeout: float = 10.0,
) -> subprocess.Popen[bytes]:
    """Start this module as a consumer process of ``source`` logging to ``out``."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.contract.worker",
            "--kind",
            kind,
            "--source",
            source,
            "--group",
            group,
            "--out",
            str(out),
            "--concurrency",
            str(concurrency),
            "--handler-seconds",
            str(handler_seconds),
            "--drain-timeout",
            str(drain_timeout),
        ],
        cwd=ROOT,
    )


def lines(out: Path, prefix: str) -> list[str]:
    """The ids a worker logged with ``prefix`` (``start`` or ``done``), in order."""
    if not out.exists():
        return []
    return [
        ln.split(" ", 1)[1]
        for ln in out.read_text().splitlines()
        if ln.startswith(prefix + " ")
    ]


def is_ready(out: Path) -> bool:
    """True once the worker logged that its Application started."""
    return out.exists() and "ready" in out.read_text().splitlines()


async def main(args: argparse.Namespace) -> int:
    harness = make_harness(args.kind)
    broker = harness.broker("worker")
    out = open(args.out, "a", buffering=1)  # noqa: ASYNC230 - once, at start-up

    async def handle(body: bytes, msg: InboundMessage) -> None:
        out.write(f"start {body.decode()}\n")
        os.fsync(out.fileno())
        await asyncio.sleep(args.handler_seconds)
        out.write(f"done {body.decode()}\n")
        os.fsync(out.fileno())

    consumer: Consumer[bytes] = Consumer(
        name="worker",
        broker=broker,
        source=args.source,
        group=args.group,
        handler=handle,
        concurrency=args.concurrency,
        timeout=60,
        ack_wait=harness.ack_wait(),
        options=dict(harness.consumer_options()),
    )
    app = Application(
        name="contract-worker",
        brokers=[broker],
        consumers=[consumer],
        drain_timeout=args.drain_timeout,
    )

    async def announce() -> None:
        await app.wait_started()
        out.write("ready\n")

    announcer = asyncio.create_task(announce())
    code = await app.serve()
    announcer.cancel()
    out.write(f"exit {code} acked={consumer.stats.acked}\n")
    out.close()
    return code


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--kind", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--concurrency", type=int, default=5)
    p.add_argument("--handler-seconds", type=float, default=0.0)
    p.add_argument("--drain-timeout", type=float, default=10.0)
    sys.exit(asyncio.run(main(p.parse_args())))
