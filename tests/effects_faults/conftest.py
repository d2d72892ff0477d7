"""Private broker servers for this package, as in ``tests/faults/conftest.py``, but
Kafka's Tansu stores in memory: the test restarts no broker, and on the S3-backed
Tansu of the fault suite each produce costs two S3 writes, so the outbox relay (one
confirmed publish after another) sent about 15 messages a second there."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.servers import (
    SERVERS,
    KafkaServer,
    PrivateServer,
    binary_missing,
    tansu_binary,
)


class MemoryKafkaServer(KafkaServer):
    """Tansu with its in-memory storage engine (no S3 server; a restart loses all)."""

    def command(self) -> list[str]:
        listener = f"tcp://127.0.0.1:{self.port}"
        return [
            str(tansu_binary()),
            "broker",
            "--cluster-id",
            "svcgen-effects-faults",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ]

    def env(self) -> dict[str, str]:
        return PrivateServer.env(self)

    def start(self) -> None:
        PrivateServer.start(self)

    def stop(self) -> None:
        PrivateServer.stop(self)


def make_server(kind: str, home: Path) -> PrivateServer:
    if kind == "kafka":
        return MemoryKafkaServer(home)
    return SERVERS[kind](home)


@pytest.fixture(scope="session")
def private_servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], PrivateServer]]:
    """``private_servers(kind)`` starts that kind's private server the first time."""
    running: dict[str, PrivateServer] = {}

    def get(kind: str) -> PrivateServer:
        if kind not in running:
            missing = binary_missing(kind)
            if missing is not None:
                pytest.fail(missing)
            server = make_server(kind, tmp_path_factory.mktemp(f"server-{kind}"))
            server.start()
            running[kind] = server
        return running[kind]

    try:
        yield get
    finally:
        for server in running.values():
            server.stop()
