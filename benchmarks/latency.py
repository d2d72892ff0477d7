"""Publish → handler start latency at a steady rate: the runtime against the raw client.

    bash scripts/services-up && .venv/bin/python -m benchmarks.latency \
        [--brokers kafka,rabbitmq,nats,redis,mqtt] [--rate 1000] [--seconds 10] [--rounds 1]

Issue 15's point 2: at a steady ``--rate`` msg/s for ``--seconds`` (after one more
second of warm-up, dropped) on each broker, p50 / p99 / p99.9 / max of the time from
the send to the handler's first line, through the runtime and through a raw loop on
the same client library, in one run; the goal is runtime p99 ≤ raw p99 + 0.5 ms.

The publisher is a separate process (``benchmarks/latency_publish.py``, started once
the consumer side is ready, paced with absolute deadlines) so it never shares the
consumer's event loop; each body carries its ``time.monotonic_ns()`` send time and the
handler subtracts it from its own (one clock for the machine on Linux). The runtime
side is wired as a generated service wires a consumer: the broker class, a
``Consumer`` with the spec's defaults (concurrency 1, timeout 30 s, the default retry
and dead-letter settings, no options), an ``Application``; the payload is the raw
bytes (``decode=None``, as for a consumer without a message schema). The raw side is
``benchmarks/latency_raw.py``: one message at a time, acknowledged after its handler.
Each side gets a fresh source and group. The order of the two sides alternates from
one broker to the next and from one round to the next; with ``--rounds`` above 1 each
side's samples of every round are pooled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import sys
import time
from argparse import SUPPRESS
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import kafka_fetch_trace
from benchmarks.cores import Cores
from benchmarks.latency_publish import URLS, parse
from benchmarks.latency_raw import KAFKA_FETCH_MAX_WAIT_MS, KAFKA_RETRY_MEMBER, RawSide
from benchmarks.resample import interval, rank

ROOT: Final = Path(__file__).resolve().parents[1]
KINDS: Final = ("kafka", "rabbitmq", "nats", "redis", "mqtt")
GOAL_MS: Final = 0.5
"""Issue 15: runtime p99 may exceed raw p99 by at most this much."""
DRAIN: Final = 5.0
"""Seconds to wait for stragglers once the publisher is done."""


@dataclass
class Samples:
    """Latencies in ns of the messages after the warm-up, and the count."""

    latencies: list[int] = field(default_factory=list)
    received: int = 0
    duplicates: int = 0
    seen: set[int] = field(default_factory=set)

    def percentile(self, q: float) -> float:
        """The ``q`` quantile in ms (nearest rank)."""
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[rank(len(ordered), q)] / 1e6


def _recorder(samples: Samples, warmup: int) -> Any:
    async def record(body: bytes) -> None:
        now = time.monotonic_ns()
        sent, seq = parse(body)
        samples.received += 1
        if seq in samples.seen:
            samples.duplicates += 1
            return
        samples.seen.add(seq)
        if seq >= warmup:
            samples.latencies.append(now - sent)

    return record


def _timed(record: Any, starts: list[tuple[float, float]]) -> Any:
    """``record``, noting when each handler started and when its message was sent
    (monotonic seconds, ``--kafka-fetch-trace``)."""

    async def timed(body: bytes) -> None:
        starts.append((time.monotonic(), parse(body)[0] / 1e9))
        await record(body)

    return timed


def _burned(record: Any, micros: float) -> Any:
    """``record`` after spinning the CPU for ``micros`` µs (``--raw-burn-us``)."""

    async def burned(body: bytes) -> None:
        until = time.perf_counter() + micros / 1e6
        while time.perf_counter() < until:
            pass
        await record(body)

    return burned


def _source(kind: str, side: str) -> str:
    tag = secrets.token_hex(4)
    if kind == "mqtt":
        return f"svcgen-latency/{side}-{tag}"
    if kind == "kafka":
        return f"latency-{side}-{tag}"
    return f"svcgen-latency.{side}-{tag}"


def _runtime_broker(kind: str) -> Any:
    if kind == "kafka":
        from svcgen_runtime.brokers.kafka import KafkaBroker

        return KafkaBroker(
            "bench", URLS[kind], fetch_max_wait_ms=KAFKA_FETCH_MAX_WAIT_MS[0]
        )
    if kind == "rabbitmq":
        from svcgen_runtime.brokers.rabbitmq import RabbitMQBroker

        return RabbitMQBroker("bench", URLS[kind])
    if kind == "nats":
        from svcgen_runtime.brokers.nats import NatsBroker

        return NatsBroker("bench", URLS[kind])
    if kind == "redis":
        from svcgen_runtime.brokers.redis import RedisBroker

        return RedisBroker("bench", URLS[kind])
    from svcgen_runtime.brokers.mqtt import MqttBroker

    return MqttBroker("bench", URLS[kind])


class RuntimeSide:
    """Application + Consumer (the spec's defaults) + the kind's broker class."""

    def __init__(self, kind: str, record: Any) -> None:
        self.kind = kind
        self.record = record
        self.task: asyncio.Task[int] | None = None

    async def start(self, source: str) -> None:
        from svcgen_runtime import Application, Consumer, InboundMessage

        async def handle(payload: bytes, msg: InboundMessage) -> None:
            await self.record(payload)

        self.broker = _runtime_broker(self.kind)
        self.consumer: Consumer[bytes] = Consumer(
            name="latency", broker=self.broker, source=source, handler=handle
        )
        self.app = Application(
            name="latency",
            brokers=[self.broker],
            consumers=[self.consumer],
            handle_signals=False,
        )
        self.source = source
        self.task = asyncio.create_task(self.app.serve())
        while not self.app.ready:
            if self.task.done():
                raise RuntimeError(f"the runtime side stopped ({self.task.result()})")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.app.shutdown()
        if self.task is not None:
            await self.task
        await _cleanup_runtime(self.kind, self.source)


async def _cleanup_runtime(kind: str, source: str) -> None:
    """Remove the sources the runtime side's adapter created (retry, dead letter)."""
    try:
        if kind == "redis":
            from redis.asyncio import Redis

            from svcgen_runtime.brokers.redis import DELAYED_SUFFIX

            client = Redis.from_url(URLS[kind])
            await client.delete(source, source + DELAYED_SUFFIX, source + ".dlq")
            await client.aclose()
        elif kind == "nats":
            import nats

            nc = await nats.connect(URLS[kind])
            js = nc.jetstream()
            for subject in (source, source + ".dlq"):
                try:
                    await js.delete_stream(
                        await js.find_stream_name_by_subject(subject)
                    )
                except nats.js.errors.NotFoundError:
                    pass
            await nc.close()
        elif kind == "kafka":
            from aiokafka.admin import AIOKafkaAdminClient

            admin = AIOKafkaAdminClient(bootstrap_servers=URLS[kind])
            await admin.start()
            await admin.delete_topics([source, f"{source}.retry", f"{source}.dlq"])
            await admin.close()
        elif kind == "rabbitmq":
            import aio_pika

            connection = await aio_pika.connect(URLS[kind])
            channel = await connection.channel()
            for queue in (source, f"{source}.dlq"):
                await channel.queue_delete(queue)
            await connection.close()
        elif kind == "mqtt":
            from svcgen_runtime.brokers.mqtt.client_ids import clear_session

            # the session of the shared subscription and of the dead-letter client
            for cid in _mqtt_client_ids:
                await clear_session(URLS[kind], cid)
    except Exception as exc:  # a leftover source is not a failed measurement
        print(f"  (could not remove {source}: {exc!r})", file=sys.stderr)


_mqtt_client_ids: list[str] = []
KAFKA_TRACE: list[bool] = [False]
"""``--kafka-fetch-trace``: report each Kafka side's fetch requests."""
OWN_CORE: list[bool] = [False]
"""``--own-core``: this process on a CPU of its own, the broker and publisher on the rest."""
CORES: list[Cores] = []
"""The pinning in force while one broker's rounds run."""
SAVE: list[Path] = []
"""``--save PATH``: ``{broker: {side: [[ns, …] per round]}}``, added to what is there."""
TRACED: dict[str, list[dict[str, Any]]] = {"raw": [], "runtime": []}
"""With ``--save`` and ``--kafka-fetch-trace``: per side, per round, the fetch requests
(sent, answered) and the handler starts (started, sent), monotonic seconds."""
RAW_BURN_US: list[float] = [0.0]
"""``--raw-burn-us``: CPU the raw side's handler spends per message besides its work."""
PAIRED: set[str] = set()
"""The kinds whose two sides run at the same time on one source (``--kafka-paired``)."""


async def one_side(
    kind: str, side: str, rate: float, seconds: float
) -> tuple[Samples, int, float]:
    """Run one side: (samples, messages published, publisher's worst lateness ms)."""
    samples = Samples()
    source = _source(kind, side)
    runner = _runner(kind, side, source, samples, rate)
    await runner.start(source)
    if isinstance(runner, RuntimeSide) and kind == "mqtt":
        sub = runner.consumer._sub
        _mqtt_client_ids[:] = [
            getattr(sub, "client_id", ""),
            runner.broker.dead_letter_client_id("latency", f"{source}.dlq"),
        ]
    try:
        count, late = await _publish(kind, source, rate, seconds)
        await _drain(samples, count)
    finally:
        await runner.stop()
    if kind == "kafka" and KAFKA_TRACE[0]:
        _trace_summary(side, source)
    return samples, count, late


def _runner(
    kind: str, side: str, source: str, samples: Samples, rate: float
) -> RawSide | RuntimeSide:
    """One side on ``source``, its handler recording into ``samples`` after the
    first second (and noting handler starts for ``--kafka-fetch-trace``, spinning
    for ``--raw-burn-us`` on the raw side)."""
    record = _recorder(samples, int(rate))
    if kind == "kafka" and KAFKA_TRACE[0]:
        record = _timed(record, kafka_fetch_trace.handled[source])
    if side == "raw" and RAW_BURN_US[0]:
        record = _burned(record, RAW_BURN_US[0])
    return RawSide(kind, record) if side == "raw" else RuntimeSide(kind, record)


async def _publish(
    kind: str, source: str, rate: float, seconds: float
) -> tuple[int, float]:
    """Run the paced publisher (warm-up included): (messages, worst lateness ms)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.latency_publish",
        kind,
        source,
        str(rate),
        str(seconds + 1),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if CORES:
        CORES[0].publisher(proc.pid)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the publisher failed ({proc.returncode})")
    _, count, late = out.decode().split()
    return int(count), float(late)


async def _drain(samples: Samples, count: int) -> None:
    """Wait for the stragglers, at most ``DRAIN`` seconds."""
    deadline = time.monotonic() + DRAIN
    while len(samples.seen) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def _trace_summary(side: str, source: str) -> None:
    if SAVE:  # the fetch requests and handler starts, before summary forgets them
        TRACED[side].append(
            {
                "requests": kafka_fetch_trace.requests[source],
                "handled": kafka_fetch_trace.handled[source],
            }
        )
    line = kafka_fetch_trace.summary(side, source, KAFKA_FETCH_MAX_WAIT_MS[0])
    print(line, file=sys.stderr, flush=True)


# -- --kafka-paired: both Kafka sides on one topic at once ----------------------


async def paired_round(
    rate: float, seconds: float
) -> dict[str, tuple[Samples, int, float]]:
    """One Kafka round with both sides reading one topic at the same time, each in a
    process of its own (``python -m benchmarks.latency --paired-side ...``) and its
    own group: every record reaches both, so a broker stall delays both alike.

    The raw side starts first (it creates the topic), then the runtime side; once both
    can receive, the publisher runs; each side then reports its samples as one JSON
    line and stops when told (the runtime side removes the topics it used).
    """
    source = _source("kafka", "paired")
    command = [
        sys.executable,
        "-m",
        "benchmarks.latency",
        "--rate",
        str(rate),
        "--kafka-fetch-max-wait-ms",
        str(KAFKA_FETCH_MAX_WAIT_MS[0]),
        "--paired-source",
        source,
    ]
    command += ["--kafka-fetch-trace"] if KAFKA_TRACE[0] else []
    command += ["--kafka-raw-retry-member"] if KAFKA_RETRY_MEMBER[0] else []
    command += ["--raw-burn-us", str(RAW_BURN_US[0])] if RAW_BURN_US[0] else []
    procs: dict[str, asyncio.subprocess.Process] = {}
    out: dict[str, tuple[Samples, int, float]] = {}
    try:
        for side in ("raw", "runtime"):
            procs[side] = proc = await asyncio.create_subprocess_exec(
                *command,
                "--paired-side",
                side,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                limit=2**26,  # the report is one line of ~10,000 samples
            )
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 120)
            if line.strip() != b"ready":
                raise RuntimeError(f"the paired {side} side did not start")
        count, late = await _publish("kafka", source, rate, seconds)
        for proc in procs.values():
            assert proc.stdin is not None
            proc.stdin.write(b"%d\n" % count)
            await proc.stdin.drain()
        for side, proc in procs.items():
            assert proc.stdout is not None
            report = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
            samples = Samples(
                report["latencies"],
                report["received"],
                report["duplicates"],
                set(report["seen"]),
            )
            out[side] = samples, count, late
    finally:
        # The runtime side first: it commits as it stops, then removes the topics.
        for proc in reversed(procs.values()):
            if proc.returncode is None and proc.stdin is not None:
                proc.stdin.write(b"stop\n")
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
    return out


async def paired_side(side: str, source: str, rate: float) -> None:
    """The child of ``paired_round``: one side on ``source`` (see there)."""
    samples = Samples()
    runner = _runner("kafka", side, source, samples, rate)
    await runner.start(source)
    loop = asyncio.get_running_loop()
    try:
        print("ready", flush=True)
        count = int(await loop.run_in_executor(None, sys.stdin.readline))
        await _drain(samples, count)
        if KAFKA_TRACE[0]:
            _trace_summary(side, source)
        report = {
            "latencies": samples.latencies,
            "received": samples.received,
            "duplicates": samples.duplicates,
            "seen": sorted(samples.seen),
        }
        print(json.dumps(report), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
    finally:
        await runner.stop()


def _row(kind: str, side: str, s: Samples, published: int) -> str:
    return (
        f"| {kind} | {side} | {len(s.latencies):,} | {published - len(s.seen)} "
        f"| {s.percentile(0.5):.2f} | {s.percentile(0.99):.2f} "
        f"| {s.percentile(0.999):.2f} | {s.percentile(1.0):.2f} |"
    )


async def measure(kinds: list[str], rate: float, seconds: float, rounds: int) -> None:
    rows: list[str] = []
    verdicts: list[str] = []
    flip = 0
    for kind in kinds:
        if OWN_CORE[0]:
            CORES[:] = [Cores(URLS[kind])]
            CORES[0].apply()
            print(CORES[0].describe(), file=sys.stderr, flush=True)
        try:
            flip = await _kind_rounds(kind, rounds, rate, seconds, flip, rows, verdicts)
        finally:
            if CORES:
                CORES.pop().restore()
    together = f"; {', '.join(sorted(PAIRED))} sides paired" if PAIRED else ""
    pinned = "; the consumer on a core of its own (--own-core)" if OWN_CORE[0] else ""
    print(
        f"\nlatency at {rate:,.0f} msg/s for {seconds:g} s after a 1 s warm-up, "
        f"{rounds} round(s){together}{pinned}; load average {os.getloadavg()[0]:.2f}\n"
    )
    print("| broker | side | samples | missing | p50 ms | p99 ms | p99.9 ms | max ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(
        "\n| broker | raw p99 ms | runtime p99 ms | runtime − raw "
        "| 95% interval (rounds redrawn) | p50 ratio | p99 ratio | goal (≤ +0.5 ms) |"
    )
    print("|---|---:|---:|---:|---|---:|---:|---|")
    print("\n".join(verdicts))


async def _kind_rounds(
    kind: str,
    rounds: int,
    rate: float,
    seconds: float,
    flip: int,
    rows: list[str],
    verdicts: list[str],
) -> int:
    """The rounds of one broker, appended to ``rows`` and ``verdicts``; the next flip."""
    pooled = {"raw": Samples(), "runtime": Samples()}
    published = {"raw": 0, "runtime": 0}
    by_round: dict[str, list[list[int]]] = {"raw": [], "runtime": []}
    for _ in range(rounds):
        order = ("raw", "runtime") if flip % 2 == 0 else ("runtime", "raw")
        flip += 1
        paired = await paired_round(rate, seconds) if kind in PAIRED else {}
        for side in order:
            s, count, late = paired.get(side) or await one_side(
                kind, side, rate, seconds
            )
            print(
                f"{kind} {side}: {len(s.latencies)} samples, p50 "
                f"{s.percentile(0.5):.2f} p99 {s.percentile(0.99):.2f} p99.9 "
                f"{s.percentile(0.999):.2f} max {s.percentile(1.0):.2f} ms; "
                f"{count - len(s.seen)} missing, {s.duplicates} twice; "
                f"publisher at worst {late:.1f} ms late",
                file=sys.stderr,
                flush=True,
            )
            pooled[side].latencies += s.latencies
            by_round[side].append(s.latencies)
            pooled[side].seen |= {i + published[side] for i in s.seen}
            published[side] += count
    raw, rt = pooled["raw"], pooled["runtime"]
    rows += [_row(kind, "raw", raw, published["raw"])]
    rows += [_row(kind, "runtime", rt, published["runtime"])]
    diff = rt.percentile(0.99) - raw.percentile(0.99)
    met = "met" if diff <= GOAL_MS else "NOT met"
    spread = "-"
    if rounds >= 3:
        low, high = interval(by_round["raw"], by_round["runtime"])
        spread = f"{low / 1e6:+.2f} … {high / 1e6:+.2f}"
    verdicts.append(
        f"| {kind} | {raw.percentile(0.99):.2f} | {rt.percentile(0.99):.2f} "
        f"| {diff:+.2f} | {spread} | {rt.percentile(0.5) / raw.percentile(0.5):.2f} "
        f"| {rt.percentile(0.99) / raw.percentile(0.99):.2f} | {met} |"
    )
    if SAVE:
        saved = json.loads(SAVE[0].read_text()) if SAVE[0].exists() else {}
        traced = (
            {f"{kind} trace": dict(TRACED)} if kind == "kafka" and TRACED["raw"] else {}
        )
        SAVE[0].write_text(json.dumps({**saved, kind: by_round, **traced}))
    return flip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--brokers", default=",".join(KINDS))
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--kafka-fetch-max-wait-ms",
        type=int,
        default=500,
        help="fetch_max_wait_ms of both Kafka sides (Tansu holds a fetch that finds "
        "the partition empty for this whole wait, so it sets Kafka's latency)",
    )
    parser.add_argument(
        "--kafka-raw-retry-member",
        action="store_true",
        help="the raw Kafka side also runs an idle member on a .retry topic, as the "
        "runtime's consumer does",
    )
    parser.add_argument(
        "--kafka-fetch-trace",
        action="store_true",
        help="after each Kafka side, how many of its fetch requests the broker held "
        "for the whole fetch wait (benchmarks/kafka_fetch_trace.py)",
    )
    parser.add_argument(
        "--raw-burn-us",
        type=float,
        default=0.0,
        help="the raw side's handler also keeps the CPU busy this many µs per message "
        "(on a machine the broker shares, a consumer's CPU per message moves the "
        "broker's tail: see benchmarks/README.md)",
    )
    parser.add_argument(
        "--kafka-paired",
        action="store_true",
        help="run the two Kafka sides at the same time on one topic, each in its own "
        "process and group, so that the broker's stalls hit both alike",
    )
    parser.add_argument(
        "--own-core",
        action="store_true",
        help="pin this process (both consumer sides) to one CPU and the broker's "
        "processes and the publisher to the others, so that the consumer's CPU does "
        "not delay the broker (benchmarks/cores.py); put back afterwards",
    )
    parser.add_argument(
        "--save",
        metavar="PATH",
        help="write each side's latencies (ns) per round to PATH as JSON",
    )
    parser.add_argument("--paired-side", choices=("raw", "runtime"), help=SUPPRESS)
    parser.add_argument("--paired-source", help=SUPPRESS)
    args = parser.parse_args()
    if args.kafka_fetch_trace:
        KAFKA_TRACE[0] = True
        kafka_fetch_trace.install()
    KAFKA_FETCH_MAX_WAIT_MS[0] = args.kafka_fetch_max_wait_ms
    KAFKA_RETRY_MEMBER[0] = args.kafka_raw_retry_member
    kinds = args.brokers.split(",")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or args.rate <= 0 or args.seconds <= 0 or args.rounds < 1:
        parser.error(
            f"use --brokers from {','.join(KINDS)} and a positive --rate, --seconds "
            "and --rounds"
        )
    logging.basicConfig(level=logging.WARNING)
    RAW_BURN_US[0] = max(args.raw_burn_us, 0.0)
    if args.paired_side:
        asyncio.run(paired_side(args.paired_side, args.paired_source, args.rate))
        return
    if args.kafka_paired:
        PAIRED.add("kafka")
    OWN_CORE[0] = args.own_core
    SAVE[:] = [Path(args.save)] if args.save else []
    asyncio.run(measure(kinds, args.rate, args.seconds, args.rounds))


if __name__ == "__main__":
    main()
