"""Fetch requests of the Kafka sides of ``latency.py`` (``--kafka-fetch-trace``).

Wraps aiokafka's ``Fetcher._proc_fetch_request`` (one fetch request sent and its
answer read) to record, per source topic, when each request went out and when its
answer was in. ``summary`` says, per side, how many requests there were, how many the
broker held for the whole ``fetch_max_wait_ms`` (at least 90 % of it: it had nothing
when the request came) and how long the others took: at a steady rate, records that
arrive while a request is held wait for the rest of the wait, so the held requests
set the tail of the latency, whatever the consumer does per message.
"""

from __future__ import annotations

import bisect
import statistics
import time
from collections import defaultdict
from typing import Any

from aiokafka.consumer.fetcher import Fetcher

requests: dict[str, list[tuple[float, float]]] = defaultdict(list)
"""Per source topic: (sent, answered) monotonic seconds of each fetch request."""

handled: dict[str, list[float]] = defaultdict(list)
"""Per source topic: monotonic seconds at which each handler started (``latency.py``
records them while tracing)."""


def install() -> None:
    """Record every fetch request from now on (once per process)."""
    original: Any = Fetcher._proc_fetch_request
    if getattr(original, "traced", False):
        return

    async def traced(self: Any, assignment: Any, node_id: Any, request: Any) -> Any:
        sent = time.monotonic()
        try:
            return await original(self, assignment, node_id, request)
        finally:
            for topic in {tp.topic for tp in assignment.tps}:
                requests[topic].append((sent, time.monotonic()))

    traced.traced = True  # type: ignore[attr-defined]
    Fetcher._proc_fetch_request = traced


def summary(side: str, source: str, wait_ms: int) -> str:
    """One line on ``source``'s fetch requests since the last call, then forget them."""
    taken = requests.pop(source, [])
    starts = handled.pop(source, [])
    if not taken:
        return f"kafka {side} fetches: none recorded"
    durations = [(answered - sent) * 1000 for sent, answered in taken]
    held = [d for d in durations if d >= 0.9 * wait_ms]
    quick = [d for d in durations if d < 0.9 * wait_ms]
    quick_text = f"{statistics.median(quick):.1f} ms" if quick else "-"
    # A held request's answer carries the records that arrived while it was held
    # (~wait_ms worth): how long after it the first of them reached its handler.
    first = []
    for sent, answered in taken:
        at = bisect.bisect_left(starts, answered)
        if (answered - sent) * 1000 >= 0.9 * wait_ms and at < len(starts):
            first.append((starts[at] - answered) * 1000)
    first_text = f"{statistics.median(first):.2f} ms" if first else "-"
    return (
        f"kafka {side} fetches: {len(taken)} requests, {len(held)} held for the whole "
        f"{wait_ms} ms wait, the others answered in {quick_text} (median); first "
        f"handler after a held answer {first_text} (median)"
    )
