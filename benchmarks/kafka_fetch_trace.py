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

handled: dict[str, list[tuple[float, float]]] = defaultdict(list)
"""Per source topic: (handler started, message sent) monotonic seconds of each message
(``latency.py`` records them while tracing)."""

TAIL_RANK = 12
"""Which record of a held answer the summary follows besides the first: at 1,000 msg/s
with 7-11 held answers a 10 s round, the p99 is about the 12th record of each."""


RANKS = 16
"""How many records of each held answer the summary lists the handler start of (the
first and the ``TAIL_RANK``-th among them)."""


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


TAIL_SHARE = 0.01
"""The slowest share of the messages ``tail_split`` looks at (``int(n * share)`` of
``n``, at least one): those above the p99."""


def tail_split(
    taken: list[tuple[float, float]],
    seen: list[tuple[float, float]],
    warmup: float = 1.0,
) -> tuple[float, float] | None:
    """Where the slowest 1 % of the messages sent after the first ``warmup`` seconds
    spent their latency, as two means in ms: from the send to the answer of the last
    fetch request answered before its handler started (in the broker: sent, not yet
    readable, or held), and from that answer to the handler start (in the consumer).
    None without requests or messages past the warm-up. ``taken``: (sent, answered) per request;
    ``seen``: (handler started, message sent) per message (monotonic seconds)."""
    answers = sorted(answered for _, answered in taken)
    if not answers or not seen:
        return None
    after = min(sent for _, sent in seen) + warmup
    rows: list[tuple[float, float, float]] = []
    for start, sent in seen:
        at = bisect.bisect_right(answers, start) - 1
        if sent >= after and at >= 0:
            rows.append((start - sent, answers[at] - sent, start - answers[at]))
    if not rows:
        return None
    rows.sort(reverse=True)
    top = rows[: max(1, int(len(rows) * TAIL_SHARE))]
    return (
        statistics.fmean(broker for _, broker, _ in top) * 1000,
        statistics.fmean(consumer for _, _, consumer in top) * 1000,
    )


def _median(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f}" if values else "-"


def summary(side: str, source: str, wait_ms: int) -> str:
    """One line on ``source``'s fetch requests since the last call, then forget them.

    For each held answer (its records arrived while the request was held, so they
    carry the tail of the latency) it breaks the latency of its first record and of
    its ``TAIL_RANK``-th into parts: how long the broker held the request, how long
    after the request went out the first record was sent, and how long after the
    answer each record's handler started. Medians over the answers of the round;
    requests held on the idle topic before the first message are left out.
    """
    taken = requests.pop(source, [])
    seen = handled.pop(source, [])
    if not taken:
        return f"kafka {side} fetches: none recorded"
    starts = [start for start, _ in seen]
    durations = [(answered - sent) * 1000 for sent, answered in taken]
    quick = [d for d in durations if d < 0.9 * wait_ms]
    held: list[float] = []
    gap: list[float] = []
    nth_latency: list[float] = []
    ranks: list[list[float]] = [[] for _ in range(RANKS)]
    first_start = starts[0] if starts else float("inf")
    for (sent, answered), took in zip(taken, durations, strict=True):
        if took < 0.9 * wait_ms or answered < first_start:
            continue  # answered at once, or held before the first message was sent
        held.append(took)
        at = bisect.bisect_left(starts, answered)
        if at < len(seen):
            gap.append((seen[at][1] - sent) * 1000)
        for rank, (start, _) in enumerate(seen[at : at + RANKS]):
            ranks[rank].append((start - answered) * 1000)
        if at + TAIL_RANK - 1 < len(seen):
            start, published = seen[at + TAIL_RANK - 1]
            nth_latency.append((start - published) * 1000)
    spread = f"{min(held):.1f}-{max(held):.1f}" if held else "-"
    split = tail_split(taken, seen)
    tail = (
        f"; the slowest 1 %: {split[0]:.2f} ms in the broker + {split[1]:.3f} ms in "
        "the consumer (means)"
        if split
        else ""
    )
    return (
        f"kafka {side} fetches: {len(taken)} requests, {len(held)} held for the whole "
        f"{wait_ms} ms wait (held {_median(held, 1)} ms median, {spread}; its first "
        f"record sent {_median(gap)} ms after the request), the others answered in "
        f"{_median(quick, 1)} ms; handler after a held answer: first "
        f"{_median(ranks[0])} ms, {TAIL_RANK}th {_median(ranks[TAIL_RANK - 1])} ms "
        f"(its latency {_median(nth_latency)} ms) (medians); handlers 1-{RANKS} "
        f"after the answer (ms): {' '.join(_median(r, 3) for r in ranks)}{tail}"
    )
