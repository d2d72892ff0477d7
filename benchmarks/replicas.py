"""Scaling across replica processes: 1, 2 and 3 processes of one generated service
drain the same pre-published backlog, on each broker.

    python benchmarks/replicas.py [--messages 20000] [--concurrency 64]
        [--brokers kafka,redis] [--replicas 1,2,3] [--rounds 1] [--workers]

For every broker and replica count: a fresh source (Kafka: 6 partitions) and group,
a service generated with ``svcgen new`` + ``generate`` (the ``tests/replicas``
service, every setting at its default; its handler does no I/O: it notes the id and
time in memory and a background task writes the notes out every 20 ms), ``n``
``python -m <service>`` processes started and ready (subscribed; Kafka: partitions
assigned), then SIGSTOPped; ``--messages`` messages are published, and the ``n``
processes SIGCONTed at once. Timed from the SIGCONT to the last message finished:
total msg/s, CPU seconds of each replica process and of the broker server's process
over the same span (``/proc/<pid>/stat``; the server found by its listening port).
MQTT runs on a private Mosquitto whose queue limit is above the backlog. Needs the
servers on loopback (``scripts/services-up``).

``--workers``: each count ``n`` is ONE process started with ``SVCGEN_WORKERS=n``
(per-core workers under one parent, ``svcgen_runtime.workers``) instead of ``n``
replica processes; the workers are stopped, resumed and measured the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.replicas

from tests.faults.servers import MqttServer
from tests.replicas.kinds import KINDS, Target, target
from tests.replicas.service import Service, children, generate, proc_cpu_seconds

READY_WAIT = 90.0
DRAIN_WAIT = 300.0


@dataclass
class Row:
    kind: str
    replicas: int
    rate: float
    seconds: float
    cpu: list[float]
    broker_cpu: float | None
    duplicates: int


def server_pid(url: str) -> int | None:
    """The pid of the process listening on ``url``'s port (``ss -ltnp``)."""
    port = re.search(r":(\d+)(/|$)", url.split("@")[-1])
    if port is None:
        return None
    out = subprocess.run(
        ["ss", "-ltnpH", f"( sport = :{port.group(1)} )"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    found = re.search(r"pid=(\d+)", out)
    return int(found.group(1)) if found else None


async def publish(t: Target, count: int) -> None:
    broker = t.publisher()
    await broker.connect()
    try:
        await broker.publish(t.source, b"0")
        for start in range(1, count, 50):
            await asyncio.gather(
                *(
                    broker.publish(t.source, str(n).encode())
                    for n in range(start, min(start + 50, count))
                )
            )
    finally:
        await broker.close()


async def one(
    kind: str,
    n: int,
    messages: int,
    concurrency: int,
    tmp: Path,
    mqtt_url: str,
    workers: bool = False,
) -> Row:
    t = target(kind, mqtt_url if kind == "mqtt" else None)
    service: Service | None = None
    try:
        await t.prepare()
        home = tmp / f"{kind}-{n}-{time.monotonic_ns()}"
        home.mkdir()
        service = svc = generate(
            home,
            t,
            concurrency=concurrency,
            sleep=0.0,
            buffered=True,
            tuned=False,
        )
        if workers:  # one process, n workers under it (SVCGEN_WORKERS)
            replicas = [svc.start(SVCGEN_WORKERS=str(n))]
            err = replicas[0].err
            await svc.wait(
                f"{n} workers ready",
                lambda: err.read_text().count(": started in") >= n,
                READY_WAIT,
            )
            # SVCGEN_WORKERS=1 is the plain process: no parent, no workers
            pids = sorted(children(replicas[0].proc.pid)) or [replicas[0].proc.pid]
        else:
            replicas = [svc.start() for _ in range(n)]
            await svc.wait(
                f"{n} replicas ready",
                lambda: all(r.ready_at for r in replicas),
                READY_WAIT,
            )
            pids = [r.proc.pid for r in replicas]
        await asyncio.sleep(1.0)  # Kafka: the last join's rebalance has settled
        for p in pids:
            os.kill(p, signal.SIGSTOP)
        await publish(t, messages)
        pid = server_pid(t.url)
        broker0 = None if pid is None else proc_cpu_seconds(pid)
        cpu0 = [proc_cpu_seconds(p) for p in pids]
        began = time.time()
        for p in pids:
            os.kill(p, signal.SIGCONT)
        await svc.wait(
            f"{messages} messages finished",
            lambda: len(svc.finished_ids()) >= messages,
            DRAIN_WAIT,
        )
        cpu = [proc_cpu_seconds(p) - c for p, c in zip(pids, cpu0, strict=True)]
        broker_cpu = (
            None if pid is None or broker0 is None else proc_cpu_seconds(pid) - broker0
        )
        last = max(max(r.finished.values(), default=0.0) for r in replicas)
        seconds = last - began
        duplicates = sum(r.finish_count for r in replicas) - messages
        for r in replicas:
            r.stopped_at = time.time()
            r.proc.send_signal(signal.SIGTERM)
        for r in replicas:
            await asyncio.to_thread(r.proc.wait, 30)
        return Row(kind, n, messages / seconds, seconds, cpu, broker_cpu, duplicates)
    finally:
        if service is not None:
            service.kill_all()
        await t.cleanup()


async def measure(
    kinds: list[str],
    counts: list[int],
    messages: int,
    concurrency: int,
    rounds: int,
    workers: bool = False,
) -> list[Row]:
    rows: list[Row] = []
    mqtt: MqttServer | None = None
    with tempfile.TemporaryDirectory(prefix="svcgen-replicas-") as tmp_dir:
        tmp = Path(tmp_dir)
        try:
            if "mqtt" in kinds:
                mqtt = MqttServer(tmp / "mosquitto")
                mqtt.start()
            for kind in kinds:
                for n in counts:
                    best: Row | None = None
                    for _ in range(rounds):
                        row = await one(
                            kind,
                            n,
                            messages,
                            concurrency,
                            tmp,
                            mqtt.url if mqtt else "",
                            workers,
                        )
                        if best is None or row.rate > best.rate:
                            best = row
                    assert best is not None
                    rows.append(best)
                    print(
                        f"{kind} x{n}: {best.rate:,.0f} msg/s in {best.seconds:.2f}s, "
                        f"cpu {[round(c, 2) for c in best.cpu]}, broker "
                        f"{best.broker_cpu}",
                        file=sys.stderr,
                    )
        finally:
            if mqtt is not None:
                mqtt.stop()
    return rows


def table(rows: list[Row], unit: str = "replicas") -> str:
    one_rate = {r.kind: r.rate for r in rows if r.replicas == 1}
    one = unit.removesuffix("s")
    lines = [
        f"| broker | {unit} | msg/s | vs 1 {one} | seconds "
        f"| CPU s per {one} | CPU % per {one} | broker CPU s | broker CPU % "
        "| duplicates |",
        "|---|---:|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for r in rows:
        base = one_rate.get(r.kind)
        ratio = f"{r.rate / base:.2f}" if base else "-"
        cpu = ", ".join(f"{c:.2f}" for c in r.cpu)
        pct = ", ".join(f"{100 * c / r.seconds:.0f}" for c in r.cpu)
        bcpu = "-" if r.broker_cpu is None else f"{r.broker_cpu:.2f}"
        bpct = "-" if r.broker_cpu is None else f"{100 * r.broker_cpu / r.seconds:.0f}"
        lines.append(
            f"| {r.kind} | {r.replicas} | {r.rate:,.0f} | {ratio} | {r.seconds:.2f} "
            f"| {cpu} | {pct} | {bcpu} | {bpct} | {r.duplicates} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--brokers", default=",".join(KINDS))
    parser.add_argument("--replicas", default="1,2,3")
    parser.add_argument("--rounds", type=int, default=1, help="best of N per cell")
    parser.add_argument(
        "--workers",
        action="store_true",
        help="each count is SVCGEN_WORKERS of ONE service process, not replicas",
    )
    args = parser.parse_args()
    rows = asyncio.run(
        measure(
            args.brokers.split(","),
            [int(c) for c in args.replicas.split(",")],
            args.messages,
            args.concurrency,
            args.rounds,
            args.workers,
        )
    )
    print(table(rows, "workers" if args.workers else "replicas"))


if __name__ == "__main__":
    main()
