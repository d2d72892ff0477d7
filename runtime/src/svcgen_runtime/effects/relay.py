"""``OutboxRelay``: sends committed outbox rows through their publishers' brokers.

One relay at a time per service does the sending: it holds a session-level
advisory lock (``pg_try_advisory_lock``) on a dedicated connection, outside the
pool. The other replicas' relays stand by and try the lock again every
``standby_poll`` seconds; the lock is released by PostgreSQL when its connection
ends (a crash, a cut connection, a shutdown), so another relay takes over. One
sender publishing rows one after the other in ``seq`` order keeps the order per
key and overall, which ``FOR UPDATE SKIP LOCKED`` with several senders would not
(two replicas could send rows of one key out of order).

The sender reads a batch of pending rows in order, publishes each through the
row's publisher's broker (``broker.publish`` returns once the broker confirmed),
then marks the published ones sent. It wakes on the NOTIFY a committed row sends,
and polls every ``poll`` seconds anyway (a notice missed while reconnecting).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Protocol

from ..brokers.base import Broker
from ..errors import ConfigurationError
from ..retry import RetryPolicy
from .store import MESSAGE_ID_HEADER, Effects

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__package__)

RECONNECT: Final = RetryPolicy(initial=0.2, max=5.0, jitter=False)
"""The pause before connecting again after the relay's connection failed."""
APPLICATION_NAME: Final = "svcgen-outbox-relay"
"""The relay connection's ``application_name`` (seen in ``pg_stat_activity``)."""


class Sender(Protocol):
    """What the relay needs of a ``Publisher``: its name (stored in each row) and
    its broker."""

    name: str
    broker: Broker


class OutboxRelay:
    """A Component: ``Application(components=[OutboxRelay(...)])``.

    Args:
        effects: the service's ``Effects``.
        publishers: the outbox publishers whose rows this relay sends; a row of
            another publisher (one a newer version of the service added) waits for a
            relay that knows it.
        batch: rows read and marked per round trip.
        poll: seconds between two looks for pending rows when no notice came: the
            bound of the latency when a notice is lost.
        standby_poll: seconds between two tries of the lock while another replica's
            relay holds it.
    """

    name = "outbox-relay"

    def __init__(
        self,
        *,
        effects: Effects,
        publishers: Sequence[Sender],
        batch: int = 100,
        poll: float = 1.0,
        standby_poll: float = 2.0,
    ) -> None:
        if batch < 1 or poll <= 0 or standby_poll <= 0:
            raise ConfigurationError(
                "the outbox relay needs batch >= 1, poll > 0 and standby_poll > 0"
            )
        for p in publishers:
            if getattr(p, "outbox", effects) is not effects:
                raise ConfigurationError(
                    f"publisher {p.name!r} does not write to this relay's outbox: "
                    "give the relay only publishers made with outbox=<these effects>"
                )
        self.effects = effects
        self.publishers = {p.name: p for p in publishers}
        self.batch = batch
        self.poll = poll
        self.standby_poll = standby_poll
        self.published: dict[str, int] = dict.fromkeys(self.publishers, 0)
        """Rows sent and marked, per publisher, by this replica."""
        self.pending: int | None = None
        """Rows waiting to be sent, as last counted by this relay (None: not yet)."""
        self.leader = False
        """True while this replica's relay holds the lock and sends."""
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None
        self._failures = 0

    @property
    def ready(self) -> bool:
        """Running (sending or standing by); a lost database does not make the
        service unready: rows wait in the table meanwhile."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    def stop_intake(self) -> None:
        """Stop after the batch in flight (it is published and marked first)."""
        self._stopping = True
        self._wake.set()

    async def drain(self, timeout: float) -> bool:
        self.stop_intake()
        task = self._task
        if task is None:
            return True
        done, _ = await asyncio.wait({task}, timeout=max(timeout, 0.0))
        return bool(done)

    async def force(self) -> None:
        """Cancel the batch in flight: rows published but not yet marked are sent
        again by the next relay (with the same message id)."""
        await self._cancel()

    async def close(self) -> None:
        self.stop_intake()
        await self._cancel()

    async def _cancel(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._disconnect()

    # -- the loop ------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._connect()
                if await self._lead():
                    await self._send_until_stopped()
                else:  # a standby keeps its connection for the next try
                    self._failures = 0
                    await self._sleep(self.standby_poll)
            except Exception as exc:  # a lost database or broker: back off, retry
                self._failures += 1
                failures = self._failures
                if self.leader:  # the gauge shows the backlog a broker outage makes
                    with contextlib.suppress(Exception):
                        self.pending = await self._count()
                await self._disconnect()
                delay = RECONNECT.delay(failures)
                log.warning(
                    "outbox relay of %s failed (%s: %s); retrying in %.1fs",
                    self.effects.service,
                    type(exc).__name__,
                    exc,
                    delay,
                )
                await self._sleep(delay)
        self.leader = False
        await self._disconnect()

    async def _connect(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            return
        conn = await self.effects.database.connect(application_name=APPLICATION_NAME)
        self._conn = conn
        await conn.add_listener(self.effects.channel, self._notified)

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def _lead(self) -> bool:
        """Try the service's relay lock: True when this relay holds it now."""
        conn = self._live()
        got = bool(
            await conn.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", *self.effects.relay_lock
            )
        )
        if got and not self.leader:
            log.info("outbox relay of %s: sending (lock held)", self.effects.service)
        self.leader = got
        return got

    async def _send_until_stopped(self) -> None:
        while not self._stopping:
            self._wake.clear()
            sent = await self.send_batch()
            self._failures = 0  # the backoff grows only over failures in a row
            if sent == self.batch:
                continue  # more may wait: no sleep between full batches
            self.pending = await self._count()
            await self._sleep(self.poll)

    async def send_batch(self) -> int:
        """Publish one batch of pending rows in order, then mark them sent; return
        how many were sent. A failed publish marks those before it and raises."""
        conn = self._live()
        table = self.effects.table("outbox")
        rows = await conn.fetch(
            f"SELECT seq, publisher, target, key, headers, body FROM {table}"
            " WHERE service = $1 AND sent_at IS NULL AND publisher = ANY($2::text[])"
            " ORDER BY seq LIMIT $3",
            self.effects.service,
            list(self.publishers),
            self.batch,
        )
        done: list[tuple[int, str]] = []
        try:
            for row in rows:
                publisher = self.publishers[row["publisher"]]
                headers = json.loads(row["headers"])
                try:
                    await publisher.broker.publish(
                        row["target"],
                        bytes(row["body"]),
                        key=row["key"],
                        headers=headers,
                    )
                except Exception:
                    log.warning(
                        "outbox relay of %s: publishing row %s of publisher %s to "
                        "%r failed; the rows after it wait for it",
                        self.effects.service,
                        headers.get(MESSAGE_ID_HEADER),
                        publisher.name,
                        row["target"],
                    )
                    raise
                done.append((row["seq"], publisher.name))
        finally:
            if done:
                await asyncio.shield(self._mark(conn, table, done))
        return len(done)

    async def _mark(
        self, conn: asyncpg.Connection, table: str, done: list[tuple[int, str]]
    ) -> None:
        await conn.execute(
            f"UPDATE {table} SET sent_at = now() WHERE seq = ANY($1::bigint[])",
            [seq for seq, _ in done],
        )
        for _, name in done:
            self.published[name] = self.published.get(name, 0) + 1

    async def _count(self) -> int:
        """Pending rows of this service: every publisher's (over the partial index)."""
        value = await self._live().fetchval(
            f"SELECT count(*) FROM {self.effects.table('outbox')}"
            " WHERE service = $1 AND sent_at IS NULL",
            self.effects.service,
        )
        return int(value)

    def _live(self) -> asyncpg.Connection:
        conn = self._conn
        if conn is None or conn.is_closed():
            raise ConnectionError("the outbox relay's connection is closed")
        return conn

    async def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when a notice (or stop) wakes the relay."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        self.leader = False
        if conn is None:
            return
        try:
            await asyncio.wait_for(conn.close(), timeout=5.0)
        except Exception:
            conn.terminate()
