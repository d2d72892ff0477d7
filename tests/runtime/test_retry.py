"""The retry policy: backoff bounds, and the outcome → action decision table."""

from __future__ import annotations

import pytest

from svcgen_runtime import Ack, InboundMessage, Nack, Retry, RetryPolicy
from svcgen_runtime import message as m
from svcgen_runtime.retry import Action, dead_letter_headers, decide


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    policy = RetryPolicy(initial=1.0, max=60.0)
    for attempt, ceiling in [
        (1, 1.0),
        (2, 2.0),
        (3, 4.0),
        (6, 32.0),
        (7, 60.0),
        (30, 60.0),
    ]:
        draws = [policy.delay(attempt) for _ in range(400)]
        assert all(0.0 <= d <= ceiling for d in draws)
        assert max(draws) > ceiling * 0.8  # jitter spans the range
        assert min(draws) < ceiling * 0.2


def test_backoff_without_jitter_is_exact() -> None:
    policy = RetryPolicy(initial=0.5, max=3.0, jitter=False)
    assert [policy.delay(a) for a in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    constant = RetryPolicy(initial=0.5, jitter=False, backoff="constant")
    assert constant.delay(9) == 0.5


@pytest.mark.parametrize("bad", [{"max_attempts": 0}, {"initial": -1.0}])
def test_policy_rejects_impossible_settings(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)  # type: ignore[arg-type]


def test_decision_table() -> None:
    p = RetryPolicy(max_attempts=3, jitter=False, initial=2.0)
    assert decide(p, 1, None).action is Action.ACK
    assert decide(p, 1, Ack()).action is Action.ACK
    assert decide(p, 1, Nack(requeue=True)).action is Action.REQUEUE
    assert decide(p, 3, Nack(requeue=True)).action is Action.DEAD_LETTER
    assert decide(p, 1, Nack(requeue=False)).action is Action.DEAD_LETTER
    retry = decide(p, 2, Retry(after=7.5))
    assert (retry.action, retry.after) == (Action.RETRY, 7.5)
    assert decide(p, 3, Retry(after=1)).action is Action.DEAD_LETTER
    boom = RuntimeError("boom")
    failed = decide(p, 2, error=boom)
    assert (failed.action, failed.after, failed.error) == (Action.RETRY, 4.0, boom)
    exhausted = decide(p, 3, error=boom)
    assert (exhausted.action, exhausted.reason) == (Action.DEAD_LETTER, "exhausted")


def test_decide_refuses_a_foreign_return_value() -> None:
    with pytest.raises(TypeError, match="return Ack"):
        decide(RetryPolicy(), 1, "ok")  # type: ignore[arg-type]


def test_retry_after_must_not_be_negative() -> None:
    with pytest.raises(ValueError):
        Retry(after=-1)


def test_dead_letter_headers_name_source_attempts_consumer_and_error() -> None:
    msg = InboundMessage(
        id="7", source="orders", body=b"x", headers={"trace": "abc"}, delivery_count=3
    )
    headers = dead_letter_headers(
        msg,
        consumer="c1",
        reason="exhausted",
        error=ValueError("y" * 5000),
        now=1700000000.0,
    )
    assert headers["trace"] == "abc"
    assert headers[m.DLQ_SOURCE] == "orders"
    assert headers[m.DLQ_ATTEMPTS] == "3"
    assert headers[m.DLQ_CONSUMER] == "c1"
    assert headers[m.DLQ_ERROR_TYPE] == "ValueError"
    assert len(headers[m.DLQ_ERROR_MESSAGE]) == m.ERROR_MESSAGE_LIMIT
    assert headers[m.DLQ_FAILED_AT] == "1700000000.000"
    assert headers[m.DLQ_REASON] == "exhausted"


def test_safe_headers_keep_every_broker_bound_and_stay_readable() -> None:
    raw = {
        "x-svcgen-key": "k",
        "bad name:\n": "a\r\n  b\n\n\tc\x00d \udcff",
        "big": "é" * 5000,
        **{f"h{i}": "x" * 4000 for i in range(20)},
    }
    safe = m.safe_headers(raw, ("x-svcgen-key", "line 1\nline 2"))
    assert safe["bad_name__"] == "a | b | c\\x00d \\udcff"
    big = safe["big"]
    assert big.endswith(m.ELLIPSIS)
    assert len(big.encode()) <= m.HEADER_VALUE_LIMIT
    assert big[:-1] == "é" * (len(big) - 1)  # cut between characters
    assert safe["x-svcgen-key"] == "line 1 | line 2"
    kept = [(k, v) for k, v in safe.items() if k != "x-svcgen-key"]
    assert sum(len(k.encode()) + len(v.encode()) for k, v in kept) <= (
        m.HEADERS_TOTAL_LIMIT
    )
    assert "h19" not in safe  # past the total bound: dropped
    for name, value in safe.items():
        assert len(name.encode()) <= m.HEADER_NAME_LIMIT
        value.encode()  # valid UTF-8
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)
    long_name = m.safe_headers({"n" * 300: "v"})
    assert [len(k.encode()) for k in long_name] == [m.HEADER_NAME_LIMIT]


def test_plain_headers_pass_unchanged() -> None:
    headers = {"traceparent": "00-abc-01", m.ATTEMPT_HEADER: "2"}
    assert m.safe_headers(headers) == headers
    assert m.safe_headers(None) == {}
