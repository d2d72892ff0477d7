"""Shared by every test: svcgen's user-level cache lives in a temporary directory."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _svcgen_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests (and the svcgen processes they start) neither read nor fill the
    developer's ``~/.cache/svcgen``."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    try:
        yield
    finally:
        if before is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = before
