"""Each broker adapter against a hand-written loop on its raw client, in one run.

    python benchmarks/brokers.py [--messages 50000] [--concurrency 64] [--brokers kafka,redis]
        [--loops asyncio,uvloop]

For every broker: ``--messages`` pre-loaded ~100-byte JSON messages are consumed,
json-decoded and acknowledged at ``--concurrency``, through the runtime
(Application → Consumer → adapter) and through a loop written by hand on the same
client library with the same shape; each side gets its own fresh source. The hand
loop runs twice: ``raw`` handles each message under its own ``asyncio.timeout`` (the
runtime enforces a per-message timeout too, with one watchdog), ``raw_bare`` without
any timeout (a floor: less work than the runtime does). The per-broker halves live
in ``benchmarks/bench_<kind>.py`` (``run(n, concurrency)``). Needs the servers on
loopback (``scripts/services-up``).
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

KINDS = [k.name for k in BROKERS.values() if not k.in_process]


async def measure(
    kinds: list[str], n: int, concurrency: int, rounds: int
) -> list[tuple[str, float, float, float]]:
    rows = []
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
        rows.append((kind, best["runtime"], best["raw"], best["raw_bare"]))
        print(
            f"{kind}: runtime {best['runtime']:,.0f} msg/s, raw {best['raw']:,.0f} msg/s, "
            f"raw without timeouts {best['raw_bare']:,.0f} msg/s (best of {rounds})",
            file=sys.stderr,
        )
    return rows


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
    args = parser.parse_args()
    names = args.loops.split(",")
    factories = {
        name: svcgen_loops.loop_factory({svcgen_loops.EVENT_LOOP_VAR: name})
        for name in names
    }
    by_loop: dict[str, list[tuple[str, float, float, float]]] = {n: [] for n in names}
    for kind in args.brokers.split(","):
        for name in names:
            print(f"{kind} on {name}:", file=sys.stderr)
            by_loop[name] += svcgen_loops.run(
                measure([kind], args.messages, args.concurrency, args.rounds),
                factories[name],
            )
    print(
        "| broker | runtime msg/s | raw loop msg/s | ratio "
        "| raw loop without timeouts msg/s | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for kind, rt, raw, bare in by_loop[names[0]]:
        print(
            f"| {kind} | {rt:,.0f} | {raw:,.0f} | {rt / raw:.2f} "
            f"| {bare:,.0f} | {rt / bare:.2f} |"
        )
    if len(names) > 1:
        base, other = names[0], names[1]
        print()
        print(
            f"| broker | runtime on {base} | runtime on {other} | gain "
            f"| raw loop on {base} | raw loop on {other} | gain |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for (kind, rt_a, raw_a, _), (_, rt_b, raw_b, _) in zip(
            by_loop[base], by_loop[other], strict=True
        ):
            print(
                f"| {kind} | {rt_a:,.0f} | {rt_b:,.0f} | {rt_b / rt_a:.2f} "
                f"| {raw_a:,.0f} | {raw_b:,.0f} | {raw_b / raw_a:.2f} |"
            )


if __name__ == "__main__":
    main()
