"""The dead-letter tool's checks that every broker kind passes, run by each kind's
test module (Kafka, NATS, MQTT) against its real server.

``Service`` is a real consumer (the runtime's broker class, consume loop and
Application): its handler fails while ``failing`` (``reject*`` bodies are rejected,
the others raise, with ``max_attempts=1``), which seeds real dead letters, and
records what it receives once it no longer fails, which is how a replay is seen to
arrive. The checks open the dead letters through ``open_dead_letters`` only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from svcgen_runtime import message as m
from svcgen_runtime.application import Application
from svcgen_runtime.brokers.base import Broker
from svcgen_runtime.consumer import Consumer
from svcgen_runtime.deadletters import (
    REPLAY_COUNT,
    REPLAYED_AT,
    REPLAYED_PREFIX,
    DeadLetter,
    DeadLetterNotFound,
    DeadLetterPlace,
    DeadLetterQueue,
    open_dead_letters,
)
from svcgen_runtime.message import InboundMessage
from svcgen_runtime.outcome import Nack, Outcome
from svcgen_runtime.retry import RetryPolicy
from svcgen_runtime.testing import run_service
from tests.support import until

CONSUMER = "dlqc"


@dataclass
class Service:
    """One consumer of ``source`` that dead-letters to ``dead_letter``."""

    kind: str
    url: str
    broker: Callable[[], Broker]
    source: str
    dead_letter: str
    group: str
    options: dict[str, Any] = field(default_factory=dict)
    failing: bool = True
    got: list[InboundMessage] = field(default_factory=list)
    consumer: Consumer[bytes] | None = None

    @property
    def place(self) -> DeadLetterPlace:
        return DeadLetterPlace(
            consumer=CONSUMER,
            dead_letter=self.dead_letter,
            source=self.source,
            group=self.group,
            options=self.options,
        )

    async def open(self) -> DeadLetterQueue:
        return await open_dead_letters(self.kind, self.url, self.place)

    async def handle(self, body: bytes, msg: InboundMessage) -> Outcome | None:
        if self.failing:
            if body.startswith(b"reject"):
                return Nack(requeue=False)
            raise ValueError(f"cannot take {body.decode()}")
        self.got.append(msg)
        return None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Broker]:
        broker = self.broker()
        self.consumer = Consumer(
            name=CONSUMER,
            broker=broker,
            source=self.source,
            handler=self.handle,
            group=self.group,
            timeout=10.0,
            retry=RetryPolicy(max_attempts=1, initial=0.01, jitter=False),
            dead_letter=self.dead_letter,
            options=dict(self.options),
        )
        app = Application(
            name="dlq-test",
            brokers=[broker],
            consumers=[self.consumer],
            handle_signals=False,
            drain_timeout=5.0,
        )
        async with run_service(app, start_timeout=60) as service:
            yield broker
            assert await service.stop() == 0

    async def seed(self, broker: Broker, count: int) -> list[bytes]:
        """Publish ``count`` messages the failing handler dead-letters; wait for it."""
        assert self.consumer is not None
        before = self.consumer.stats.dead_lettered
        bodies = [
            (b"reject-%d" if i % 2 == 0 else b"raise-%d") % i for i in range(count)
        ]
        for i, body in enumerate(bodies):
            await broker.publish(
                self.source, body, key=f"k{i}", headers={"trace": f"t{i}"}
            )
        await until(
            lambda: (
                self.consumer is not None
                and self.consumer.stats.dead_lettered == before + count
            ),
            timeout=30,
            what=f"{count} dead letters",
        )
        return bodies


def check_fields(letters: list[DeadLetter], bodies: list[bytes]) -> None:
    """``list`` shows what each dead letter's ``x-svcgen-*`` headers say."""
    assert sorted(x.body for x in letters) == sorted(bodies)
    for letter in letters:
        summary = letter.summary()
        assert summary["id"] == letter.id and letter.id
        assert isinstance(summary["failed_at"], float) and summary["failed_at"] > 0
        assert summary["attempts"] == 1
        index = int(letter.body.split(b"-")[1])
        assert letter.headers["trace"] == f"t{index}"
        assert letter.key == f"k{index}"
        if letter.body.startswith(b"reject"):
            assert summary["reason"] == "rejected"
            assert summary["error_type"] == "rejected"
        else:
            assert summary["reason"] == "exhausted"
            assert summary["error_type"] == "ValueError"
            assert summary["error_message"] == f"cannot take {letter.body.decode()}"
        assert letter.headers[m.DLQ_CONSUMER] == CONSUMER
        assert letter.headers[m.DLQ_ID]


def check_replayed(msg: InboundMessage, letter: DeadLetter) -> None:
    """A replayed message arrives as new: attempt 1, the dead-letter headers kept
    under the replay marker, the message's own headers and key as they were."""
    assert msg.body == letter.body
    assert msg.delivery_count == 1
    assert m.ATTEMPT_HEADER not in msg.headers
    assert msg.key == letter.key
    assert msg.headers["trace"] == letter.headers["trace"]
    assert msg.headers[REPLAY_COUNT] == "1"
    assert float(msg.headers[REPLAYED_AT]) > 0
    assert msg.headers[REPLAYED_PREFIX + "reason"] == letter.reason
    assert msg.headers[REPLAYED_PREFIX + "dead-letter-id"] == letter.headers[m.DLQ_ID]
    for name in (m.DLQ_REASON, m.DLQ_ID, m.DLQ_FAILED_AT, m.DLQ_CONSUMER):
        assert name not in msg.headers


async def list_replay_one_then_all(service: Service, broker: Broker) -> None:
    """Seed four; list (fields, ``limit``); replay one, then the rest; each arrives
    once and is gone from the dead letters, for a new reader too."""
    bodies = await service.seed(broker, 4)
    service.failing = False
    queue = await service.open()
    try:
        letters = await queue.list()
        check_fields(letters, bodies)
        assert [x.id for x in await queue.list(limit=2)] == [x.id for x in letters[:2]]
        first = letters[0]
        seen: list[str] = []
        assert await queue.replay([first.id], sent=lambda x: seen.append(x.id)) == 1
        assert seen == [first.id]
        await until(lambda: len(service.got) == 1, timeout=20, what="the replay")
        check_replayed(service.got[0], first)
        assert [x.id for x in await queue.list()] == [x.id for x in letters[1:]]
        assert await queue.replay(None, rate=50) == 3
    finally:
        await queue.close()
    await until(lambda: len(service.got) == 4, timeout=20, what="every replay")
    by_body = {msg.body: msg for msg in service.got}
    assert len(by_body) == 4
    for letter in letters:
        check_replayed(by_body[letter.body], letter)
    await expect_left(service, [])


async def purge_and_unknown_ids(service: Service, broker: Broker) -> None:
    """An unknown id is refused before anything is sent; purge one, then all."""
    await service.seed(broker, 3)
    service.failing = False
    queue = await service.open()
    try:
        letters = await queue.list()
        assert len(letters) == 3
        with pytest.raises(DeadLetterNotFound, match="no-such-id"):
            await queue.replay([letters[0].id, "no-such-id"])
        with pytest.raises(DeadLetterNotFound, match="no-such-id"):
            await queue.purge(["no-such-id"])
        assert [x.id for x in await queue.list()] == [x.id for x in letters]
        assert await queue.purge([letters[1].id]) == 1
        assert [x.id for x in await queue.list()] == [letters[0].id, letters[2].id]
    finally:
        await queue.close()
    await expect_left(service, [letters[0].id, letters[2].id])
    queue = await service.open()
    try:
        assert await queue.purge(None) == 2
    finally:
        await queue.close()
    await expect_left(service, [])
    await asyncio.sleep(0.5)
    assert service.got == []  # nothing was sent


async def interrupted_replay(service: Service, broker: Broker, count: int) -> int:
    """A replay cancelled halfway, then run again: every dead letter arrives at
    least once and none is left. Returns how many arrived twice."""
    bodies = await service.seed(broker, count)
    service.failing = False
    queue = await service.open()
    halfway = asyncio.Event()
    sent: list[str] = []

    def note(letter: DeadLetter) -> None:
        sent.append(letter.id)
        if len(sent) == count // 2:
            halfway.set()

    try:
        assert len(await queue.list()) == count
        replay = asyncio.create_task(queue.replay(None, rate=40, sent=note))
        await asyncio.wait_for(halfway.wait(), 30)
        await asyncio.sleep(0.012)  # mid-way between two sends, wherever it lands
        replay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await replay
    finally:
        await queue.close()
    assert count // 2 <= len(sent) < count
    queue = await service.open()
    try:
        left = await queue.list()
        assert len(left) <= count - len(sent)
        assert await queue.replay(None) == len(left)
    finally:
        await queue.close()
    await until(
        lambda: {msg.body for msg in service.got} == set(bodies),
        timeout=30,
        what="every dead letter back at the source",
    )
    await expect_left(service, [])
    return len(service.got) - count


async def expect_left(service: Service, ids: list[str]) -> None:
    """A new reader (a new connection) finds exactly these dead letters."""
    queue = await service.open()
    try:
        assert [x.id for x in await queue.list()] == ids
    finally:
        await queue.close()
