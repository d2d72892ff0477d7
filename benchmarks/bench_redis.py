"""Redis Streams throughput: Consumer+Application over RedisBroker vs a raw redis-py loop.

Both sides pre-load ``n`` ~100-byte JSON entries into a fresh stream, then read them
through a consumer group with ``COUNT concurrency``, ``json.loads`` each body and
acknowledge each entry, coalescing the XACKs of one batch into one XACK pipelined
with the next read (what the adapter does). Only the consume phase is timed.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any, Final

from redis.asyncio import Redis

from svcgen_runtime import Application, Consumer, InboundMessage
from svcgen_runtime.brokers.redis import DELAYED_SUFFIX, RedisBroker

URL: Final = "redis://127.0.0.1:6379/0"
GROUP: Final = "bench"


def _body(i: int) -> bytes:
    doc = {"id": i, "kind": "order.created", "sku": f"SKU-{i % 997:05d}", "qty": 1}
    raw = json.dumps(doc).encode()
    pad = max(0, 100 - len(raw) - 10)
    doc["pad"] = "x" * pad
    return json.dumps(doc).encode()


async def _preload(client: Redis, source: str, n: int) -> None:
    for start in range(0, n, 1000):
        async with client.pipeline(transaction=False) as pipe:
            for i in range(start, min(start + 1000, n)):
                pipe.xadd(source, {"body": _body(i)})
            await pipe.execute()


async def _runtime(client: Redis, n: int, concurrency: int) -> tuple[float, float]:
    source = f"svcgen-bench.runtime-{secrets.token_hex(6)}"
    await _preload(client, source, n)
    broker = RedisBroker("bench", URL)
    handled = 0
    done = asyncio.Event()

    async def handle(payload: Any, msg: InboundMessage) -> None:
        nonlocal handled
        handled += 1
        if handled == n:
            done.set()

    consumer: Consumer[Any] = Consumer(
        name="bench",
        broker=broker,
        source=source,
        group=GROUP,
        handler=handle,
        decode=json.loads,
        concurrency=concurrency,
    )
    app = Application(
        name="bench", brokers=[broker], consumers=[consumer], handle_signals=False
    )
    try:
        started, cpu = time.perf_counter(), time.process_time()
        task = asyncio.create_task(app.serve())
        await done.wait()
        app.shutdown()  # the drain and close flush the last XACKs: timed too
        code = await task
        took = time.perf_counter() - started
        cpu = time.process_time() - cpu
        assert code == 0, code
        assert consumer.stats.acked == n
        pending = await client.xpending(source, GROUP)
        assert pending["pending"] == 0, pending
    finally:
        await client.delete(source, source + DELAYED_SUFFIX, source + ".dlq")
    return n / took, cpu / n * 1e6


async def _raw(  # noqa: C901 - one loop, written out as a person would
    client: Redis, n: int, concurrency: int, *, pool: bool, timeouts: bool = True
) -> tuple[float, float]:
    """The hand-written loop; ``pool`` runs handlers on ``concurrency`` worker
    coroutines fed by one reader (the runtime's shape), else in-line in the reader."""
    source = f"svcgen-bench.raw-{secrets.token_hex(6)}"
    await _preload(client, source, n)
    acks: list[bytes] = []
    handled = 0
    free = concurrency
    freed = asyncio.Event()
    done = asyncio.Event()
    queue: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue()

    async def handle(payload: Any) -> None:
        return None

    def settle(entry_id: bytes) -> None:
        nonlocal handled
        acks.append(entry_id)
        handled += 1
        if handled == n:
            done.set()

    async def worker() -> None:
        nonlocal free
        while True:
            entry_id, body = await queue.get()
            if timeouts:
                async with asyncio.timeout(30.0):
                    await handle(json.loads(body))
            else:
                await handle(json.loads(body))
            settle(entry_id)
            free += 1
            freed.set()

    async def reader() -> None:
        nonlocal acks, free
        fetched = 0
        while fetched < n:  # a read past the end would block: stop at n
            if free == 0:
                freed.clear()
                await freed.wait()
                continue
            batch, acks = acks, []
            entries = await _read(client, source, batch, min(free, n - fetched))
            fetched += len(entries)
            for entry_id, fields in entries:
                if pool:
                    free -= 1
                    queue.put_nowait((entry_id, fields[b"body"]))
                else:
                    await handle(json.loads(fields[b"body"]))
                    settle(entry_id)

    try:
        started, cpu = time.perf_counter(), time.process_time()
        await client.xgroup_create(source, GROUP, "0", mkstream=True)
        workers = [
            asyncio.create_task(worker()) for _ in range(concurrency if pool else 0)
        ]
        read_task = asyncio.create_task(reader())
        await read_task
        await done.wait()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if acks:
            await _command(client, "XACK", source, GROUP, *acks)
        took = time.perf_counter() - started
        cpu = time.process_time() - cpu
        pending = await client.xpending(source, GROUP)
        assert pending["pending"] == 0, pending
    finally:
        await client.delete(source)
    return n / took, cpu / n * 1e6


async def _read(
    client: Redis, source: str, acks: list[bytes], count: int
) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """One XREADGROUP of up to ``count`` new entries, pipelined after the XACK of
    ``acks`` when there are any."""
    read = ["XREADGROUP", "GROUP", GROUP, "raw", "COUNT", count]
    read += ["BLOCK", 1000, "STREAMS", source, ">"]
    if acks:
        async with client.pipeline(transaction=False) as pipe:
            pipe.execute_command("XACK", source, GROUP, *acks)
            pipe.execute_command(*read)
            _, reply = await pipe.execute()
    else:
        reply = await _command(client, *read)
    return list(reply[0][1]) if reply else []


async def _command(client: Redis, *args: Any) -> Any:
    return await client.execute_command(*args)  # type: ignore[no-untyped-call]


async def run(n: int, concurrency: int, *, rounds: int = 1) -> dict[str, float]:
    """Messages per second through the runtime and through the raw client loop.

    ``raw`` is the raw loop in the runtime's shape (one reader, ``concurrency``
    handler coroutines); ``raw_inline`` handles each batch in the reader itself.
    With ``rounds`` > 1 the sides run interleaved and each keeps its best round,
    so both see the same machine load. ``<side>_cpu_us`` is this process's CPU time
    per message in that round: steadier than rates on a loaded machine.
    """
    client = Redis.from_url(URL, protocol=2)  # as RedisBroker's clients
    best = {"runtime": 0.0, "raw": 0.0, "raw_bare": 0.0, "raw_inline": 0.0}
    try:
        for _ in range(rounds):
            for side, (rate, cpu_us) in (
                ("raw", await _raw(client, n, concurrency, pool=True)),
                ("runtime", await _runtime(client, n, concurrency)),
                (
                    "raw_bare",
                    await _raw(client, n, concurrency, pool=True, timeouts=False),
                ),
                ("raw_inline", await _raw(client, n, concurrency, pool=False)),
            ):
                if rate > best[side]:
                    best[side] = rate
                    best[f"{side}_cpu_us"] = cpu_us
    finally:
        await client.aclose()
    return best


if __name__ == "__main__":
    result = asyncio.run(run(50_000, 64, rounds=3))
    print(
        f"redis n=50000 concurrency=64: runtime {result['runtime']:.0f} msg/s, "
        f"raw {result['raw']:.0f} msg/s, ratio {result['runtime'] / result['raw']:.2f} "
        f"(raw loop handling in-line, no worker pool: {result['raw_inline']:.0f} msg/s, "
        f"ratio {result['runtime'] / result['raw_inline']:.2f}); client CPU per "
        f"message: runtime {result['runtime_cpu_us']:.1f} us, raw "
        f"{result['raw_cpu_us']:.1f} us, in-line {result['raw_inline_cpu_us']:.1f} us"
    )
