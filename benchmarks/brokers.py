"""Each broker adapter against a hand-written loop on its raw client, in one run.

    python benchmarks/brokers.py [--messages 50000] [--concurrency 64] [--brokers kafka,redis]
        [--loops asyncio,uvloop] [--no-faststream]

For every broker: ``--messages`` pre-loaded ~100-byte JSON messages are consumed,
json-decoded and acknowledged at ``--concurrency``, through the runtime
(Application → Consumer → adapter) and through a loop written by hand on the same
client library with the same shape; each side gets its own fresh source. The hand
loop runs twice: ``raw`` handles each message under its own ``asyncio.timeout`` (the
runtime enforces a per-message timeout too, with one watchdog), ``raw_bare`` without
any timeout (a floor: less work than the runtime does). The per-broker halves live
in ``benchmarks/bench_<kind>.py`` (``run(n, concurrency)``). Needs the servers on
loopback (``scripts/services-up``).

When FastStream is installed for the benchmarks (``benchmarks/requirements-faststream.txt``
has the command; it is never a dependency of svcgen), each broker also runs FastStream's
subscriber on the same pre-loaded messages (``benchmarks/faststream_side.py``): with its
defaults, and with ``max_workers=--concurrency``; the table gains those columns.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from pathlib import Path

from svcgen.kinds import BROKERS
from svcgen_runtime import loops as svcgen_loops

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import faststream_side

KINDS = [k.name for k in BROKERS.values() if not k.in_process]


Row = tuple[str, float, float, float, float, float]
"""kind, runtime, raw, raw without timeouts, FastStream defaults, FastStream workers
(msg/s; the FastStream ones 0 when not run)."""


async def measure(
    kinds: list[str], n: int, concurrency: int, rounds: int, faststream: bool = False
) -> list[Row]:
    rows: list[Row] = []
    for kind in kinds:
        module = importlib.import_module(f"benchmarks.bench_{kind}")
        best = {"runtime": 0.0, "raw": 0.0, "raw_bare": 0.0}
        if "rounds" in inspect.signature(module.run).parameters:
            # the module interleaves its rounds itself and keeps each side's best
            result: dict[str, float] = await module.run(n, concurrency, rounds=rounds)
            best = {side: result[side] for side in best}
        else:
            for _ in range(rounds):
                result = await module.run(n, concurrency)
                best = {side: max(best[side], result[side]) for side in best}
        fs = {variant: 0.0 for variant in faststream_side.VARIANTS}
        if faststream:
            for variant in fs:
                fs[variant] = await faststream_side.run(
                    kind, n, concurrency, variant=variant, rounds=rounds
                )
        row = (kind, best["runtime"], best["raw"], best["raw_bare"])
        rows.append((*row, fs["defaults"], fs["workers"]))
        print(
            f"{kind}: runtime {best['runtime']:,.0f} msg/s, raw {best['raw']:,.0f} msg/s, "
            f"raw without timeouts {best['raw_bare']:,.0f} msg/s"
            + (
                f", FastStream {fs['defaults']:,.0f} msg/s, with max_workers "
                f"{fs['workers']:,.0f} msg/s"
                if faststream
                else ""
            )
            + f" (best of {rounds})",
            file=sys.stderr,
        )
    return rows


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "–"


def _rate(r: float) -> str:
    return f"{r:,.0f}" if r else "–"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--brokers", default=",".join(KINDS))
    parser.add_argument("--rounds", type=int, default=3, help="best of N per side")
    parser.add_argument(
        "--loops",
        default="asyncio",
        help="event loops to run every side on, e.g. asyncio,uvloop (each broker runs "
        "on each loop in turn; the first loop's rows make the main table)",
    )
    parser.add_argument(
        "--no-faststream",
        action="store_true",
        help="leave out the FastStream columns even when FastStream is installed",
    )
    args = parser.parse_args()
    faststream = not args.no_faststream and faststream_side.available()
    if not args.no_faststream and not faststream:
        print(
            "brokers: FastStream is not installed for the benchmarks, so the table "
            f"has no FastStream column; to add it run: {faststream_side.INSTALL}",
            file=sys.stderr,
        )
    names = args.loops.split(",")
    factories = {
        name: svcgen_loops.loop_factory({svcgen_loops.EVENT_LOOP_VAR: name})
        for name in names
    }
    by_loop: dict[str, list[Row]] = {n: [] for n in names}
    for kind in args.brokers.split(","):
        for name in names:
            print(f"{kind} on {name}:", file=sys.stderr)
            by_loop[name] += svcgen_loops.run(
                measure(
                    [kind], args.messages, args.concurrency, args.rounds, faststream
                ),
                factories[name],
            )
    head = (
        "| broker | runtime msg/s | raw loop msg/s | ratio "
        "| raw loop without timeouts msg/s | ratio |"
    )
    rule = "|---|---:|---:|---:|---:|---:|"
    if faststream:
        head += (
            " FastStream msg/s | runtime / FastStream "
            f"| FastStream max_workers={args.concurrency} msg/s | runtime / that |"
        )
        rule += "---:|---:|---:|---:|"
    print(head)
    print(rule)
    for kind, rt, raw, bare, fs, fs_workers in by_loop[names[0]]:
        line = (
            f"| {kind} | {rt:,.0f} | {raw:,.0f} | {rt / raw:.2f} "
            f"| {bare:,.0f} | {rt / bare:.2f} |"
        )
        if faststream:
            line += (
                f" {_rate(fs)} | {_ratio(rt, fs)} "
                f"| {_rate(fs_workers)} | {_ratio(rt, fs_workers)} |"
            )
        print(line)
    if len(names) > 1:
        base, other = names[0], names[1]
        print()
        print(
            f"| broker | runtime on {base} | runtime on {other} | gain "
            f"| raw loop on {base} | raw loop on {other} | gain |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for (kind, rt_a, raw_a, *_), (_, rt_b, raw_b, *_) in zip(
            by_loop[base], by_loop[other], strict=True
        ):
            print(
                f"| {kind} | {rt_a:,.0f} | {rt_b:,.0f} | {rt_b / rt_a:.2f} "
                f"| {raw_a:,.0f} | {raw_b:,.0f} | {raw_b / raw_a:.2f} |"
            )


if __name__ == "__main__":
    main()
