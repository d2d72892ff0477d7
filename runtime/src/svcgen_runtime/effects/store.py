"""``Effects``: the tables of the dedupe inbox and the transactional outbox, their
migration at start, and the background pass that deletes what expired.

Both features keep their state in PostgreSQL next to the service's own data, so a
handler's writes, its dedupe key and its outbox rows commit in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import uuid
import zlib
from collections.abc import Mapping
from typing import Final

from ..errors import ConfigurationError
from ..resources.database.postgres import PostgresDatabase, current_transaction

log = logging.getLogger(__package__)

MESSAGE_ID_HEADER: Final = "svcgen-message-id"
"""The header every outbox message carries: the row's UUID, stable across
republishes, so a downstream dedupe consumer with the default key drops a repeat."""

_SCHEMA: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_LOCK_CLASS: Final = 0x5367  # "Sg": the first key of svcgen's advisory locks
_MIGRATE: Final = 1
_RELAY: Final = 2


def _lock_id(kind: int, text: str) -> int:
    """A signed 32-bit advisory lock key for ``text`` (the second key of the pair)."""
    value = zlib.crc32(f"{kind}:{text}".encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def ddl(schema: str) -> list[str]:
    """The statements ``Effects.open`` runs, in order (each idempotent); a DBA can run
    them ahead when the service's database user may not create tables."""
    s = f'"{schema}"'
    return [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"CREATE TABLE IF NOT EXISTS {s}.dedupe ("
        " consumer text NOT NULL, key text NOT NULL,"
        " done_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (consumer, key))",
        f"CREATE INDEX IF NOT EXISTS dedupe_done_at ON {s}.dedupe (consumer, done_at)",
        f"CREATE TABLE IF NOT EXISTS {s}.outbox ("
        " seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " id uuid NOT NULL UNIQUE, service text NOT NULL, publisher text NOT NULL,"
        " target text NOT NULL, key text, headers jsonb NOT NULL, body bytea NOT NULL,"
        " created_at timestamptz NOT NULL DEFAULT now(), sent_at timestamptz)",
        f"CREATE INDEX IF NOT EXISTS outbox_pending ON {s}.outbox (service, seq)"
        " WHERE sent_at IS NULL",
        f"CREATE INDEX IF NOT EXISTS outbox_sent ON {s}.outbox (sent_at)"
        " WHERE sent_at IS NOT NULL",
    ]


class Effects:
    """The dedupe inbox and outbox tables of one service in one PostgreSQL database.

    A Resource: list it in ``Application(resources=[database, effects])`` after the
    database. ``open()`` creates the tables if missing and starts the expiry pass;
    ``close()`` stops it.

    Args:
        database: the service's ``PostgresDatabase`` (handlers' writes and the
            effects' rows commit together only on the same database).
        service: the service's name; outbox rows are the relay's of this service.
        schema: where the tables live (``svcgen``; tests use a schema each).
        prune_interval: seconds between two expiry passes.
        prune_batch: rows one DELETE removes at most, so a pass never holds many
            row locks or runs one long statement.
        sent_retention: seconds a sent outbox row is kept (for inspection) before
            the expiry pass deletes it.
    """

    name = "effects"

    def __init__(
        self,
        *,
        database: object,
        service: str,
        schema: str = "svcgen",
        prune_interval: float = 60.0,
        prune_batch: int = 1000,
        sent_retention: float = 3600.0,
    ) -> None:
        if not isinstance(database, PostgresDatabase):
            raise ConfigurationError(
                f"effects of service {service!r} (dedupe, outbox) need a postgres "
                f"database, got {type(database).__name__}: use kind: postgres"
            )
        if not _SCHEMA.match(schema):
            raise ConfigurationError(
                f"effects schema {schema!r} is not a plain lower-case SQL name: use "
                "letters, digits and _ (at most 63)"
            )
        if prune_interval <= 0 or prune_batch < 1 or sent_retention < 0:
            raise ConfigurationError(
                "effects need prune_interval > 0, prune_batch >= 1 and "
                "sent_retention >= 0"
            )
        self.database = database
        self.service = service
        self.schema = schema
        self.prune_interval = prune_interval
        self.prune_batch = prune_batch
        self.sent_retention = sent_retention
        self.windows: dict[str, float] = {}
        """Each dedupe consumer's window in seconds (registered by ``Dedupe``)."""
        self.skipped: dict[str, int] = {}
        """Deliveries each dedupe consumer acked unrun: their key was recorded."""
        self.channel = (
            "svcgen_outbox_"
            + hashlib.sha256(f"{schema}.{service}".encode()).hexdigest()[:16]
        )
        """The LISTEN/NOTIFY channel a committed outbox row wakes the relay on."""
        self.relay_lock = (_LOCK_CLASS, _lock_id(_RELAY, f"{schema}.{service}"))
        self.opened = False
        self._pruner: asyncio.Task[None] | None = None
        self._q = f'"{schema}"'

    def table(self, name: str) -> str:
        """``"schema".name`` of one of the effects' tables."""
        return f"{self._q}.{name}"

    async def open(self) -> None:
        """Create the tables (once, under a lock) and start the expiry pass."""
        if self.opened:
            return
        await self.migrate()
        self.opened = True
        self._pruner = asyncio.create_task(self._prune_loop(), name="effects-prune")

    async def close(self) -> None:
        self.opened = False
        pruner, self._pruner = self._pruner, None
        if pruner is not None:
            pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pruner

    async def migrate(self) -> None:
        """Run ``ddl`` in one transaction under a transaction-level advisory lock:
        replicas starting together would otherwise race on ``CREATE ... IF NOT
        EXISTS`` (it is not atomic against a concurrent create) and fail."""
        async with self.database.transaction() as tx:
            await tx.execute(
                "SELECT pg_advisory_xact_lock($1, $2)",
                _LOCK_CLASS,
                _lock_id(_MIGRATE, self.schema),
            )
            for statement in ddl(self.schema):
                await tx.execute(statement)

    # -- outbox rows -------------------------------------------------------------

    async def write(
        self,
        *,
        publisher: str,
        target: str,
        body: bytes,
        key: str | None,
        headers: Mapping[str, str],
    ) -> uuid.UUID:
        """Insert one outbox row and notify the relay; in the current transaction
        of the database when there is one (the notice is then sent at its commit,
        and nothing at a rollback), else in its own statement. The row's id is
        added to its headers as ``MESSAGE_ID_HEADER``."""
        row_id = uuid.uuid4()
        stored = {**headers, MESSAGE_ID_HEADER: str(row_id)}
        tx = current_transaction(self.database)
        await (self.database if tx is None else tx).query(
            f"WITH row AS (INSERT INTO {self.table('outbox')}"
            " (id, service, publisher, target, key, headers, body)"
            " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) RETURNING id)"
            " SELECT pg_notify($8, '') FROM row",
            row_id,
            self.service,
            publisher,
            target,
            key,
            json.dumps(stored),
            body,
            self.channel,
        )
        return row_id

    # -- expiry --------------------------------------------------------------------

    async def prune(self) -> dict[str, int]:
        """One expiry pass: delete each dedupe consumer's keys completed longer ago
        than its window, and sent outbox rows older than ``sent_retention``, in
        batches of ``prune_batch`` over the completion-time indexes. Returns the
        rows deleted per consumer (and ``"outbox"``)."""
        deleted: dict[str, int] = {}
        for consumer, window in sorted(self.windows.items()):
            deleted[consumer] = await self._batches(
                f"DELETE FROM {self.table('dedupe')} WHERE (consumer, key) IN ("
                f" SELECT consumer, key FROM {self.table('dedupe')}"
                " WHERE consumer = $1"
                " AND done_at < now() - make_interval(secs => $2) LIMIT $3)",
                consumer,
                window,
            )
        deleted["outbox"] = await self._batches(
            f"DELETE FROM {self.table('outbox')} WHERE seq IN ("
            f" SELECT seq FROM {self.table('outbox')} WHERE sent_at IS NOT NULL"
            " AND sent_at < now() - make_interval(secs => $1) AND service = $2"
            " LIMIT $3)",
            self.sent_retention,
            self.service,
        )
        return deleted

    async def _batches(self, sql: str, *params: object) -> int:
        total = 0
        while True:
            n = await self.database.execute(sql, *params, self.prune_batch)
            total += n
            if n < self.prune_batch:
                return total
            await asyncio.sleep(0)

    async def _prune_loop(self) -> None:
        while True:
            await asyncio.sleep(self.prune_interval)
            try:
                await self.prune()
            except Exception as exc:  # the next pass tries again
                log.warning(
                    "effects of %s: the expiry pass failed (%s: %s); next in %.0fs",
                    self.service,
                    type(exc).__name__,
                    exc,
                    self.prune_interval,
                )
