"""``svcgen dlq``'s Kafka back end against the Kafka-protocol broker on loopback
(scripts/kafka-up.sh): dead letters seeded by the runtime, read and sent back
through ``open_dead_letters``; the tool's position group and its marks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from svcgen_runtime.deadletters.kafka import MARKS_SUFFIX, POSITION_GROUP
from tests.contract.harness import unique
from tests.contract.harness_kafka import URL, Harness
from tests.support import until

from . import scenarios
from .scenarios import Service

pytestmark = pytest.mark.broker


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    harness = Harness()
    source = harness.source("svcgen-dlq")
    svc = Service(
        kind="kafka",
        url=URL,
        broker=harness.broker,
        source=source,
        dead_letter=f"{source}.dlq",
        group=f"{source}.g",
        options=dict(harness.consumer_options()),
    )
    try:
        yield svc
    finally:
        broker = harness.broker("cleanup")
        try:
            await broker.delete_topics([svc.dead_letter + MARKS_SUFFIX])
        finally:
            await broker.close()
        await harness.cleanup()


async def committed(service: Service) -> int | None:
    """The tool's position on the dead-letter topic (its group's committed offset)."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=URL,
        group_id=POSITION_GROUP.format(group=service.group),
        enable_auto_commit=False,
    )
    await reader.start()
    try:
        value: int | None = await reader.committed(
            TopicPartition(service.dead_letter, 0)
        )
        return value
    finally:
        await reader.stop()


async def test_list_replay_one_then_all(service: Service) -> None:
    async with service.running() as broker:
        await scenarios.list_replay_one_then_all(service, broker)
    assert await committed(service) == 4  # the position passed every dead letter


async def test_purge_and_unknown_ids(service: Service) -> None:
    async with service.running() as broker:
        await scenarios.purge_and_unknown_ids(service, broker)
    assert await committed(service) == 3


async def test_an_interrupted_replay_loses_nothing(service: Service) -> None:
    async with service.running() as broker:
        twice = await scenarios.interrupted_replay(service, broker, 10)
    assert twice <= 1


async def test_a_letter_done_out_of_order_is_marked_not_shown_again(
    service: Service,
) -> None:
    """Replaying the second of three leaves the position before the first; a mark
    on the broker hides the second from every later list and replay."""
    async with service.running() as broker:
        await service.seed(broker, 3)
        service.failing = False
        queue = await service.open()
        try:
            first, second, third = await queue.list()
            assert [first.id, second.id, third.id] == ["0:0", "0:1", "0:2"]
            assert await queue.replay([second.id]) == 1
            assert await queue.purge([third.id]) == 1
        finally:
            await queue.close()
        await until(lambda: len(service.got) == 1, what="the replay")
        assert service.got[0].body == second.body
        assert await committed(service) is None  # the first is still pending
        await scenarios.expect_left(service, [first.id])
        queue = await service.open()
        try:
            assert await queue.replay(None) == 1  # the first only
        finally:
            await queue.close()
        await until(lambda: len(service.got) == 2, what="the second replay")
        assert [msg.body for msg in service.got] == [second.body, first.body]
    assert await committed(service) == 3  # over the first and both marked ones
    await scenarios.expect_left(service, [])


async def test_a_topic_never_written_has_no_dead_letters() -> None:
    service = Service(
        kind="kafka",
        url=URL,
        broker=Harness().broker,
        source=unique("svcgen-dlq-none"),
        dead_letter=unique("svcgen-dlq-none"),
        group="g",
    )
    queue = await service.open()
    try:
        assert await queue.list() == []
        assert await queue.replay(None) == 0
        assert await queue.purge(None) == 0
    finally:
        await queue.close()
    reader = AIOKafkaConsumer(bootstrap_servers=URL)
    await reader.start()
    try:  # reading created nothing
        assert service.dead_letter not in await reader.topics()
    finally:
        await reader.stop()
