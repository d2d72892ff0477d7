"""Dedupe consumers against a real PostgreSQL and the in-memory broker: the key is
recorded with the handler's work, a recorded key is acked unrun, a failure records
nothing, and expiry deletes only old keys."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from svcgen_runtime import Application, Consumer, InboundMessage, Publisher, Retry
from svcgen_runtime.effects import MESSAGE_ID_HEADER, Dedupe, Effects
from svcgen_runtime.errors import ConfigurationError
from svcgen_runtime.message import DLQ_ERROR_TYPE
from svcgen_runtime.metrics import exposition
from svcgen_runtime.overrides import tunings
from svcgen_runtime.resources import IntegrityError, PostgresDatabase, SqliteDatabase
from svcgen_runtime.retry import RetryPolicy
from tests.support import until

from .conftest import PG_URL, Env

Handler = Callable[[bytes, InboundMessage], Awaitable[Any]]


@asynccontextmanager
async def consuming(
    env: Env,
    handler: Handler,
    *,
    name: str = "paid",
    group: str | None = None,
    key: str = f"header:{MESSAGE_ID_HEADER}",
    attempts: int = 1,
    backoff: float = 0.01,
) -> AsyncIterator[Consumer[bytes]]:
    consumer: Consumer[bytes] = Consumer(
        name=name,
        broker=env.broker,
        source="orders.paid",
        group=group,
        handler=handler,
        retry=RetryPolicy(max_attempts=attempts, initial=backoff, jitter=False),
        dedupe=Dedupe(effects=env.effects, key=key),
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.drain(5.0)
        await consumer.close()


def send(env: Env, message_id: str | None, body: bytes = b"{}") -> None:
    headers = {} if message_id is None else {MESSAGE_ID_HEADER: message_id}
    env.broker.publish_nowait("orders.paid", body, headers=headers)


async def test_a_redelivered_recorded_key_is_acked_without_the_handler(
    env: Env,
) -> None:
    runs: list[str] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        runs.append(msg.headers[MESSAGE_ID_HEADER])
        await env.db.execute(
            f"INSERT INTO {env.table('orders')} (id) VALUES ($1)", msg.id
        )

    async with consuming(env, handle) as consumer:
        send(env, "m-1")
        await until(lambda: consumer.stats.acked == 1, what="the first ack")
        send(env, "m-1")  # the same message again (a redelivery, a republish)
        send(env, "m-2")
        await until(lambda: consumer.stats.acked == 3, what="three acks")
    assert runs == ["m-1", "m-2"]
    assert await env.keys() == [("paid", "m-1"), ("paid", "m-2")]
    assert env.effects.skipped == {"paid": 1}
    orders = await env.db.query(f"SELECT id FROM {env.table('orders')}")
    assert len(orders) == 2  # the handler's writes committed with the keys
    app = Application(name="shop", consumers=[consumer], resources=[env.effects])
    text = (await exposition(app)).decode()
    assert 'svcgen_dedupe_skipped_total{service="shop",consumer="paid"} 1\n' in text


async def test_a_concurrent_duplicate_runs_the_handler_once(env: Env) -> None:
    """Two consumers (two replicas, here two groups so both get the message) take
    the same message at once: the second waits on the first's row lock, then sees
    the key recorded."""
    started = asyncio.Event()
    runs = 0

    async def handle(body: bytes, msg: InboundMessage) -> None:
        nonlocal runs
        runs += 1
        started.set()
        await asyncio.sleep(0.5)  # the duplicate arrives meanwhile
        await env.db.execute(
            f"INSERT INTO {env.table('orders')} (id) VALUES ($1)", f"o-{runs}"
        )

    async with (
        consuming(env, handle, group="replica-a") as a,
        consuming(env, handle, group="replica-b") as b,
    ):
        send(env, "m-1")
        await until(lambda: a.stats.acked + b.stats.acked == 2, what="both acks")
    assert runs == 1
    assert env.effects.skipped == {"paid": 1}
    assert await env.keys() == [("paid", "m-1")]
    assert len(await env.db.query(f"SELECT id FROM {env.table('orders')}")) == 1


async def test_a_handler_error_records_nothing_and_publishes_nothing(env: Env) -> None:
    shipped: Publisher[bytes] = Publisher(
        name="shipped", broker=env.broker, target="orders.shipped", outbox=env.effects
    )
    calls = 0

    async def handle(body: bytes, msg: InboundMessage) -> None:
        nonlocal calls
        calls += 1
        await env.db.execute(f"INSERT INTO {env.table('orders')} (id) VALUES ('x')")
        await shipped.publish(b"shipped")
        if calls == 1:
            raise RuntimeError("the first attempt fails")

    async with consuming(env, handle, attempts=3, backoff=1.0) as consumer:
        send(env, "m-1")
        await until(lambda: consumer.stats.errors == 1, what="the failure")
        assert await env.keys() == []
        assert await env.outbox() == []
        assert await env.db.query(f"SELECT id FROM {env.table('orders')}") == []
        await until(lambda: consumer.stats.acked == 1, what="the retry's ack")
    # the retry ran the handler again (the key was not recorded) and committed
    assert calls == 2
    assert await env.keys() == [("paid", "m-1")]
    assert len(await env.outbox()) == 1


async def test_a_retry_outcome_rolls_back_and_runs_again(env: Env) -> None:
    calls = 0

    async def handle(body: bytes, msg: InboundMessage) -> Retry | None:
        nonlocal calls
        calls += 1
        await env.db.execute(
            f"INSERT INTO {env.table('orders')} (id) VALUES ($1)", str(calls)
        )
        return Retry(after=0.01) if calls == 1 else None

    async with consuming(env, handle, attempts=3) as consumer:
        send(env, "m-1")
        await until(lambda: consumer.stats.acked == 1, what="the ack")
    assert calls == 2
    rows = await env.db.query(f"SELECT id FROM {env.table('orders')}")
    assert [r["id"] for r in rows] == ["2"]  # the first run's write was undone


async def test_a_message_without_its_key_is_dead_lettered_at_once(env: Env) -> None:
    runs = 0

    async def handle(body: bytes, msg: InboundMessage) -> None:
        nonlocal runs
        runs += 1

    async with consuming(env, handle, attempts=5) as consumer:
        send(env, None)
        await until(lambda: consumer.stats.dead_lettered == 1, what="the dead letter")
    assert runs == 0
    assert consumer.stats.retried == 0  # poison: no retry could help
    [dead] = env.broker.messages("orders.paid.dlq")
    assert dead.headers[DLQ_ERROR_TYPE] == "DedupeKeyError"
    assert await env.keys() == []


async def test_a_body_field_is_a_key(env: Env) -> None:
    runs: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        runs.append(body)

    async with consuming(env, handle, key="body:order_id") as consumer:
        for order in (7, 7, "8"):
            send(env, None, json.dumps({"order_id": order}).encode())
        send(env, None, b"[1, 2]")  # not an object: poison
        await until(
            lambda: consumer.stats.acked == 3 and consumer.stats.dead_lettered == 1,
            what="three acks and a dead letter",
        )
    assert len(runs) == 2
    assert await env.keys() == [("paid", "7"), ("paid", "8")]


async def test_a_nested_transaction_in_a_handler_is_a_savepoint(env: Env) -> None:
    async def handle(body: bytes, msg: InboundMessage) -> None:
        await env.db.execute(f"INSERT INTO {env.table('orders')} (id) VALUES ('a')")
        with pytest.raises(RuntimeError):
            async with env.db.transaction() as tx:
                await tx.execute(f"INSERT INTO {env.table('orders')} (id) VALUES ('b')")
                raise RuntimeError("undo only b")
        async with env.db.transaction() as tx:
            await tx.execute(f"INSERT INTO {env.table('orders')} (id) VALUES ('c')")

    async with consuming(env, handle) as consumer:
        send(env, "m-1")
        await until(lambda: consumer.stats.acked == 1, what="the ack")
    rows = await env.db.query(f"SELECT id FROM {env.table('orders')} ORDER BY id")
    assert [r["id"] for r in rows] == ["a", "c"]


async def test_expiry_deletes_old_keys_only(env: Env) -> None:
    effects = env.effects
    effects.prune_batch = 3  # several batches
    Dedupe(effects=effects, window=3600.0).wrap("short", _noop)
    Dedupe(effects=effects, window=30 * 86400.0).wrap("long", _noop)
    table = env.table("dedupe")
    for consumer in ("short", "long"):
        for i in range(7):  # old: two hours ago
            await env.db.execute(
                f"INSERT INTO {table} (consumer, key, done_at)"
                " VALUES ($1, $2, now() - interval '2 hours')",
                consumer,
                f"old-{i}",
            )
        await env.db.execute(
            f"INSERT INTO {table} (consumer, key) VALUES ($1, 'new')", consumer
        )
    deleted = await effects.prune()
    assert deleted == {"long": 0, "short": 7, "outbox": 0}
    keys = await env.keys()
    assert ("short", "new") in keys
    assert [k for k in keys if k[0] == "short"] == [("short", "new")]
    assert len([k for k in keys if k[0] == "long"]) == 8


async def test_the_expiry_pass_runs_in_the_background_and_stops_on_close(
    env: Env,
) -> None:
    effects = Effects(
        database=env.db, service="shop", schema=env.schema, prune_interval=0.05
    )
    Dedupe(effects=effects, window=60.0).wrap("paid", _noop)
    await effects.open()
    await env.db.execute(
        f"INSERT INTO {env.table('dedupe')} (consumer, key, done_at)"
        " VALUES ('paid', 'old', now() - interval '1 hour')"
    )
    await _until_keys(env, [])  # the pass ran at least once
    await effects.close()
    assert effects._pruner is None


async def _until_keys(env: Env, expected: list[tuple[str, str]]) -> None:
    for _ in range(100):
        if await env.keys() == expected:
            return
        await asyncio.sleep(0.05)
    assert await env.keys() == expected


async def _noop(body: bytes, msg: InboundMessage) -> None:
    return None


async def test_the_migration_is_safe_for_replicas_starting_together(env: Env) -> None:
    schema = env.schema + "_b"
    replicas = [
        Effects(database=env.db, service="shop", schema=schema) for _ in range(4)
    ]
    try:
        await asyncio.gather(*(e.open() for e in replicas))
        assert await env.db.query_one(
            "SELECT count(*) AS n FROM pg_tables WHERE schemaname = $1", schema
        ) == {"n": 2}
    finally:
        await asyncio.gather(*(e.close() for e in replicas))
        await env.db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def test_wrong_settings_are_refused_in_one_sentence(tmp_path: Any) -> None:
    sqlite = SqliteDatabase(name="db", path=tmp_path / "x.db")
    with pytest.raises(ConfigurationError, match="need a postgres database"):
        Effects(database=sqlite, service="shop")
    db = PostgresDatabase(name="db", url=PG_URL)
    with pytest.raises(ConfigurationError, match="plain lower-case SQL name"):
        Effects(database=db, service="shop", schema='x"; DROP TABLE y; --')
    effects = Effects(database=db, service="shop")
    with pytest.raises(ConfigurationError, match="'header:<name>' or 'body:<field>'"):
        Dedupe(effects=effects, key="query:id")
    with pytest.raises(ConfigurationError, match="window must be positive"):
        Dedupe(effects=effects, window=0)
    one = Dedupe(effects=effects)
    one.wrap("a", _noop)
    with pytest.raises(ConfigurationError, match="one Dedupe serves one consumer"):
        one.wrap("b", _noop)


def test_the_window_is_a_tuning_number_overridden_at_start() -> None:
    @dataclasses.dataclass
    class Settings:
        consumer_paid_dedupe_window: float = 7 * 86400.0

    env = {"SVCGEN_CONSUMER_PAID_DEDUPE_WINDOW": "3d"}
    with pytest.raises(
        ConfigurationError, match="DEDUPE_WINDOW='3d' is not a duration"
    ):
        tunings(Settings, env)
    env["SVCGEN_CONSUMER_PAID_DEDUPE_WINDOW"] = "72h"
    assert tunings(Settings, env) == {"consumer_paid_dedupe_window": 72 * 3600.0}
    assert tunings(Settings, {}) == {"consumer_paid_dedupe_window": 7 * 86400.0}


async def test_a_caught_statement_error_fails_the_message_not_loses_it(
    env: Env,
) -> None:
    """PostgreSQL would answer COMMIT of the aborted transaction with a silent
    rollback; the message would be acked with its work undone."""
    calls = 0

    async def handle(body: bytes, msg: InboundMessage) -> None:
        nonlocal calls
        calls += 1
        await env.db.execute(f"INSERT INTO {env.table('orders')} (id) VALUES ('a')")
        if calls == 1:
            with contextlib.suppress(IntegrityError):
                await env.db.execute(
                    f"INSERT INTO {env.table('orders')} (id) VALUES ('a')"
                )

    async with consuming(env, handle, attempts=3) as consumer:
        send(env, "m-1")
        await until(lambda: consumer.stats.acked == 1, what="the retry's ack")
    assert calls == 2
    assert consumer.stats.errors == 1
    assert await env.keys() == [("paid", "m-1")]
    rows = await env.db.query(f"SELECT id FROM {env.table('orders')}")
    assert [r["id"] for r in rows] == ["a"]
