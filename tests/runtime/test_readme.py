"""The runtime README's hand-written example runs as shown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from svcgen_runtime import Application
from svcgen_runtime.testing import run_service

README = Path(__file__).resolve().parents[2] / "runtime" / "README.md"


async def test_the_readme_example_acks_and_retries() -> None:
    match = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert match is not None
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(match.group(1), namespace)
    app = namespace["app"]
    assert isinstance(app, Application)
    async with run_service(app) as svc:
        await svc.publish("local", "jobs", b"later")
        await svc.publish("local", "jobs", b"now")
        await svc.wait_idle()
        stats = svc.stats("jobs")
    assert (stats.acked, stats.retried) == (2, 1)
