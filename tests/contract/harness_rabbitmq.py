"""The contract suite's view of RabbitMQ on 127.0.0.1:5672 (guest/guest)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Mapping
from typing import Any, Final

import aio_pika

from svcgen_runtime.brokers.rabbitmq import RabbitMQBroker

from .harness import unique

URL: Final = "amqp://guest:guest@127.0.0.1:5672/"


async def rabbitmqctl(*args: str) -> str:
    """Run ``rabbitmqctl -q <args>`` and return its output; fail loudly on error."""
    proc = await asyncio.create_subprocess_exec(
        "rabbitmqctl",
        "-q",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(
            f"rabbitmqctl {' '.join(args)} failed ({proc.returncode}): {err.decode()}"
        )
    return out.decode()


class Harness:
    """Brokers of one harness share a connection-name token, so ``cut_connections``
    closes exactly their connections (parent and crash-test child), not other tests'."""

    kind = "rabbitmq"
    supports_crash = True

    def __init__(self, *, quorum: bool | None = None) -> None:
        if quorum is None:  # SVCGEN_RABBITMQ_QUORUM=1 runs the suite on quorum queues
            quorum = os.environ.get("SVCGEN_RABBITMQ_QUORUM", "") == "1"
        self.quorum = quorum
        self.token = f"svcgen-test-{secrets.token_hex(4)}"
        self.sources: list[str] = []

    def connection_name(self, name: str) -> str:
        return f"{self.token}:{name}"

    def broker(self, name: str = "test") -> RabbitMQBroker:
        return RabbitMQBroker(
            name,
            URL,
            connection_name=self.connection_name(name),
            connect_timeout=5.0,
            publish_timeout=10.0,
        )

    def source(self, prefix: str) -> str:
        name = unique(prefix)
        self.sources.append(name)
        return name

    def consumer_options(self) -> Mapping[str, Any]:
        return {"quorum": True} if self.quorum else {}

    def ack_wait(self) -> float:
        # RabbitMQ has no redelivery timer: it redelivers as soon as the channel
        # closes, so the suite's "nothing comes back" waits need not be long.
        return 1.0

    async def cut_connections(self) -> None:
        listing = await rabbitmqctl(
            "list_connections", "--no-table-headers", "pid", "client_properties"
        )
        pids = [
            line.split("\t", 1)[0]
            for line in listing.splitlines()
            if self.token in line and line.startswith("<")
        ]
        if not pids:
            raise AssertionError(f"no rabbitmq connection named {self.token}:* to cut")
        for pid in pids:
            try:
                await rabbitmqctl("close_connection", pid, "test")
            except RuntimeError:
                pass  # it closed on its own in the meantime

    async def refuse_publishes(self, target: str) -> bool:
        # A queue full at length 0 nacks every publish (reject-publish overflow).
        connection = await aio_pika.connect(URL, timeout=5.0)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(target)
            await channel.declare_queue(
                target,
                durable=True,
                arguments={"x-max-length": 0, "x-overflow": "reject-publish"},
            )
        return True

    async def cleanup(self) -> None:
        if not self.sources:
            return
        # One listing finds every delay bucket (<source>.delay.<ms>) and dead-letter
        # queue (<source>.dlq) the tests and their child processes created.
        listing = await rabbitmqctl("list_queues", "--no-table-headers", "name")
        existing = set(listing.split())
        doomed = [
            q
            for q in existing
            if any(q == s or q.startswith(f"{s}.") for s in self.sources)
        ]
        self.sources.clear()
        if not doomed:
            return
        # Deleting over AMQP is much faster than one rabbitmqctl run per queue.
        connection = await aio_pika.connect(URL, timeout=5.0)
        async with connection:
            channel = await connection.channel()
            for queue in sorted(doomed):
                await channel.queue_delete(queue)

    def broker_script(self) -> str:
        return (
            "from svcgen_runtime.brokers.rabbitmq import RabbitMQBroker\n"
            f"RabbitMQBroker('test', {URL!r}, "
            f"connection_name={self.connection_name('child')!r})"
        )
