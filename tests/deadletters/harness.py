"""A consumer with real dead letters on a real broker, and ``svcgen dlq`` run on it.

``Bench(kind, tmp_path)`` writes a service directory whose ``service.yaml`` names
one consumer (unique source, dead-letter destination and group on the loopback
server), and runs that consumer in an ``Application`` through the runtime's own
broker class: while ``collecting`` is False its handler rejects every message
(``Nack(requeue=False)``: a real dead letter, headers by the runtime), afterwards it
keeps what arrives (a replay, read through the runtime's subscription as the
service would read it). Nothing here is kind-specific: the broker, unique names and
cleanup come from the contract suite's ``tests/contract/harness_<kind>.py``, the URL
variable from ``svcgen.kinds``; adding a kind to ``KINDS`` is all a new kind needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from svcgen.kinds import BROKERS
from svcgen_runtime import Ack, Application, Consumer, InboundMessage, Nack, Outcome
from svcgen_runtime.brokers.base import Broker
from svcgen_runtime.deadletters import (
    DeadLetterPlace,
    DeadLetterQueue,
    open_dead_letters,
)
from svcgen_runtime.testing import run_service
from tests.contract.harness import Harness, unique

KINDS = ["kafka", "rabbitmq", "nats", "redis", "mqtt"]
"""The kinds whose dead-letter tooling these tests run against a real server."""

CONSUMER = "failing"
SVCGEN = [sys.executable, "-c", "from svcgen.cli import run; run()"]
"""The svcgen command, as the console script runs it, in this interpreter."""


def make_harness(kind: str) -> Harness:
    module = importlib.import_module(f"tests.contract.harness_{kind}")
    harness: Harness = module.Harness()
    return harness


class Bench:
    """One consumer's source and dead letters, its service.yaml, the CLI on it."""

    def __init__(
        self,
        kind: str,
        tmp_path: Path,
        *,
        spec_options: Mapping[str, Any] | None = None,
        runtime_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.kind = kind
        self.harness = make_harness(kind)
        self.source = self.harness.source("dlq")
        self.dead_letter = f"{self.source}.dlq"
        self.group = unique("dlqgroup")
        self.root = tmp_path / "svc"
        self.runtime_options = {
            **self.harness.consumer_options(),
            **(runtime_options or {}),
        }
        self.collecting = False
        self.kept: list[InboundMessage] = []
        self.app: Application | None = None
        self.consumer: Consumer[bytes] | None = None
        url = self.harness.broker().url  # type: ignore[attr-defined]
        var = BROKERS[kind].url_var
        assert var is not None
        self.env = {**os.environ, var: url}
        self.url = url
        consumer: dict[str, Any] = {
            "name": CONSUMER,
            "broker": "main",
            "source": self.source,
            "group": self.group,
            "dead_letter": self.dead_letter,
            "retry": {"max_attempts": 1},
        }
        if spec_options:
            consumer["options"] = dict(spec_options)
        spec = {
            "name": "dlqsvc",
            "brokers": {
                "main": {"kind": kind, "url": f"${{{var}:-{kind}://nowhere:1}}"}
            },
            "consumers": [consumer],
        }
        self.root.mkdir(parents=True)
        (self.root / "service.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))

    @property
    def place(self) -> DeadLetterPlace:
        return DeadLetterPlace(
            consumer=CONSUMER,
            dead_letter=self.dead_letter,
            source=self.source,
            group=self.group,
            options=self.runtime_options,
        )

    async def handle(self, body: bytes, msg: InboundMessage) -> Outcome:
        if not self.collecting:
            return Nack(requeue=False)
        self.kept.append(msg)
        return Ack()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Bench]:
        """The consumer, served by an Application until the block ends."""
        broker = self.harness.broker("svc")
        consumer: Consumer[bytes] = Consumer(
            name=CONSUMER,
            broker=broker,
            source=self.source,
            group=self.group,
            handler=self.handle,
            dead_letter=self.dead_letter,
            concurrency=16,
            ack_wait=self.harness.ack_wait(),
            options=dict(self.runtime_options),
        )
        app = Application(
            name="dlqsvc",
            brokers=[broker],
            consumers=[consumer],
            handle_signals=False,
            drain_timeout=10,
        )
        async with run_service(app, start_timeout=60):
            self.app, self.consumer = app, consumer
            yield self

    async def seed(self, count: int, *, timeout: float = 40.0) -> list[bytes]:
        """``count`` messages published to the source and dead-lettered by the
        running consumer; their bodies (unique)."""
        assert self.consumer is not None, "seed inside running()"
        bodies = [f"{self.source}:{n}".encode() for n in range(count)]
        publisher = self.publisher()
        await publisher.connect()
        try:
            before = self.consumer.stats.dead_lettered
            for at in range(0, count, 20):  # a few at a time: connection pools
                batch = bodies[at : at + 20]
                await asyncio.gather(
                    *(publisher.publish(self.source, b) for b in batch)
                )
        finally:
            await publisher.close()
        await self.until(
            lambda: (
                self.consumer is not None
                and self.consumer.stats.dead_lettered >= before + count
            ),
            timeout,
            f"{count} dead letters",
        )
        return bodies

    def publisher(self) -> Broker:
        return self.harness.broker("publisher")

    @staticmethod
    async def until(cond: Any, timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not cond():
            if loop.time() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(0.02)

    @contextlib.asynccontextmanager
    async def queue(self) -> AsyncIterator[DeadLetterQueue]:
        """The runtime's dead-letter queue of this consumer."""
        queue = await open_dead_letters(self.kind, self.url, self.place)
        try:
            yield queue
        finally:
            await queue.close()

    def cli_args(self, *args: str) -> list[str]:
        return [*SVCGEN, "dlq", *args, "--dir", str(self.root)]

    async def cli(
        self, *args: str, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """``svcgen dlq ARGS --dir <service>`` in a subprocess, with the URL set."""
        proc = await asyncio.create_subprocess_exec(
            *self.cli_args(*args),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        assert proc.returncode is not None
        return subprocess.CompletedProcess(
            list(args), proc.returncode, out.decode(), err.decode()
        )

    async def listed(self) -> list[dict[str, Any]]:
        done = await self.cli("list", CONSUMER, "--json")
        assert done.returncode == 0, done.stderr
        rows: list[dict[str, Any]] = json.loads(done.stdout)
        return rows

    async def cleanup(self) -> None:
        await self.harness.cleanup()
