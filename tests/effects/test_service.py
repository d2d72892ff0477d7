"""Both features in one Application, with a real broker (Redis) confirming the
relay's publishes: a dedupe consumer's handler writes and publishes through the
outbox in the message's transaction; a duplicate delivery changes nothing."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from svcgen_runtime import Application, Consumer, InboundMessage, Publisher
from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.memory import MemoryBroker
from svcgen_runtime.brokers.redis import RedisBroker
from svcgen_runtime.effects import MESSAGE_ID_HEADER, Dedupe, OutboxRelay
from svcgen_runtime.testing import run_service
from tests.support import until

from .conftest import Env

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def target() -> AsyncIterator[str]:
    name = f"svcgen-fx-shipped-{secrets.token_hex(6)}"
    yield name
    client = Redis.from_url(REDIS_URL)
    try:
        await client.delete(name, name + ".dlq")
    finally:
        await client.aclose()


async def test_a_deduped_handler_publishes_through_the_outbox_to_redis(
    env: Env, target: str
) -> None:
    inbound = MemoryBroker("local")
    redis = RedisBroker(name="events", url=REDIS_URL)
    shipped: Publisher[bytes] = Publisher(
        name="shipped", broker=redis, target=target, outbox=env.effects
    )
    runs = 0

    async def handle(body: bytes, msg: InboundMessage) -> None:
        nonlocal runs
        runs += 1
        order = json.loads(body)["order_id"]
        await env.db.execute(
            f"INSERT INTO {env.table('orders')} (id) VALUES ($1)", order
        )
        await shipped.publish(body, key=order)

    consumer: Consumer[bytes] = Consumer(
        name="paid",
        broker=inbound,
        source="orders.paid",
        handler=handle,
        dedupe=Dedupe(effects=env.effects, key="body:order_id"),
    )
    relay = OutboxRelay(effects=env.effects, publishers=[shipped], poll=0.1)
    app = Application(
        name="shop",
        brokers=[inbound, redis],
        consumers=[consumer],
        components=[relay],
        resources=[env.effects],  # the fixture opened the database
    )
    async with run_service(app):
        for _ in range(3):  # a message and two duplicates of it
            inbound.publish_nowait("orders.paid", b'{"order_id": "o-1"}')
        await until(lambda: consumer.stats.acked == 3, what="three acks")
        await until(
            lambda: relay.published["shipped"] == 1, what="the relay's confirmed send"
        )
        sub = await redis.subscribe(
            SubscriptionSpec(consumer="check", source=target, group="check")
        )
        try:
            got = list(await sub.fetch(10, 2.0))
            got += await sub.fetch(10, 0.5)  # nothing more arrives
            for msg in got:
                await sub.ack(msg)
        finally:
            await sub.close()
    assert runs == 1
    assert env.effects.skipped == {"paid": 2}
    [msg] = got
    assert msg.body == b'{"order_id": "o-1"}'
    assert msg.key == "o-1"
    [row] = await env.outbox()
    assert msg.headers[MESSAGE_ID_HEADER] == str(row["id"])
    assert row["sent_at"] is not None
