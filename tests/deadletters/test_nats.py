"""``svcgen dlq``'s NATS JetStream back end against nats-server on loopback: dead
letters seeded by the runtime into the dead-letter subject's stream, read by
sequence and sent back through ``open_dead_letters``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest

from svcgen_runtime.brokers.nats import name_for
from tests.contract.harness_nats import URL, Harness

from . import scenarios
from .scenarios import Service

pytestmark = pytest.mark.broker


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    harness = Harness()
    source = harness.source("dlq")
    try:
        yield Service(
            kind="nats",
            url=URL,
            broker=harness.broker,
            source=source,
            dead_letter=f"{source}.dlq",
            group=name_for(f"{source}-g"),
        )
    finally:
        await harness.cleanup()


async def stored(subject: str) -> int:
    """Messages the dead-letter subject's stream holds."""
    nc = await nats.connect(URL)
    try:
        js = nc.jetstream()
        stream = await js.find_stream_name_by_subject(subject)
        return int((await js.stream_info(stream)).state.messages)
    finally:
        await nc.close()


async def test_list_replay_one_then_all(service: Service) -> None:
    async with service.running() as broker:
        await scenarios.list_replay_one_then_all(service, broker)
    assert await stored(service.dead_letter) == 0  # deleted, not only hidden


async def test_purge_and_unknown_ids(service: Service) -> None:
    async with service.running() as broker:
        await scenarios.purge_and_unknown_ids(service, broker)
    assert await stored(service.dead_letter) == 0


async def test_an_interrupted_replay_loses_nothing_and_sends_nothing_twice(
    service: Service,
) -> None:
    # The copy's Nats-Msg-Id names the dead letter: the source stream stores a
    # second send of it (published, not yet deleted when cancelled) once.
    async with service.running() as broker:
        assert await scenarios.interrupted_replay(service, broker, 10) == 0


async def test_ids_are_stream_sequences_and_others_letters_stay(
    service: Service,
) -> None:
    """A dead letter of another consumer on the same subject is not shown, sent or
    purged; a purge of all then deletes this consumer's one by one."""
    async with service.running() as broker:
        await service.seed(broker, 2)
        await broker.publish(
            service.dead_letter, b"other", headers={"x-svcgen-consumer": "other"}
        )
        queue = await service.open()
        try:
            letters = await queue.list()
            assert [x.id for x in letters] == ["1", "2"]
            assert await queue.purge(None) == 2
            assert await queue.list() == []
        finally:
            await queue.close()
    assert await stored(service.dead_letter) == 1
