"""Effects exactly once under faults, on each real broker (a private server per kind).

A generated service (``service.py``): the dedupe consumer ``work`` inserts one row per
message into ``items`` and publishes the message through the outbox publisher
``shipped``; the consumer ``downstream`` (dedupe on ``svcgen-message-id``) inserts one
row per published message into ``downstream``. While one ``python -m <service>``
process at a time works through a backlog of ``MESSAGES``, the test SIGKILLs it
``KILLS`` times, each once ``KILL_EVERY`` more rows are committed (handlers and
transactions are in flight), SIGKILLs it once more at a moment when outbox rows are
committed but not yet published (checked with the process gone), then cuts its
broker connections from the server side while work is left. Then, counted by id in
the database: every message has exactly one row (0 missing, 0 doubled), every
message was published through the outbox and its downstream effect ran exactly
once. Redeliveries and republishes do happen (the kills cause them); the runtime's
log line for each delivery a dedupe consumer acked without running its handler
says how many were removed. The figures are printed (``-s``) and written to
``effects-faults-<kind>.json`` in the test's tmp directory. Kafka runs on a Tansu
storing in memory (``conftest.py`` says why).
"""

from __future__ import annotations

import asyncio
import collections
import json
import secrets
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest

from svcgen.kinds import BROKERS
from tests.faults.servers import PrivateServer
from tests.faults.test_faults import make_broker

from .service import Service, generate

KINDS: Final = [k.name for k in BROKERS.values() if not k.in_process]
MESSAGES: Final = 1_200
KILL_EVERY: Final = 150
"""Rows committed between two SIGKILLs."""
KILLS: Final = 5
CONCURRENCY: Final = 16
WAIT: Final = 60.0
"""Seconds any one step may take."""
UNSENT_TRIES: Final = 5
"""SIGKILLs at most to leave committed outbox rows unsent."""
OPTIONS: Final[dict[str, dict[str, str]]] = {
    # A killed process's Kafka partitions move on within about a second (Tansu
    # waits out the dead member's session: 3 s made each restart cost 7 s), NATS
    # and Redis hand its unacknowledged messages to the next process after 3 s
    # (defaults: 10 s, 30 s, 30 s); RabbitMQ and MQTT redeliver when the
    # connection drops.
    "kafka": {"session_timeout": "1s"},
    "nats": {"ack_wait": "3s"},
    "redis": {"claim_idle": "3s"},
}


async def publish_backlog(kind: str, url: str, source: str) -> None:
    broker = make_broker(kind, url)
    await broker.connect()
    try:
        # One first, alone (a new Kafka topic is declared once).
        await broker.publish(source, json.dumps({"id": 0}).encode())
        for start in range(1, MESSAGES, 50):
            await asyncio.gather(
                *(
                    broker.publish(source, json.dumps({"id": n}).encode())
                    for n in range(start, min(start + 50, MESSAGES))
                )
            )
    finally:
        await broker.close()


class Scenario:
    """The steps of one broker's run, and the counts it reads on the way."""

    def __init__(
        self, service: Service, server: PrivateServer, kind: str, source: str
    ) -> None:
        self.service = service
        self.server = server
        self.kind = kind
        self.source = source
        self.progress: dict[str, int] = {}
        """The last counts ``done`` saw."""
        self.db = service.database

    async def items(self) -> int:
        return int(await self.db.value("SELECT count(*) FROM {s}.items"))

    async def unsent(self) -> int:
        return int(
            await self.db.value("SELECT count(*) FROM {s}.outbox WHERE sent_at IS NULL")
        )

    async def wait_items(self, count: int) -> None:
        async def enough() -> bool:
            return await self.items() >= count

        await self.service.until(f"{count} rows", enough, WAIT)

    async def restart_after(self, sig: int) -> int:
        code = await self.service.stop(sig, WAIT)
        self.service.start()
        await self.service.wait_started(WAIT)
        return code

    async def done(self) -> bool:
        row = (
            await self.db.rows(
                "SELECT (SELECT count(DISTINCT id) FROM {s}.items) AS items, "
                "(SELECT count(DISTINCT id) FROM {s}.downstream) AS downstream, "
                "(SELECT count(*) FROM {s}.outbox WHERE sent_at IS NULL) AS unsent"
            )
        )[0]
        self.progress = dict(row)
        return bool(
            row["items"] >= MESSAGES
            and row["downstream"] >= MESSAGES
            and row["unsent"] == 0
        )

    async def run(self) -> dict[str, Any]:
        service = self.service
        report: dict[str, Any] = {"messages": MESSAGES}
        # A first run declares the topology and the effects tables, and stops; the
        # backlog is published while no one consumes it.
        service.start()
        await service.wait_started(WAIT)
        assert await service.stop(signal.SIGTERM, WAIT) == 0, service.current.stderr()
        await publish_backlog(self.kind, service.url, self.source)
        service.start()
        await service.wait_started(WAIT)

        for n in range(1, KILLS + 1):
            await self.wait_items(n * KILL_EVERY)
            assert await self.restart_after(signal.SIGKILL) == -signal.SIGKILL

        # Committed but not published: SIGKILL as soon as the relay is behind, and
        # check, with the process gone, that rows were left unsent (else the relay
        # caught up in between: try again).
        async def behind() -> bool:
            return await self.unsent() > 0

        for attempt in range(1, UNSENT_TRIES + 1):
            await service.until("an unsent outbox row", behind, WAIT)
            assert await service.stop(signal.SIGKILL, WAIT) == -signal.SIGKILL
            left = await self.unsent()
            service.start()
            await service.wait_started(WAIT)
            if left > 0:
                report.update(unsent_at_kill=left, unsent_kill_tries=attempt)
                break
        else:
            report.update(unsent_at_kill=0, unsent_kill_tries=UNSENT_TRIES)

        await self.wait_items((KILLS + 1) * KILL_EVERY)
        # The cut lands while there is work left (rows, relay or downstream).
        report["work_left_at_cut"] = not await self.done()
        report["at_cut"] = self.progress
        report["connections_cut"] = await self.server.cut()

        try:
            await service.until("every effect", self.done, WAIT)
        except AssertionError as exc:
            raise AssertionError(f"{self.progress} (distinct ids)\n{exc}") from None
        report["drain_exit"] = await service.stop(signal.SIGTERM, WAIT)
        return report


async def scenario(kind: str, server: PrivateServer, tmp: Path) -> dict[str, Any]:
    suffix = secrets.token_hex(4)
    source, target = f"efx-{suffix}.jobs", f"efx-{suffix}.shipped"
    if kind == "mqtt":
        source, target = f"efx-{suffix}/jobs", f"efx-{suffix}/shipped"
    service = generate(
        tmp,
        kind=kind,
        url=server.url,
        source=source,
        target=target,
        variant="outbox",
        concurrency=CONCURRENCY,
        options=OPTIONS.get(kind),
    )
    service.log_skips = True
    steps = Scenario(service, server, kind, source)
    try:
        await service.database.create()
        report = await steps.run()
        db = service.database
        items = collections.Counter(
            r["id"] for r in await db.rows("SELECT id FROM {s}.items")
        )
        downstream = collections.Counter(
            r["id"] for r in await db.rows("SELECT id FROM {s}.downstream")
        )
        outbox = await db.rows(
            "SELECT count(*) AS rows, count(sent_at) AS sent FROM {s}.outbox"
        )
        everything = set(range(MESSAGES))
        report.update(
            kind=kind,
            runs=len(service.runs),
            missing=len(everything - set(items)),
            doubled=sum(c - 1 for c in items.values()),
            outbox_rows=outbox[0]["rows"],
            outbox_sent=outbox[0]["sent"],
            downstream_missing=len(everything - set(downstream)),
            downstream_doubled=sum(c - 1 for c in downstream.values()),
            downstream_message_ids=len(
                {
                    r["message_id"]
                    for r in await db.rows("SELECT message_id FROM {s}.downstream")
                }
            ),
            dedupe_skipped=dict(
                sum((run.skipped() for run in service.runs), collections.Counter())
            ),
        )
        return report
    finally:
        service.kill_all()
        await service.database.drop()


@pytest.mark.broker
@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.xdist_group("heavy")
@pytest.mark.parametrize("kind", KINDS)
def test_effects_happen_exactly_once_under_faults(
    kind: str,
    private_servers: Callable[[str], PrivateServer],
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    server = private_servers(kind)
    report = asyncio.run(scenario(kind, server, tmp_path))
    report["seconds"] = round(time.monotonic() - began, 1)
    print(f"\neffects faults {kind}: {json.dumps(report)}")
    (tmp_path.parent / f"effects-faults-{kind}.json").write_text(json.dumps(report))
    assert report["missing"] == 0, report
    assert report["doubled"] == 0, report
    assert report["outbox_rows"] == MESSAGES, report
    assert report["outbox_sent"] == MESSAGES, report
    assert report["downstream_missing"] == 0, report
    assert report["downstream_doubled"] == 0, report
    assert report["downstream_message_ids"] == MESSAGES, report
    assert report["unsent_at_kill"] > 0, report
    assert report["work_left_at_cut"], report
    assert report["drain_exit"] == 0, report
