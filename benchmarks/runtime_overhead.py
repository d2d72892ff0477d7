"""Runtime overhead on the memory broker against a hand-written asyncio loop, in one run.

    python benchmarks/runtime_overhead.py [--messages 200000] [--rounds 3]

Both sides take the same 200k small messages from memory, run a trivial async handler
with at most ``concurrency`` in flight, and settle each message. The runtime side is
the production path (Application → Consumer → MemoryBroker: permits, fetch,
decode, timeout, retry decision, ack); the baseline is the loop a careful person would
write by hand: a fixed pool of worker coroutines on an asyncio.Queue, acking into a
dict. Reports messages/s of each and their ratio; the best of ``rounds`` runs per side.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import time

from svcgen_runtime import Application, Consumer, InboundMessage, MemoryBroker

BODY = b'{"order_id": 12345, "amount": 10.5}'


async def handler(body: bytes, msg: InboundMessage) -> None:
    return None


async def runtime_side(n: int, concurrency: int) -> float:
    broker = MemoryBroker("bench")
    await broker.connect()
    for _ in range(n):
        broker.publish_nowait("bench", BODY)
    consumer: Consumer[bytes] = Consumer(
        name="bench",
        broker=broker,
        source="bench",
        handler=handler,
        concurrency=concurrency,
        timeout=30.0,
    )
    app = Application(
        name="bench", brokers=[broker], consumers=[consumer], handle_signals=False
    )
    serving = asyncio.create_task(app.serve())
    t0 = time.perf_counter()
    await app.wait_started()
    while consumer.stats.acked < n:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - t0
    app.shutdown()
    await serving
    return n / elapsed


async def baseline_side(n: int, concurrency: int, *, timeouts: bool = True) -> float:
    """A hand-written consumer: queue of deliveries, fixed worker pool, ack = forget.

    With ``timeouts`` each handler runs under ``asyncio.timeout`` as a careful hand
    loop would; without, it has no per-message budget at all (less work than the
    runtime does, shown as a floor).
    """
    source: collections.deque[tuple[int, bytes]] = collections.deque(
        (i, BODY) for i in range(n)
    )
    unacked: dict[int, bytes] = {}
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    done = asyncio.Event()
    acked = 0
    free = concurrency
    freed = asyncio.Event()

    async def fetcher() -> None:
        nonlocal free
        while source:
            if free == 0:
                freed.clear()
                await freed.wait()
                continue
            take = min(free, len(source))
            for _ in range(take):
                item = source.popleft()
                unacked[item[0]] = item[1]
                queue.put_nowait(item)
            free -= take
            await asyncio.sleep(0)

    async def worker() -> None:
        nonlocal acked, free
        while True:
            msg_id, body = await queue.get()
            try:
                if timeouts:
                    async with asyncio.timeout(30.0):
                        await handler(body, None)  # type: ignore[arg-type]
                else:
                    await handler(body, None)  # type: ignore[arg-type]
            except Exception:
                pass
            del unacked[msg_id]
            acked += 1
            free += 1
            freed.set()
            if acked == n:
                done.set()

    t0 = time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    fetch = asyncio.create_task(fetcher())
    await done.wait()
    elapsed = time.perf_counter() - t0
    for t in [*tasks, fetch]:
        t.cancel()
    await asyncio.gather(*tasks, fetch, return_exceptions=True)
    return n / elapsed


async def measure(n: int, rounds: int) -> list[tuple[int, float, float, float]]:
    rows = []
    for concurrency in (1, 64):
        rts, bases, bare = [], [], []
        for _ in range(rounds):  # interleaved, so all sides see the same machine load
            rts.append(await runtime_side(n, concurrency))
            bases.append(await baseline_side(n, concurrency))
            bare.append(await baseline_side(n, concurrency, timeouts=False))
        rows.append((concurrency, max(rts), max(bases), max(bare)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = asyncio.run(measure(args.messages, args.rounds))
    print(
        "| concurrency | runtime msg/s | hand loop msg/s | ratio "
        "| hand loop without timeouts | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for concurrency, rt, base, bare in rows:
        print(
            f"| {concurrency} | {rt:,.0f} | {base:,.0f} | {rt / base:.2f} "
            f"| {bare:,.0f} | {rt / bare:.2f} |"
        )


if __name__ == "__main__":
    main()
