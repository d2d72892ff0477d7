"""Private broker servers for the fault suite, started at most once per session and
stopped at its end, failures included."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .servers import SERVERS, PrivateServer, binary_missing


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
            server = SERVERS[kind](tmp_path_factory.mktemp(f"server-{kind}"))
            server.start()
            running[kind] = server
        return running[kind]

    try:
        yield get
    finally:
        for server in running.values():
            server.stop()
