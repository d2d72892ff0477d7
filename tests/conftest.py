"""Shared by every test: svcgen's user-level cache lives in a temporary directory."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
from _pytest.nodeid import NodeId

from tests.contract.harness_nats import hold_store


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


@pytest.fixture(autouse=True, scope="session")
def _nats_store_held() -> Iterator[None]:
    """A stream on the shared nats-server for as long as this test process runs, so
    that tests deleting their streams never empty the server's store directory under
    another process's stream create (``harness_nats.hold_store`` says why)."""
    held = asyncio.run(hold_store(None))
    try:
        yield
    finally:
        if held is not None:
            asyncio.run(hold_store(held))


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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Tests marked ``xdist_group(name)`` go to one worker under ``--dist loadgroup``
    (``scripts/test``). pytest-xdist 3.8 marks them by appending ``@name`` to
    ``item._nodeid``, which pytest 9 no longer reads (a node's id is ``item._id``), so
    its groups were silently spread over the workers; this appends it where pytest 9
    reads it. Only on a worker of a loadgroup run (xdist sets ``option.loadgroup``)."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        marks = item.iter_markers("xdist_group")
        names = sorted({str(m.args[0] if m.args else m.kwargs["name"]) for m in marks})
        suffix = "@" + "_".join(names)
        if names and not item.nodeid.endswith(suffix):
            item._id = NodeId.parse(item.nodeid + suffix)
