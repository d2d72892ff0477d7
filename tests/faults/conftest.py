"""Private broker servers for the fault suite, started at most once per session and
stopped at its end, failures included."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .servers import PrivateServer, private_server_pool


@pytest.fixture(scope="session")
def private_servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], PrivateServer]]:
    """``private_servers(kind)`` starts that kind's private server the first time."""
    with private_server_pool(tmp_path_factory) as get:
        yield get
