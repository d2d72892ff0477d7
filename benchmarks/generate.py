"""Wall time of cold ``svcgen generate`` and ``svcgen check`` on a large spec.

The spec has 50 consumers (on five brokers), 20 routes and 10 publishers. Each
measurement is a fresh process, as a developer or CI runs it, and each round starts
with an empty svcgen cache (``XDG_CACHE_HOME`` points into the round's temporary
directory), so the first ``generate`` and the clean-clone ``check`` pay for black::

    python benchmarks/generate.py [--runs 5] [--against REV]

It prints a Markdown table (median and minimum wall time over the runs). With
``--against REV`` it also runs svcgen as of git revision REV (a temporary
worktree), alternating the two round by round, and adds REV's median and the
ratio (REV's time over this tree's; above 1 means this tree is faster).

Target: at most 1.0 s each on the development machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Final

from svcgen.kinds import BROKERS

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: the repository root, for benchmarks.*

from benchmarks.worktree import checkout  # noqa: E402

KINDS: Final = {
    kind: row.default_url for kind, row in BROKERS.items() if row.default_url
}
"""Each server broker kind with ``svcgen new``'s URL for it."""


def big_spec(consumers: int = 50, routes: int = 20, publishers: int = 10) -> str:
    lines = ["name: bench", "brokers:"]
    lines += [
        f'  {kind}_bus: {{kind: {kind}, url: "{url}"}}' for kind, url in KINDS.items()
    ]
    lines += ["http:", "  port: 8000", "  routes:"]
    lines += [
        f"    - {{name: route_{i:02d}, method: {'GET' if i % 2 else 'POST'}, "
        f'path: "/items{i}/{{item_id}}"}}'
        for i in range(routes)
    ]
    lines.append("consumers:")
    brokers = [f"{kind}_bus" for kind in KINDS]
    for i in range(consumers):
        message = f"bench.models:Event{i:02d}" if i % 2 else None
        lines += [
            f"  - name: consumer_{i:02d}",
            f"    broker: {brokers[i % len(brokers)]}",
            f"    source: events.topic_{i:02d}",
            f"    concurrency: {1 + i % 16}",
            "    timeout: 30s",
            "    retry: {max_attempts: 3, initial: 1s, max: 60s}",
        ]
        if message:
            lines.append(f"    message: {message}")
    lines.append("publishers:")
    lines += [
        f"  - {{name: publisher_{i:02d}, broker: {brokers[i % len(brokers)]}, "
        f"target: out.topic_{i:02d}, message: bench.models:Out{i:02d}}}"
        for i in range(publishers)
    ]
    return "\n".join(lines) + "\n"


def timed(
    args: list[str], cwd: Path, cache: Path, code: Path | None
) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one fresh process; ``code``
    is another checkout's ``generator/`` to run instead of the installed svcgen."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    # Bytecode as an installed svcgen has it (pip compiles on install); a machine
    # that sets PYTHONDONTWRITEBYTECODE would otherwise compile svcgen every run
    # (0.05 s of a cold generate here). The first run writes what is missing.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return took, cpu


ROWS: Final = {
    "empty": "`svcgen generate` into an empty directory (also writes 75 stubs)",
    "empty_warm": "the same, svcgen's cache warm (a second service)",
    "unchanged": "`svcgen generate` with nothing to change",
    "check": "`svcgen check`",
    "check_cold": "`svcgen check` on a clean clone, cache cold (CI)",
}

Results = dict[str, list[tuple[float, float]]]


def one_round(tmp: Path, results: Results, code: Path | None) -> None:
    """Each row once; svcgen's cache (black's output) starts empty, as on a new
    machine or in CI."""
    svcgen = [sys.executable, "-m", "svcgen.cli"]
    service, second = tmp / "service", tmp / "second"
    for root in (service, second):
        root.mkdir()
        (root / "service.yaml").write_text(big_spec())
    cache, cold = tmp / "cache", tmp / "cold-cache"
    results["empty"].append(timed([*svcgen, "generate"], service, cache, code))
    results["unchanged"].append(timed([*svcgen, "generate"], service, cache, code))
    results["check"].append(timed([*svcgen, "check"], service, cache, code))
    results["check_cold"].append(timed([*svcgen, "check"], service, cold, code))
    results["empty_warm"].append(timed([*svcgen, "generate"], second, cache, code))


def _warm_up(tmp: Path, code: Path | None) -> None:
    """One run first, so that neither side pays for compiling svcgen's modules."""
    (tmp / "service.yaml").write_text(big_spec())
    timed([sys.executable, "-m", "svcgen.cli", "validate"], tmp, tmp / "cache", code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also time svcgen at git revision REV, alternating, with the ratio",
    )
    options = parser.parse_args()
    sides: dict[str, Path | None] = {"this tree": None}
    with ExitStack() as stack:
        if options.against:
            base = stack.enter_context(checkout(options.against))
            sides[options.against] = base / "generator"
        results = _measure(sides, options.runs)
    _print(results, options.runs)


def _measure(sides: dict[str, Path | None], runs: int) -> dict[str, Results]:
    results: dict[str, Results] = {side: {row: [] for row in ROWS} for side in sides}
    for code in sides.values():
        with tempfile.TemporaryDirectory(prefix="svcgen-bench-") as tmp:
            _warm_up(Path(tmp), code)
    for _ in range(runs):
        for side, code in sides.items():  # alternating, so both see the same machine
            with tempfile.TemporaryDirectory(prefix="svcgen-bench-") as tmp:
                one_round(Path(tmp), results[side], code)
    return results


def _print(results: dict[str, Results], runs: int) -> None:
    print(
        f"spec: 50 consumers, 20 routes, 10 publishers; {runs} runs, a fresh process "
        f"each; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
    )
    sides = list(results)
    head = "| command | wall median | wall min | CPU median |"
    rule = "|---|---:|---:|---:|"
    if len(sides) > 1:
        head += f" `{sides[1]}` wall median | ratio |"
        rule += "---:|---:|"
    print(head)
    print(rule)
    for row, label in ROWS.items():
        walls = [w for w, _ in results[sides[0]][row]]
        cpus = [c for _, c in results[sides[0]][row]]
        line = (
            f"| {label} | {statistics.median(walls):.2f} s | {min(walls):.2f} s "
            f"| {statistics.median(cpus):.2f} s |"
        )
        if len(sides) > 1:
            base = statistics.median(w for w, _ in results[sides[1]][row])
            line += f" {base:.2f} s | {base / statistics.median(walls):.2f}x |"
        print(line)


if __name__ == "__main__":
    main()
