"""A private Mosquitto for the MQTT replicas, started once per session when asked for."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.faults.servers import MqttServer, binary_missing


@pytest.fixture(scope="session")
def private_mqtt(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[], str]]:
    """``private_mqtt()`` starts a Mosquitto on a free port (queue limit 100,000 per
    session) the first time and returns its URL; it stops at the session's end."""
    servers: list[MqttServer] = []

    def get() -> str:
        if not servers:
            missing = binary_missing("mqtt")
            if missing is not None:
                pytest.fail(missing)
            server = MqttServer(tmp_path_factory.mktemp("replicas-mosquitto"))
            server.start()
            servers.append(server)
        return servers[0].url

    try:
        yield get
    finally:
        for server in servers:
            server.stop()
