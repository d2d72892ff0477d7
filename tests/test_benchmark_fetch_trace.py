"""The latency benchmark's Kafka tail split (``benchmarks/kafka_fetch_trace.py``): the
slowest 1 % of the messages after the warm-up, their latency split at the answer of
the fetch that brought them into the broker's part and the consumer's part."""

from __future__ import annotations

import pytest

from benchmarks.kafka_fetch_trace import tail_split


def test_the_slowest_messages_are_split_at_the_answer_that_brought_them() -> None:
    taken = [(1.0, 1.5)]  # a request held 500 ms
    seen: list[tuple[float, float]] = []
    for i in range(100):  # warm-up: sent in the first second, waited longest
        seen.append((1.5, i * 0.001))
    for i in range(500):  # sent 1 ms apart while the request was held
        seen.append((1.5 + i * 0.0001, 1.0 + i * 0.001))
    for i in range(100):  # later ones: each answered 1.5 ms after it was sent
        sent = 1.6 + i * 0.001
        taken.append((sent, sent + 0.0015))
        seen.append((sent + 0.002, sent))
    # 600 after the warm-up, the slowest 6: the first six of the held answer
    split = tail_split(taken, seen)
    assert split is not None
    broker, consumer = split
    assert broker == pytest.approx((500 + 499 + 498 + 497 + 496 + 495) / 6)
    assert consumer == pytest.approx((0 + 0.1 + 0.2 + 0.3 + 0.4 + 0.5) / 6)


def test_nothing_to_split_without_requests_or_messages() -> None:
    assert tail_split([], [(1.0, 0.5)]) is None
    assert tail_split([(0.0, 0.1)], []) is None
