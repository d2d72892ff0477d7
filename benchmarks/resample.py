"""How far a pooled percentile difference can be trusted: a paired bootstrap over rounds.

``latency.py`` pools each side's samples over its rounds and compares the two sides'
p99. On a broker whose tail comes in bursts (Tansu's held fetches) one round can move a
side's p99 by milliseconds, so the difference alone does not say whether it would hold
in another run. ``interval`` draws the rounds again with replacement (the same draw for
both sides, since round i of the two sides ran minutes apart on the same machine and
broker), pools each side's drawn rounds, and returns the range that holds the middle 95%
of the drawn differences. Deterministic for a given seed.
"""

from __future__ import annotations

import heapq
import random
from itertools import islice


def rank(count: int, q: float) -> int:
    """The nearest-rank index (ascending, 0-based) of quantile ``q`` in ``count``."""
    return min(count - 1, max(0, int(q * count + 0.5) - 1))


def pooled(tops: list[list[int]], count: int, q: float) -> int:
    """Quantile ``q`` of the union of rounds whose largest values, descending, are
    ``tops`` and whose sizes add up to ``count`` (each top must reach that deep)."""
    depth = count - 1 - rank(count, q)
    merged = heapq.merge(*tops, reverse=True)
    return next(islice(merged, depth, None))


def interval(
    a: list[list[int]],
    b: list[list[int]],
    q: float = 0.99,
    draws: int = 1000,
    seed: int = 15,
) -> tuple[float, float]:
    """The 2.5th and 97.5th percentile of (b's pooled ``q`` − a's) over ``draws``
    paired redraws of the rounds; the same units as the samples."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError("two sides with the same number (at least 2) of rounds")
    sizes = [len(r) for r in a], [len(r) for r in b]
    most = max(max(s) for s in sizes) * len(a)
    depth = most - rank(most, q)  # enough of each round's top for any draw
    tops = [[sorted(r, reverse=True)[:depth] for r in side] for side in (a, b)]
    pick = random.Random(seed)
    diffs = []
    for _ in range(draws):
        chosen = [pick.randrange(len(a)) for _ in a]
        value = []
        for side in (0, 1):
            count = sum(sizes[side][i] for i in chosen)
            value.append(pooled([tops[side][i] for i in chosen], count, q))
        diffs.append(value[1] - value[0])
    diffs.sort()
    return float(diffs[rank(draws, 0.025)]), float(diffs[rank(draws, 0.975)])
