"""Contract harness for Kafka: the broker started by scripts/kafka-up.sh on 127.0.0.1:9092."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any, Final

from svcgen_runtime.brokers.kafka import KafkaBroker

from .harness import unique

HOST: Final = os.environ.get("KAFKA_HOST", "127.0.0.1")
PORT: Final = int(os.environ.get("KAFKA_PORT", "9092"))
URL: Final = f"{HOST}:{PORT}"
SESSION_TIMEOUT_MS: Final = 6000
"""The test broker (Tansu) joins a group in about session_timeout_ms/2."""


async def cut_kafka_connections(port: int = PORT) -> int:
    """Reset every TCP connection the Kafka server holds on ``port``, from the
    server side (``ss -K``, needs CAP_NET_ADMIN); return how many were cut."""
    proc = await asyncio.create_subprocess_exec(
        "ss",
        "-K",
        "-tn",
        "state",
        "established",
        f"( sport = :{port} )",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(
            f"ss -K failed ({err.decode().strip()}); run the tests as root or with "
            "CAP_NET_ADMIN"
        )
    # ss prints a header line, then one line per socket it destroyed.
    lines = [ln for ln in out.decode().splitlines()[1:] if ln.strip()]
    return len(lines)


class Harness:
    kind = "kafka"
    supports_crash = True

    def __init__(self) -> None:
        self._sources: list[str] = []

    def broker(self, name: str = "test") -> KafkaBroker:
        return KafkaBroker(name, URL, session_timeout_ms=SESSION_TIMEOUT_MS)

    def source(self, prefix: str) -> str:
        name = unique(prefix)
        self._sources.append(name)
        return name

    def consumer_options(self) -> Mapping[str, Any]:
        return {"session_timeout_ms": SESSION_TIMEOUT_MS, "commit_interval": 0.2}

    def ack_wait(self) -> float:
        # Kafka has no per-message ack timer; a dead member's partitions move after
        # its session times out.
        return SESSION_TIMEOUT_MS / 1000

    async def cut_connections(self) -> None:
        if await cut_kafka_connections() == 0:
            raise RuntimeError(
                f"no client connection to Kafka on {URL} was open to cut"
            )

    async def refuse_publishes(self, target: str) -> bool:
        return False  # no server-side refusal to set up: the test fakes one

    async def cleanup(self) -> None:
        if not self._sources:
            return
        names = [n for s in self._sources for n in (s, f"{s}.retry", f"{s}.dlq")]
        broker = self.broker("cleanup")
        try:
            await broker.delete_topics(names)
        finally:
            await broker.close()
        self._sources.clear()

    def broker_script(self) -> str:
        return (
            "from svcgen_runtime.brokers.kafka import KafkaBroker\n"
            f"KafkaBroker(name='test', url={URL!r}, "
            f"session_timeout_ms={SESSION_TIMEOUT_MS})"
        )
