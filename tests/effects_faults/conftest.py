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
    private_server_pool,
)


def make_server(kind: str, home: Path) -> PrivateServer:
    if kind == "kafka":
        return KafkaServer(home, in_memory=True)
    return SERVERS[kind](home)


@pytest.fixture(scope="session")
def private_servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], PrivateServer]]:
    """``private_servers(kind)`` starts that kind's private server the first time."""
    with private_server_pool(tmp_path_factory, make_server) as get:
        yield get
