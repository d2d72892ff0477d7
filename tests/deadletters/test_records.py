"""The shared records without a broker: ``DeadLetter``, ``replay_headers``, ``Pace``,
and ``list``'s table."""

from __future__ import annotations

import asyncio
import time

from svcgen.cli_dlq import table
from svcgen_runtime import Application, Consumer, MemoryBroker
from svcgen_runtime import message as m
from svcgen_runtime.deadletters import (
    REPLAY_COUNT,
    REPLAYED_AT,
    DeadLetter,
    DeadLetterPlace,
    Pace,
    replay_headers,
)
from svcgen_runtime.retry import dead_letter_headers
from svcgen_runtime.testing import run_service
from tests.support import until

PLACE = DeadLetterPlace(consumer="c", dead_letter="q.dlq", source="q", group="g")


def _inbound(source: str, headers: dict[str, str]) -> m.InboundMessage:
    return m.InboundMessage(id="1", source=source, body=b"", headers=headers)


def _letter(**headers: str) -> DeadLetter:
    return DeadLetter(id="1", body=b"x", headers=headers)


def test_a_dead_letter_reads_the_runtime_headers() -> None:
    headers = dead_letter_headers(
        _inbound("orders", {"trace": "t", m.ATTEMPT_HEADER: "3"}),
        attempts=3,
        consumer="c",
        error=ValueError("bad\nvalue"),
        reason="exhausted",
        now=1700000000.5,
    )
    letter = DeadLetter(id="i", body=b"{}", headers=headers)
    assert letter.failed_at == 1700000000.5
    assert letter.reason == "exhausted"
    assert letter.attempts == 3
    assert letter.error_type == "ValueError"
    assert letter.error_message == "bad | value"
    assert letter.target(PLACE) == "orders"
    assert letter.summary()["id"] == "i"
    assert len(headers[m.DLQ_ID]) == 32


def test_a_letter_without_svcgen_headers_has_none_and_goes_to_the_source() -> None:
    letter = _letter(**{m.DLQ_ATTEMPTS: "many"})
    assert letter.failed_at is None and letter.reason is None
    assert letter.attempts is None
    assert letter.target(PLACE) == "q"


def test_replay_headers_reset_the_attempts_and_keep_the_dead_letter_ones() -> None:
    letter = _letter(
        **{
            "trace": "t",
            m.ATTEMPT_HEADER: "3",
            m.DUE_HEADER: "1.0",
            m.DEFERRED_HEADER: "2",
            m.DLQ_REASON: "exhausted",
            m.DLQ_ID: "abc",
        }
    )
    headers = replay_headers(letter, now=5.0)
    assert headers == {
        "trace": "t",
        "x-svcgen-replayed-reason": "exhausted",
        "x-svcgen-replayed-dead-letter-id": "abc",
        REPLAY_COUNT: "1",
        REPLAYED_AT: "5.000",
    }
    again = replay_headers(_letter(**{**headers, m.DLQ_REASON: "rejected"}), now=6)
    assert again[REPLAY_COUNT] == "2"
    assert again["x-svcgen-replayed-reason"] == "rejected"


def test_pace_spaces_sends_evenly_and_none_means_no_limit() -> None:
    async def timed(rate: float | None, count: int) -> float:
        pace = Pace(rate)
        start = time.monotonic()
        for _ in range(count):
            await pace.wait()
        return time.monotonic() - start

    assert 0.18 <= asyncio.run(timed(50, 11)) < 0.6  # 10 intervals of 20 ms
    assert asyncio.run(timed(None, 1000)) < 0.1
    assert asyncio.run(timed(0, 1000)) < 0.1


def test_the_table_cuts_the_error_message_to_the_width() -> None:
    headers = dead_letter_headers(
        _inbound("q", {}),
        attempts=2,
        consumer="c",
        error=RuntimeError("e" * 300),
        reason="exhausted",
        now=0.0,
    )
    lines = table([DeadLetter(id="1-0", body=b"", headers=headers)], 80)
    assert lines[0].split() == [
        "ID",
        "FAILED",
        "AT",
        "(UTC)",
        "REASON",
        "ATTEMPTS",
        "ERROR",
        "TYPE",
        "ERROR",
        "MESSAGE",
    ]
    row = lines[1]
    assert len(row) == 80 and row.endswith("…")
    assert "1970-01-01T00:00:00Z" in row and "exhausted" in row
    assert "RuntimeError" in row
    bare = table([DeadLetter(id="x\ny", body=b"", headers={})], 200)[1]
    assert "x\\ny" in bare and bare.split()[1:] == ["-", "-", "-", "-", "-"]


def test_a_replay_names_the_group_it_is_for() -> None:
    headers = replay_headers(_letter(**{m.REPLAY_GROUP: "old"}), group="g", now=1.0)
    assert headers[m.REPLAY_GROUP] == "g"
    assert m.REPLAY_GROUP not in replay_headers(_letter(), now=1.0)


async def test_a_consumer_of_another_group_acks_a_replay_without_handling_it() -> None:
    broker = MemoryBroker("local")
    handled: list[bytes] = []

    async def handle(body: bytes, msg: m.InboundMessage) -> None:
        handled.append(body)

    consumer: Consumer[bytes] = Consumer(
        name="c", broker=broker, source="in", group="mine", handler=handle
    )
    app = Application(name="t", brokers=[broker], consumers=[consumer])
    async with run_service(app):
        await broker.publish("in", b"other", headers={m.REPLAY_GROUP: "other"})
        await broker.publish("in", b"mine", headers={m.REPLAY_GROUP: "mine"})
        await broker.publish("in", b"plain")
        await until(lambda: consumer.stats.acked == 3, 5, "three acks")
    assert sorted(handled) == [b"mine", b"plain"]
