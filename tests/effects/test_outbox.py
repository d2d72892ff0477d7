"""The transactional outbox and its relay against a real PostgreSQL: a rolled-back
transaction publishes nothing, a committed row is published once with its id
header, order per key holds, two relays publish each row once, the relay survives
a cut connection, and a drain finishes the batch in flight."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import pytest

from svcgen_runtime import Application, Publisher
from svcgen_runtime.brokers.memory import MemoryBroker
from svcgen_runtime.effects import MESSAGE_ID_HEADER, Effects, OutboxRelay
from svcgen_runtime.errors import ConfigurationError
from svcgen_runtime.metrics import exposition
from svcgen_runtime.types import Component
from tests.support import until

from .conftest import Env


def shipped(env: Env, effects: Effects | None = None) -> Publisher[bytes]:
    return Publisher(
        name="shipped",
        broker=env.broker,
        target="orders.shipped",
        outbox=effects or env.effects,
    )


@asynccontextmanager
async def relaying(
    env: Env, effects: Effects | None = None, **options: float
) -> AsyncIterator[OutboxRelay]:
    relay = OutboxRelay(
        effects=effects or env.effects,
        publishers=[shipped(env, effects)],
        **options,  # type: ignore[arg-type]
    )
    await relay.start()
    try:
        yield relay
    finally:
        await relay.drain(5.0)
        await relay.close()


def bodies(env: Env) -> list[bytes]:
    return [m.body for m in env.broker.messages("orders.shipped")]


async def test_a_rolled_back_transaction_publishes_nothing(env: Env) -> None:
    publisher = shipped(env)
    async with relaying(env) as relay:
        with pytest.raises(RuntimeError):
            async with env.db.transaction():
                await publisher.publish(b"never")
                raise RuntimeError("roll back")
        async with env.db.transaction():
            await publisher.publish(b"committed")
        await until(lambda: len(bodies(env)) == 1, what="the committed message")
        await asyncio.sleep(0.3)  # a few more rounds of the relay
    assert bodies(env) == [b"committed"]
    assert relay.published == {"shipped": 1}
    assert len(await env.outbox()) == 1


async def test_a_committed_row_is_published_once_with_its_id(env: Env) -> None:
    publisher = shipped(env)
    async with relaying(env, poll=0.05) as relay:
        async with env.db.transaction() as tx:
            await tx.execute(f"INSERT INTO {env.table('orders')} (id) VALUES ('o-1')")
            await publisher.publish(b"one", key="o-1", headers={"trace": "t"})
        await publisher.publish(b"two")  # no transaction: its own statement
        await until(lambda: len(bodies(env)) == 2, what="both messages")
        await asyncio.sleep(0.3)  # several polls: nothing is published twice
        app = Application(name="shop", components=[relay], resources=[env.effects])
        text = (await exposition(app)).decode()
    messages = env.broker.messages("orders.shipped")
    assert [m.body for m in messages] == [b"one", b"two"]
    rows = await env.outbox()
    assert [m.headers[MESSAGE_ID_HEADER] for m in messages] == [
        str(r["id"]) for r in rows
    ]
    assert messages[0].key == "o-1"
    assert messages[0].headers["trace"] == "t"
    assert all(r["sent_at"] is not None for r in rows)
    uuid.UUID(messages[0].headers[MESSAGE_ID_HEADER])
    assert 'svcgen_outbox_published_total{service="shop",publisher="shipped"} 2\n' in (
        text
    )
    assert 'svcgen_outbox_pending{service="shop"} 0\n' in text


async def test_the_relay_keeps_order_per_key_across_batches(env: Env) -> None:
    publisher = shipped(env)
    expected: dict[str, list[bytes]] = {"a": [], "b": [], "c": []}
    for i in range(30):
        key = "abc"[i % 3]
        body = f"{key}-{i}".encode()
        expected[key].append(body)
        if i % 2:
            async with env.db.transaction():
                await publisher.publish(body, key=key)
        else:
            await publisher.publish(body, key=key)
    async with relaying(env, batch=4):
        await until(lambda: len(bodies(env)) == 30, what="thirty messages")
    got: dict[str, list[bytes]] = {"a": [], "b": [], "c": []}
    for m in env.broker.messages("orders.shipped"):
        assert m.key is not None
        got[m.key].append(m.body)
    assert got == expected


async def test_two_relays_on_one_schema_publish_each_row_once(env: Env) -> None:
    other = Effects(database=env.db, service="shop", schema=env.schema)
    await other.open()
    publisher = shipped(env)
    try:
        async with (
            relaying(env, poll=0.05, standby_poll=0.05, batch=5) as first,
            relaying(env, other, poll=0.05, standby_poll=0.05, batch=5) as second,
        ):
            for i in range(40):
                await publisher.publish(str(i).encode())
                if i == 20:  # the sender stops: the other takes over
                    await until(
                        lambda: (
                            sum(r.published["shipped"] for r in (first, second)) > 0
                        ),
                        what="a first send",
                    )
                    leader = first if first.leader else second
                    await leader.drain(5.0)
                    await leader.close()
            await until(lambda: len(bodies(env)) >= 40, what="forty messages")
            await asyncio.sleep(0.3)
        ids = [
            m.headers[MESSAGE_ID_HEADER] for m in env.broker.messages("orders.shipped")
        ]
        assert len(ids) == 40
        assert len(set(ids)) == 40
        assert sorted(bodies(env), key=int) == [str(i).encode() for i in range(40)]
        assert first.published["shipped"] + second.published["shipped"] == 40
        assert first.published["shipped"] > 0 and second.published["shipped"] > 0
    finally:
        await other.close()


async def test_the_relay_survives_a_cut_database_connection(env: Env) -> None:
    publisher = shipped(env)
    async with relaying(env, poll=0.1) as relay:
        await publisher.publish(b"before")
        await until(lambda: len(bodies(env)) == 1, what="the first message")
        conn = relay._conn
        assert conn is not None
        pid = conn.get_server_pid()
        assert await env.db.query_one(
            "SELECT pg_terminate_backend($1) AS cut", pid
        ) == {"cut": True}
        await publisher.publish(b"after")
        await until(lambda: b"after" in bodies(env), timeout=15, what="the second")
        assert relay._conn is not None and relay._conn.get_server_pid() != pid
    # The cut may have hit the relay between publishing "before" and marking it
    # sent: then "before" is published again, with the same id (at least once).
    messages = env.broker.messages("orders.shipped")
    assert [m.body for m in messages][-1] == b"after"
    assert set(bodies(env)) == {b"before", b"after"}
    ids: dict[bytes, set[str]] = {}
    for m in messages:
        ids.setdefault(m.body, set()).add(m.headers[MESSAGE_ID_HEADER])
    assert all(len(one) == 1 for one in ids.values())
    assert all(r["sent_at"] is not None for r in await env.outbox())


class SlowBroker(MemoryBroker):
    """Confirms each publish after a pause, so a drain meets a batch in flight."""

    async def publish(
        self,
        target: str,
        body: bytes,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        await asyncio.sleep(0.02)
        await super().publish(target, body, key=key, headers=headers)


async def test_a_drain_finishes_the_batch_in_flight(env: Env) -> None:
    slow = SlowBroker("events")
    await slow.connect()
    publisher: Publisher[bytes] = Publisher(
        name="shipped", broker=slow, target="orders.shipped", outbox=env.effects
    )
    for i in range(20):
        await publisher.publish(str(i).encode())
    relay = OutboxRelay(effects=env.effects, publishers=[publisher], batch=10)
    assert isinstance(relay, Component)
    await relay.start()
    await until(lambda: len(slow.messages("orders.shipped")) >= 1, what="a send")
    assert await relay.drain(5.0)
    await relay.close()
    sent = len(slow.messages("orders.shipped"))
    assert sent == 10  # the batch in flight, no more
    rows = await env.outbox()
    assert len([r for r in rows if r["sent_at"] is not None]) == 10


async def test_a_failed_publish_marks_those_before_it_and_retries(env: Env) -> None:
    class Flaky(MemoryBroker):
        fail = 1

        async def publish(
            self,
            target: str,
            body: bytes,
            *,
            key: str | None = None,
            headers: Mapping[str, str] | None = None,
        ) -> None:
            if body == b"2" and self.fail:
                self.fail -= 1
                raise ConnectionError("the broker is away")
            await super().publish(target, body, key=key, headers=headers)

    flaky = Flaky("events")
    await flaky.connect()
    publisher: Publisher[bytes] = Publisher(
        name="shipped", broker=flaky, target="orders.shipped", outbox=env.effects
    )
    for i in range(4):
        await publisher.publish(str(i).encode())
    relay = OutboxRelay(effects=env.effects, publishers=[publisher])
    await relay.start()
    try:
        await until(lambda: len(flaky.messages("orders.shipped")) == 4, what="all four")
    finally:
        await relay.drain(5.0)
        await relay.close()
    assert [m.body for m in flaky.messages("orders.shipped")] == [
        b"0",
        b"1",
        b"2",
        b"3",
    ]


async def test_sent_rows_are_pruned_after_the_retention(env: Env) -> None:
    publisher = shipped(env)
    await publisher.publish(b"old")
    await publisher.publish(b"pending")
    await env.db.execute(
        f"UPDATE {env.table('outbox')} SET sent_at = now() - interval '2 hours'"
        " WHERE body = 'old'"
    )
    deleted = await env.effects.prune()
    assert deleted == {"outbox": 1}
    [row] = await env.outbox()
    assert row["sent_at"] is None


def test_the_relay_refuses_a_publisher_of_no_outbox(env: Env) -> None:
    direct: Publisher[bytes] = Publisher(name="direct", broker=env.broker, target="t")
    with pytest.raises(ConfigurationError, match="'direct' does not write to this"):
        OutboxRelay(effects=env.effects, publishers=[direct])
    with pytest.raises(ConfigurationError, match="batch >= 1"):
        OutboxRelay(effects=env.effects, publishers=[], batch=0)


async def test_a_notice_wakes_the_relay_and_a_poll_finds_a_row_without_one(
    env: Env,
) -> None:
    publisher = shipped(env)
    async with relaying(env, poll=30.0) as relay:  # only a notice can wake it soon
        await until(lambda: relay.pending == 0, what="the relay's first round")
        await publisher.publish(b"notified")
        await until(lambda: bodies(env) == [b"notified"], timeout=3, what="the send")
    async with relaying(env, poll=0.2) as relay:
        await until(lambda: relay.pending == 0, what="the relay's first round")
        await env.db.execute(  # a row whose notice was lost
            f"INSERT INTO {env.table('outbox')}"
            " (id, service, publisher, target, headers, body)"
            " VALUES (gen_random_uuid(), 'shop', 'shipped', 'orders.shipped',"
            " '{}'::jsonb, 'polled')"
        )
        await until(lambda: len(bodies(env)) == 2, timeout=3, what="the poll")
