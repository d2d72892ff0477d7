"""The cost of effects exactly once: one consumer plain, with dedupe, and with dedupe
plus an outbox publish per message, side by side on each broker in one run.

    python benchmarks/effects.py [--messages 5000] [--concurrency 64]
        [--brokers kafka,redis] [--rounds 3] [--quick]

For every broker, round and variant (the variants interleaved within a round): a
fresh source and target, a service generated with ``svcgen new`` + ``generate`` (the
service of ``tests/effects_faults/service.py``, without its downstream consumer), a
fresh schema in the ``test`` database for its tables. The consumer's handler inserts
one row per message into a table in every variant (the work a handler with effects
does); ``dedupe`` runs it in one transaction with the key's record (``body:id``);
``outbox`` also publishes the message through an outbox publisher in that
transaction, and the relay sends it on. One ``python -m <service>`` process is
started and ready, SIGSTOPped; ``--messages`` messages are published, and the process
SIGCONTed. Timed from the SIGCONT to the last row committed (msg/s; the best of the
rounds per cell) and, for ``outbox``, to the last outbox row marked sent (relayed
msg/s). ``--quick``: 1,000 messages, one round. Needs the servers on loopback
(``scripts/services-up``) and PostgreSQL; MQTT runs on a private Mosquitto whose queue
limit is above the backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*

from svcgen_runtime.brokers.base import SubscriptionSpec
from tests.contract.harness import unique
from tests.effects_faults.service import Service, Variant, generate
from tests.faults.servers import MqttServer
from tests.replicas.kinds import KINDS, Target, target

READY_WAIT = 90.0
DRAIN_WAIT = 300.0
VARIANTS: tuple[Variant, ...] = get_args(Variant)


@dataclass
class Cell:
    kind: str
    variant: Variant
    rate: float
    seconds: float
    relayed: float | None
    """Messages per second until the last outbox row was sent (``outbox`` only)."""


async def publish(t: Target, count: int) -> None:
    broker = t.publisher()
    await broker.connect()
    try:
        await broker.publish(t.source, json.dumps({"id": 0}).encode())
        for start in range(1, count, 50):
            await asyncio.gather(
                *(
                    broker.publish(t.source, json.dumps({"id": n}).encode())
                    for n in range(start, min(start + 50, count))
                )
            )
    finally:
        await broker.close()


async def out_target(t: Target) -> str:
    """A fresh target for the outbox publisher, cleaned up with ``t``. RabbitMQ and
    NATS refuse a publish no queue or stream takes: a subscription declares it."""
    if t.harness is None:
        return f"svcgen-test/{unique('effects-out')}"
    name = t.harness.source("effects-out")
    if t.kind in ("rabbitmq", "nats"):
        broker = t.publisher()
        await broker.connect()
        try:
            spec = SubscriptionSpec(consumer="declare", source=name, group=unique("g"))
            await (await broker.subscribe(spec)).close()
        finally:
            await broker.close()
    return name


async def one(
    kind: str, variant: Variant, messages: int, concurrency: int, tmp: Path, mqtt: str
) -> Cell:
    t = target(kind, mqtt if kind == "mqtt" else None)
    svc: Service | None = None
    try:
        out = await out_target(t)
        home = tmp / f"{kind}-{variant}-{time.monotonic_ns()}"
        home.mkdir()
        svc = generate(
            home,
            kind=kind,
            url=t.url,
            source=t.source,
            target=out,
            variant=variant,
            concurrency=concurrency,
            downstream=False,
        )
        db = svc.database
        await db.create()
        svc.start()
        await svc.wait_started(READY_WAIT)
        await asyncio.sleep(1.0)  # Kafka: the group's join has settled
        svc.current.proc.send_signal(signal.SIGSTOP)
        await publish(t, messages)
        began = time.monotonic()
        svc.current.proc.send_signal(signal.SIGCONT)

        async def consumed() -> bool:
            return int(await db.value("SELECT count(*) FROM {s}.items")) >= messages

        await svc.until(f"{messages} rows", consumed, DRAIN_WAIT)
        seconds = time.monotonic() - began
        relayed = None
        if variant == "outbox":

            async def sent() -> bool:
                return (
                    int(await db.value("SELECT count(sent_at) FROM {s}.outbox"))
                    >= messages
                )

            await svc.until(f"{messages} outbox rows sent", sent, DRAIN_WAIT)
            relayed = messages / (time.monotonic() - began)
        code = await svc.stop(signal.SIGTERM, 30)
        if code != 0:
            raise AssertionError(
                f"{kind} {variant}: exit {code}\n{svc.current.stderr()}"
            )
        return Cell(kind, variant, messages / seconds, seconds, relayed)
    finally:
        if svc is not None:
            svc.kill_all()
            await svc.database.drop()
        await t.cleanup()


async def measure(
    kinds: list[str], messages: int, concurrency: int, rounds: int
) -> list[Cell]:
    cells: list[Cell] = []
    with tempfile.TemporaryDirectory(prefix="svcgen-effects-") as tmp_dir:
        tmp = Path(tmp_dir)
        mqtt: MqttServer | None = None
        try:
            if "mqtt" in kinds:
                mqtt = MqttServer(tmp / "mosquitto")
                mqtt.start()
            for kind in kinds:
                best: dict[Variant, Cell] = {}
                for _ in range(rounds):
                    for variant in VARIANTS:
                        cell = await one(
                            kind,
                            variant,
                            messages,
                            concurrency,
                            tmp,
                            mqtt.url if mqtt else "",
                        )
                        print(
                            f"{kind} {variant}: {cell.rate:,.0f} msg/s "
                            f"({cell.seconds:.2f}s)"
                            + (
                                f", relayed {cell.relayed:,.0f} msg/s"
                                if cell.relayed
                                else ""
                            ),
                            file=sys.stderr,
                        )
                        if variant not in best or cell.rate > best[variant].rate:
                            best[variant] = cell
                cells.extend(best[v] for v in VARIANTS)
        finally:
            if mqtt is not None:
                mqtt.stop()
    return cells


def table(cells: list[Cell]) -> str:
    rate = {(c.kind, c.variant): c.rate for c in cells}
    lines = [
        "| broker | plain msg/s | dedupe msg/s | vs plain "
        "| dedupe + outbox msg/s | vs plain | relayed msg/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in dict.fromkeys(c.kind for c in cells):
        plain = rate[(kind, "plain")]
        dedupe = rate[(kind, "dedupe")]
        outbox = next(c for c in cells if c.kind == kind and c.variant == "outbox")
        relayed = "-" if outbox.relayed is None else f"{outbox.relayed:,.0f}"
        lines.append(
            f"| {kind} | {plain:,.0f} | {dedupe:,.0f} | {dedupe / plain:.2f} "
            f"| {outbox.rate:,.0f} | {outbox.rate / plain:.2f} | {relayed} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--brokers", default=",".join(KINDS))
    parser.add_argument("--rounds", type=int, default=3, help="best of N per cell")
    parser.add_argument(
        "--quick", action="store_true", help="1,000 messages, one round"
    )
    args = parser.parse_args()
    messages, rounds = (1_000, 1) if args.quick else (args.messages, args.rounds)
    cells = asyncio.run(
        measure(args.brokers.split(","), messages, args.concurrency, rounds)
    )
    print(table(cells))


if __name__ == "__main__":
    main()
