"""The latency benchmark's interval (``benchmarks/resample.py``): a pooled percentile
taken from each round's top equals the one of the whole union, and the redrawn
difference brackets what the two sides differ by."""

from __future__ import annotations

import random

import pytest

from benchmarks.resample import interval, pooled, rank


def test_a_pooled_quantile_from_each_rounds_top_is_the_unions() -> None:
    pick = random.Random(7)
    rounds = [[pick.randrange(10**6) for _ in range(3000)] for _ in range(4)]
    drawn = [rounds[0], rounds[2], rounds[2], rounds[3]]  # a draw repeats rounds
    union = sorted(v for r in drawn for v in r)
    for q in (0.5, 0.99, 0.999, 1.0):
        depth = len(union) - rank(len(union), q)
        tops = [sorted(r, reverse=True)[:depth] for r in drawn]
        assert pooled(tops, len(union), q) == union[rank(len(union), q)]


def test_the_interval_brackets_a_shift_and_widens_with_bursty_rounds() -> None:
    pick = random.Random(3)
    raw = [[pick.randrange(10**6) for _ in range(2000)] for _ in range(10)]
    shifted = [[v + 500 for v in r] for r in raw]
    assert interval(raw, shifted) == (500.0, 500.0)
    # one round of the second side with a burst in its tail: the point difference
    # is large, and the interval reaches down to rounds drawn without it
    bursty = [list(r) for r in raw]
    bursty[4] = [v + 10**6 if v > 970_000 else v for v in bursty[4]]
    low, high = interval(raw, bursty)
    assert low == 0.0
    assert high > 1_000


def test_the_interval_needs_paired_rounds() -> None:
    with pytest.raises(ValueError, match="same number"):
        interval([[1, 2]], [[1, 2]])
    with pytest.raises(ValueError, match="same number"):
        interval([[1, 2], [3]], [[1, 2]])
