"""NATS options against the real server (JetStream on 127.0.0.1:4222): ``ack_wait``
and ``max_deliver`` in the durable consumer's config, ``replicas`` and ``storage`` in
the config of the streams svcgen creates, read back from the server; and ``ack_wait``
timing a redelivery. The server is one node, so only one replica is possible: a
stream of more is refused by it, which is tested as the server's own answer."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js.api import StorageType

from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.nats import NatsBroker, name_for
from svcgen_runtime.errors import BrokerError
from tests.contract.harness_nats import URL, Harness

pytestmark = pytest.mark.broker


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        await h.cleanup()


def spec(source: str, **options: object) -> SubscriptionSpec:
    return SubscriptionSpec(
        consumer="opts",
        source=source,
        group=name_for(source),
        dead_letter=f"{source}.dlq",
        options=options,
    )


async def test_the_options_are_the_server_s_stream_and_consumer_config(
    harness: Harness,
) -> None:
    source = harness.source("opt")
    broker = harness.broker()
    sub = await broker.subscribe(
        spec(source, ack_wait=2.5, max_deliver=7, replicas=1, storage="memory")
    )
    await sub.close()
    await broker.close()
    nc = await nats.connect(URL, connect_timeout=5)
    try:
        js = nc.jetstream()
        for subject in (source, f"{source}.dlq"):
            stream = await js.stream_info(name_for(subject))
            assert stream.config.storage == StorageType.MEMORY
            assert stream.config.num_replicas == 1
        consumer = await js.consumer_info(name_for(source), name_for(source))
        assert consumer.config.ack_wait == 2.5
        assert consumer.config.max_deliver == 7
    finally:
        await nc.close()


async def test_the_broker_s_storage_is_the_default_of_what_it_creates(
    harness: Harness,
) -> None:
    source = harness.source("opt-default")
    broker = NatsBroker("n", URL, storage="memory", replicas=1)
    try:
        sub = await broker.subscribe(spec(source))
        await sub.close()
        nc = await nats.connect(URL, connect_timeout=5)
        try:
            stream = await nc.jetstream().stream_info(name_for(source))
            consumer = await nc.jetstream().consumer_info(
                name_for(source), name_for(source)
            )
        finally:
            await nc.close()
        assert stream.config.storage == StorageType.MEMORY
        assert consumer.config.max_deliver == -1, "unlimited unless asked for"
        assert consumer.config.ack_wait == 30.0, "the default stays 30s"
    finally:
        await broker.close()


async def test_more_replicas_than_servers_is_the_server_s_refusal(
    harness: Harness,
) -> None:
    source = harness.source("opt-replicas")
    broker = harness.broker()
    try:
        with pytest.raises(BrokerError, match="replicas"):
            await broker.subscribe(spec(source, replicas=3))
    finally:
        await broker.close()


@pytest.mark.slow
async def test_an_unsettled_delivery_comes_back_after_ack_wait(
    harness: Harness,
) -> None:
    source = harness.source("opt-ackwait")
    broker = harness.broker()
    try:
        sub = await broker.subscribe(spec(source, ack_wait=1.5))
        await broker.publish(source, b"x")
        (first,) = await sub.fetch(1, 5.0)
        assert first.delivery_count == 1
        taken = time.monotonic()
        # neither settled nor extended: as a replica that died holding it
        (again,) = await sub.fetch(1, 10.0)
        waited = time.monotonic() - taken
        assert again.body == b"x" and again.delivery_count == 2
        assert 1.4 <= waited <= 3.5, waited
        await sub.ack(again)
        await sub.close()
    finally:
        await broker.close()
