"""Idle memory, import time and start time of a generated service against a raw-client process.

    bash scripts/services-up && .venv/bin/python -m benchmarks.footprint \
        [--brokers redis,nats,rabbitmq,kafka] [--runs 5] [--idle 3]

Issue 15's point 5. For each broker kind a service is generated (``svcgen new`` +
``generate``) from a spec with 5 consumers on that broker (each its own source and
group, every setting at its default) and HTTP with three routes, and run as
``python -m <service>``; against it ``benchmarks/footprint_raw.py`` does the same five
subscriptions on the raw client library and serves the same routes with Starlette on
uvicorn. Per run and side, in a fresh process each:

* **RSS**: ``VmRSS`` of ``/proc/<pid>/status`` once ``/readyz`` has answered 200 and
  the process has then been idle for ``--idle`` seconds (goal: RSS ≤ raw + 10 MB);
* **start**: seconds from spawning the process to the first ``/readyz`` 200
  (interpreter start, imports, connections, subscriptions);
* **import**: seconds a fresh interpreter takes to import what the process needs and
  build its application without connecting (``import <service>._generated.app`` +
  ``build_app()``; the raw side's imports + its Starlette app and uvicorn server).

The sides alternate within each run; the table gives medians of ``--runs``. Kafka's
start includes the group joins (about 5 s on the test broker, Tansu).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.latency import _cleanup_runtime, _source
from benchmarks.latency_publish import URLS
from benchmarks.startup import _status

ROOT: Final = Path(__file__).resolve().parents[1]
KINDS: Final = ("redis", "nats", "rabbitmq", "kafka")
CONSUMERS: Final = 5
GOAL_MB: Final = 10.0

SPEC: Final = """\
name: {name}
brokers:
  main: {{kind: {kind}, url: "${{FOOTPRINT_BROKER_URL:-unset}}"}}
consumers:
{consumers}
http:
  port: 8080
  routes:
    - {{name: list_items, method: GET, path: /items}}
    - {{name: create_item, method: POST, path: /items}}
    - {{name: get_item, method: GET, path: "/items/{{item_id}}"}}
"""


def generate(tmp: Path, kind: str, sources: list[str]) -> tuple[Path, str]:
    """A service with ``CONSUMERS`` consumers on ``kind`` and HTTP; (root, package)."""
    from svcgen import commands

    name = f"footprint_{kind}_{secrets.token_hex(4)}"
    root = commands.new(name, brokers=[kind], http=True, directory=tmp / name)
    consumers = "\n".join(
        f"  - {{name: c{i}, broker: main, source: {src}, group: g{i}}}"
        for i, src in enumerate(sources)
    )
    (root / "service.yaml").write_text(
        SPEC.format(name=name, kind=kind, consumers=consumers)
    )
    (root / "src" / name / "handlers" / "event_received.py").unlink(missing_ok=True)
    commands.generate(root)
    return root, name


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def _run_process(
    argv: list[str], env: dict[str, str], port: int, idle: float, cwd: Path
) -> tuple[float, float]:
    """Spawn, wait for /readyz 200, idle, read RSS, SIGTERM; (start s, RSS MB)."""
    began = time.perf_counter()
    proc = subprocess.Popen(  # noqa: ASYNC220 - polled, never waited on in the loop
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        while await _status(port, "/readyz") != 200:
            if proc.poll() is not None:
                err = (proc.stderr.read() if proc.stderr else b"").decode()[-2000:]
                raise RuntimeError(f"{argv[-1]} exited ({proc.returncode}):\n{err}")
            if time.perf_counter() - began > 60:
                raise RuntimeError(f"{argv} not ready within 60 s")
            await asyncio.sleep(0.01)
        started = time.perf_counter() - began
        await asyncio.sleep(idle)
        rss = _rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return started, rss


def _import_seconds(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    out = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=True)
    return float(out.stdout.decode().split()[-1])


async def one_run(
    kind: str, root: Path, name: str, sources: list[str], idle: float, flip: bool
) -> dict[str, tuple[float, float, float]]:
    """Both sides once, in the order ``flip`` says: {side: (RSS MB, start s, import s)}."""
    results: dict[str, tuple[float, float, float]] = {}
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for side in ("raw", "svcgen") if not flip else ("svcgen", "raw"):
        port = _free_port()
        if side == "svcgen":
            env = {
                **base_env,
                "PYTHONPATH": str(root / "src"),
                "FOOTPRINT_BROKER_URL": URLS[kind],
                "HTTP_PORT": str(port),
            }
            argv = [sys.executable, "-m", name]
            importer = [
                sys.executable,
                "-c",
                "import time; t = time.perf_counter(); "
                f"from {name}._generated.app import build_app; "
                "build_app(handle_signals=False); print(time.perf_counter() - t)",
            ]
            cwd = root
        else:
            env = {**base_env, "PYTHONPATH": str(ROOT)}
            argv = [sys.executable, "-m", "benchmarks.footprint_raw", kind, str(port)]
            argv += [f"{s}-raw" for s in sources]
            importer = [
                sys.executable,
                "-m",
                "benchmarks.footprint_raw",
                "--import-only",
                kind,
            ]
            cwd = ROOT
        started, rss = await _run_process(argv, env, port, idle, cwd)
        imported = _import_seconds(importer, env, cwd)
        results[side] = (rss, started, imported)
        print(
            f"  {kind} {side}: RSS {rss:.1f} MB, ready in {started:.2f} s, "
            f"import + build {imported:.3f} s",
            file=sys.stderr,
            flush=True,
        )
    return results


async def measure(kinds: list[str], runs: int, idle: float) -> None:
    rows: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="svcgen-footprint-"))
    try:
        for kind in kinds:
            sources = [_source(kind, f"fp{i}") for i in range(CONSUMERS)]
            root, name = generate(tmp, kind, sources)
            per_side: dict[str, list[tuple[float, float, float]]] = {
                "raw": [],
                "svcgen": [],
            }
            try:
                for run in range(runs):
                    result = await one_run(
                        kind, root, name, sources, idle, run % 2 == 1
                    )
                    for side, values in result.items():
                        per_side[side].append(values)
            finally:
                for src in sources:  # the raw side removes its own on SIGTERM
                    await _cleanup_runtime(kind, src)
            med = {
                side: [statistics.median(v[i] for v in values) for i in range(3)]
                for side, values in per_side.items()
            }
            (s_rss, s_start, s_imp), (r_rss, r_start, r_imp) = med["svcgen"], med["raw"]
            verdict = "met" if s_rss <= r_rss + GOAL_MB else "NOT met"
            rows.append(
                f"| {kind} | {s_rss:.1f} | {r_rss:.1f} | {s_rss - r_rss:+.1f} | {verdict} "
                f"| {s_imp:.3f} | {r_imp:.3f} | {s_imp / r_imp:.2f} "
                f"| {s_start:.2f} | {r_start:.2f} | {s_start / r_start:.2f} |"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"\n{CONSUMERS} consumers + HTTP, medians of {runs} runs, idle {idle:g} s; "
        f"load average {os.getloadavg()[0]:.2f}\n"
    )
    print(
        "| broker | svcgen RSS MB | raw RSS MB | difference | goal (≤ +10 MB) "
        "| svcgen import s | raw import s | ratio | svcgen start s | raw start s | ratio |"
    )
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--brokers", default=",".join(KINDS))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=3.0)
    args = parser.parse_args()
    kinds = args.brokers.split(",")
    if any(k not in KINDS for k in kinds) or args.runs < 1 or args.idle < 0:
        parser.error(f"use --brokers from {','.join(KINDS)} and --runs ≥ 1")
    asyncio.run(measure(kinds, args.runs, args.idle))


if __name__ == "__main__":
    main()
