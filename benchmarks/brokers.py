"""Each broker adapter against a hand-written loop on its raw client, in one run.

    python benchmarks/brokers.py [--messages 50000] [--concurrency 64] [--brokers kafka,redis]

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
import asyncio
import importlib
import inspect
import sys
from pathlib import Path

from svcgen.kinds import BROKERS

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
    args = parser.parse_args()
    rows = asyncio.run(
        measure(args.brokers.split(","), args.messages, args.concurrency, args.rounds)
    )
    print(
        "| broker | runtime msg/s | raw loop msg/s | ratio "
        "| raw loop without timeouts msg/s | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for kind, rt, raw, bare in rows:
        print(
            f"| {kind} | {rt:,.0f} | {raw:,.0f} | {rt / raw:.2f} "
            f"| {bare:,.0f} | {rt / bare:.2f} |"
        )


if __name__ == "__main__":
    main()
