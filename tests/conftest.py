"""Shared by every test: svcgen's user-level cache lives in a temporary directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Captured output as text any UTF-8 stream can carry: a test that logs a lone
    surrogate on purpose (an undecodable error text) would otherwise stop the
    parallel run, whose workers send reports to the controller as UTF-8."""
    report = yield
    report.sections = [
        (title, text.encode("utf-8", "backslashreplace").decode("utf-8"))
        for title, text in report.sections
    ]
    return report
