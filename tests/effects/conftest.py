"""Fixtures of the effects tests: a real PostgreSQL, one random schema per test."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from svcgen_runtime.brokers.memory import MemoryBroker
from svcgen_runtime.effects import Effects
from svcgen_runtime.resources import PostgresDatabase

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Env:
    db: PostgresDatabase
    effects: Effects
    schema: str
    broker: MemoryBroker

    def table(self, name: str) -> str:
        return f'"{self.schema}".{name}'

    async def outbox(self) -> list[dict[str, object]]:
        rows = await self.db.query(
            f"SELECT id, publisher, target, key, headers, sent_at"
            f" FROM {self.table('outbox')} ORDER BY seq"
        )
        return [dict(r) for r in rows]

    async def keys(self) -> list[tuple[str, str]]:
        rows = await self.db.query(
            f"SELECT consumer, key FROM {self.table('dedupe')} ORDER BY consumer, key"
        )
        return [(r["consumer"], r["key"]) for r in rows]


def new_schema() -> str:
    return f"svcgen_fx_{secrets.token_hex(6)}"


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    schema = new_schema()
    db = PostgresDatabase(name="db", url=PG_URL, max_size=8)
    await db.open()
    effects = Effects(database=db, service="shop", schema=schema)
    broker = MemoryBroker("events")
    await broker.connect()
    try:
        await effects.open()
        await db.execute(
            f'CREATE TABLE "{schema}".orders (id text PRIMARY KEY, note text)'
        )
        yield Env(db=db, effects=effects, schema=schema, broker=broker)
    finally:
        await effects.close()
        await broker.close()
        await db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await db.close()
