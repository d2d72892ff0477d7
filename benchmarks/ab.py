"""One benchmark script at two revisions, run alternately in one sitting.

    python benchmarks/ab.py --against <rev> [--runs 4] -- runtime_overhead.py [its args]
    python benchmarks/ab.py --against <rev> -- brokers.py --brokers redis,nats

The revision ``<rev>`` is checked out into a temporary git worktree; each run starts
the script once from that tree and once from this one (the order flips every run, so
neither side always goes first on a warm machine), each with ``PYTHONPATH`` pointing
at its own ``runtime/src``, ``generator`` and repository root. The scripts print a
Markdown table whose first cell names the row, whose second is the runtime's msg/s and
whose fourth is its ratio to the hand-written loop measured in the same process. For
every row this prints the median of both over the runs, and after / before: the msg/s
ratio says how the runtime moved, the hand-loop ratio says the same with the machine's
drift between the two processes taken out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the repository root, for benchmarks.*

from benchmarks.worktree import checkout  # noqa: E402

Rows = dict[str, list[tuple[float, float]]]


def run_script(tree: Path, script: list[str]) -> dict[str, tuple[float, float]]:
    """Run ``benchmarks/<script>`` from ``tree``; its table rows as (msg/s, ratio)."""
    path = os.pathsep.join(
        str(tree / part) for part in ("runtime/src", "generator", ".")
    )
    env = {**os.environ, "PYTHONPATH": path}
    command = [sys.executable, str(tree / "benchmarks" / script[0]), *script[1:]]
    done = subprocess.run(
        command, cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(script)} failed in {tree}:\n{done.stderr[-2000:]}")
    rows = {}
    for line in done.stdout.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[1].replace(",", "").replace(".", "").isdigit():
            continue  # the header, its separator line, or other output
        rows[cells[0]] = (float(cells[1].replace(",", "")), float(cells[3]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--against", required=True, help="the revision to compare with")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("script", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    script = [part for part in args.script if part != "--"]
    if not script:
        parser.error("name the script to run, e.g. -- runtime_overhead.py")
    results: dict[str, Rows] = {"before": {}, "after": {}}
    with checkout(args.against) as before:
        for run in range(args.runs):
            order = [("before", before), ("after", ROOT)]
            for side, tree in order if run % 2 == 0 else order[::-1]:
                for row, value in run_script(tree, script).items():
                    results[side].setdefault(row, []).append(value)
                print(f"run {run + 1}/{args.runs}: {side} done", file=sys.stderr)
    print(
        f"{' '.join(script)}: {args.against} (before) against this tree (after), "
        f"median of {args.runs} alternating runs"
    )
    print(
        "| row | before msg/s | after msg/s | after/before "
        "| before vs hand loop | after vs hand loop | after/before |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row, old in results["before"].items():
        new = results["after"].get(row, [])
        if not new:
            continue
        rate = [statistics.median(v[0] for v in side) for side in (old, new)]
        ratio = [statistics.median(v[1] for v in side) for side in (old, new)]
        print(
            f"| {row} | {rate[0]:,.0f} | {rate[1]:,.0f} | {rate[1] / rate[0]:.3f} "
            f"| {ratio[0]:.2f} | {ratio[1]:.2f} | {ratio[1] / ratio[0]:.3f} |"
        )


if __name__ == "__main__":
    main()
