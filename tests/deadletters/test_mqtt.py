"""``svcgen dlq``'s MQTT back end against Mosquitto on loopback: dead letters kept
by the group's dead-letter session (which the runtime declares), read by resuming
it without PUBACKs, sent back with PUBACK awaited, removed by PUBACK."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from svcgen_runtime.brokers.mqtt import MqttBroker
from svcgen_runtime.brokers.mqtt.client_ids import clear_session
from svcgen_runtime.brokers.mqtt.link import Link, Server
from svcgen_runtime.brokers.mqtt.topics import dead_letter_session
from svcgen_runtime.errors import BrokerError
from tests.contract.harness_mqtt import URL, Harness
from tests.support import until

from . import scenarios
from .scenarios import Service

pytestmark = pytest.mark.broker


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    harness = Harness()
    source = harness.source("dlq")
    try:
        yield Service(
            kind="mqtt",
            url=URL,
            broker=harness.broker,
            source=source,
            dead_letter=f"{source}/dlq",
            group=f"g-{source.rsplit('/', 1)[-1]}",
            options=dict(harness.consumer_options()),
        )
    finally:
        await harness.cleanup()


async def test_the_runtime_declares_the_dead_letter_session(service: Service) -> None:
    """Starting the consumer leaves a persistent session subscribed to the
    dead-letter topic, so dead letters are kept with nothing reading them."""
    async with service.running():
        pass
    link = Link(
        Server.parse(URL), dead_letter_session(service.group, service.dead_letter)
    )
    present = await link.open(clean_start=False, session_expiry=300)
    await link.close()
    assert present


async def test_list_replay_one_then_all(service: Service) -> None:
    async with service.running() as broker:
        await scenarios.list_replay_one_then_all(service, broker)


async def test_purge_and_unknown_ids(service: Service) -> None:
    async with service.running() as broker:
        await scenarios.purge_and_unknown_ids(service, broker)


async def test_an_interrupted_replay_loses_nothing(service: Service) -> None:
    # More than Mosquitto's default 20 in flight: the Receive Maximum the tool
    # sends lets it see every queued dead letter without a PUBACK.
    async with service.running() as broker:
        twice = await scenarios.interrupted_replay(service, broker, 24)
    assert twice <= 1


async def test_dead_letters_wait_in_the_session_while_nothing_runs(
    service: Service,
) -> None:
    """Seeded, the consumer stopped: the tool still lists and replays them; the
    replays wait in the consumer's own session until it runs again."""
    async with service.running() as broker:
        bodies = await service.seed(broker, 2)
    service.failing = False
    queue = await service.open()
    try:
        assert sorted(x.body for x in await queue.list()) == sorted(bodies)
        assert await queue.replay(None) == 2
    finally:
        await queue.close()
    await scenarios.expect_left(service, [])
    async with service.running():
        await until(lambda: len(service.got) == 2, what="the replays")
    assert sorted(msg.body for msg in service.got) == sorted(bodies)


async def test_a_replay_nobody_would_keep_leaves_the_dead_letter(
    service: Service,
) -> None:
    """With no session subscribed to the source the server keeps nothing sent
    there: the replay stops and the dead letter stays."""
    async with service.running() as broker:
        await service.seed(broker, 1)
        assert isinstance(broker, MqttBroker)
        consumer_session = broker.client_id(service.group, service.source)
    await clear_session(URL, consumer_session)
    queue = await service.open()
    try:
        (letter,) = await queue.list()
        with pytest.raises(BrokerError, match="no session subscribes"):
            await queue.replay(None)
    finally:
        await queue.close()
    await scenarios.expect_left(service, [letter.id])
