"""``PostgresDatabase``: PostgreSQL through an asyncpg connection pool (the ``postgres``
extra, imported only in ``open()``); placeholders ``$1``, ``$2`` ….

A context variable names the transaction the current task runs in (tasks created
inside the block inherit it; once the block has ended they use the pool again):

* every ``db.transaction()`` sets it, so an outbox publisher's ``publish()`` in the
  block writes its row in that transaction (``current_transaction``);
* a *routed* transaction (``db.routed_transaction()``, which a dedupe consumer runs
  its handler in) also routes ``db.query/query_one/execute`` called in the block
  into it, and makes a nested ``db.transaction()`` a savepoint of it: the handler
  only holds ``db``, yet all its work commits with the message's key. A plain
  transaction leaves ``db.*`` on other pooled connections, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from ...errors import ConfigurationError, redacted, require
from .base import (
    DatabaseError,
    DatabaseTimeoutError,
    IntegrityError,
    Queries,
    Row,
    check_sql,
    ended_error,
    not_open_error,
    to_rows,
)

if TYPE_CHECKING:  # the optional postgres extra
    import asyncpg


_current: contextvars.ContextVar[_PgQueries | None] = contextvars.ContextVar(
    "svcgen_postgres_transaction", default=None
)
"""The innermost open transaction of the current task (or the task that created it)."""


def current_transaction(db: PostgresDatabase) -> _PgQueries | None:
    """The open transaction of ``db`` this code runs in, or None."""
    tx = _current.get()
    if tx is None or tx._db is not db or tx.ended:
        return None
    return tx


def _routed(db: PostgresDatabase) -> _PgQueries | None:
    """The open routed transaction of ``db`` this code runs in, or None."""
    tx = current_transaction(db)
    return tx if tx is not None and tx.routes else None


def _status_count(status: str) -> int:
    """Rows affected from a command tag: ``INSERT 0 3`` → 3, ``CREATE TABLE`` → 0."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PgQueries:
    """Statements on one pooled connection (inside a transaction)."""

    def __init__(
        self, db: PostgresDatabase, conn: asyncpg.Connection, routes: bool
    ) -> None:
        self._db = db
        self._conn = conn
        self.routes = routes
        """``db.*`` calls in the block run here (a routed transaction)."""
        self.ended = False

    def _live(self) -> asyncpg.Connection:
        if self.ended:
            raise ended_error()
        return self._conn

    async def query(self, sql: str, *params: Any) -> list[Row]:
        return await self._db._query(self._live(), sql, params)

    async def query_one(self, sql: str, *params: Any) -> Row | None:
        return await self._db._query_one(self._live(), sql, params)

    async def execute(self, sql: str, *params: Any) -> int:
        return await self._db._execute(self._live(), sql, params)


class PostgresDatabase:
    """PostgreSQL through an asyncpg connection pool (the ``postgres`` extra).

    ``open()`` creates the pool (``min_size`` connections at once); each statement
    borrows a connection for its duration, a transaction for the whole block, so
    at most ``max_size`` run at a time and the rest wait for a free connection.

    Args:
        name: the resource's name, for logs and errors.
        url: ``postgresql://user:password@host:port/database``.
        min_size: connections opened at start and kept.
        max_size: the most connections ever open; callers beyond it wait.
        command_timeout: seconds one statement may run before it is cancelled and
            ``DatabaseTimeoutError`` is raised; None for no limit.
        connect_timeout: seconds to establish one connection.
        acquire_timeout: seconds a caller waits for a free connection when all
            ``max_size`` are busy before ``DatabaseTimeoutError``; None to wait.
    """

    def __init__(
        self,
        *,
        name: str,
        url: str,
        min_size: int = 1,
        max_size: int = 10,
        command_timeout: float | None = 30.0,
        connect_timeout: float = 10.0,
        acquire_timeout: float | None = 30.0,
    ) -> None:
        require("asyncpg", "postgres")
        if not url:
            raise ConfigurationError(
                f"PostgresDatabase {name!r} needs a url such as 'postgresql://user@localhost:5432/db'"
            )
        if not 0 <= min_size <= max_size or max_size < 1:
            raise ConfigurationError(
                f"PostgresDatabase {name!r} needs 0 <= min_size <= max_size and "
                f"max_size >= 1, got min_size={min_size} max_size={max_size}"
            )
        if command_timeout is not None and command_timeout <= 0:
            raise ConfigurationError(
                f"PostgresDatabase {name!r} command_timeout must be positive seconds "
                f"or None, got {command_timeout!r}"
            )
        if acquire_timeout is not None and acquire_timeout <= 0:
            raise ConfigurationError(
                f"PostgresDatabase {name!r} acquire_timeout must be positive seconds "
                f"or None, got {acquire_timeout!r}"
            )
        if connect_timeout <= 0:
            raise ConfigurationError(
                f"PostgresDatabase {name!r} connect_timeout must be positive seconds, "
                f"got {connect_timeout!r}"
            )
        self.name = name
        self.url = url
        self.min_size = min_size
        self.max_size = max_size
        self.command_timeout = command_timeout
        self.connect_timeout = connect_timeout
        self.acquire_timeout = acquire_timeout
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        if self._pool is not None:
            return
        import asyncpg

        with self._connecting():
            self._pool = await asyncpg.create_pool(
                dsn=self.url,
                min_size=self.min_size,
                max_size=self.max_size,
                command_timeout=self.command_timeout,
                timeout=self.connect_timeout,
            )

    async def connect(self, **server_settings: str) -> asyncpg.Connection:
        """A dedicated connection outside the pool, with the pool's url and timeouts
        (for a session that must outlive a pooled borrow, such as the outbox relay's
        advisory lock); the caller closes it."""
        import asyncpg

        with self._connecting():
            return await asyncpg.connect(
                dsn=self.url,
                timeout=self.connect_timeout,
                command_timeout=self.command_timeout,
                server_settings=server_settings,
            )

    @contextlib.contextmanager
    def _connecting(self) -> Iterator[None]:
        """A failed connect as one sentence naming the (redacted) url."""
        import asyncpg

        try:
            yield
        except TimeoutError as exc:
            raise DatabaseTimeoutError(
                f"database {self.name!r} could not connect to {redacted(self.url)} "
                f"within connect_timeout={self.connect_timeout}s: check the url and "
                "that the server is reachable"
            ) from exc
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseError(
                f"database {self.name!r} cannot connect to {redacted(self.url)} "
                f"({type(exc).__name__}: {exc}): check the url, credentials and that "
                "the server runs"
            ) from exc

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), timeout=10.0)
        except TimeoutError:
            pool.terminate()

    # -- internals -------------------------------------------------------------

    def _open_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise not_open_error(self.name)
        return self._pool

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, waited for at most ``acquire_timeout`` seconds."""
        pool = self._open_pool()
        try:
            conn = await pool.acquire(timeout=self.acquire_timeout)
        except TimeoutError as exc:
            raise DatabaseTimeoutError(
                f"database {self.name!r} had no free connection within "
                f"acquire_timeout={self.acquire_timeout}s (all max_size={self.max_size} "
                "were busy): raise max_size, or hold connections for less time"
            ) from exc
        try:
            yield conn
        finally:
            await pool.release(conn)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        import asyncpg

        try:
            yield
        except TimeoutError as exc:
            raise DatabaseTimeoutError(
                f"a statement on database {self.name!r} ran longer than "
                f"command_timeout={self.command_timeout}s and was cancelled: make it "
                "faster or raise command_timeout"
            ) from exc
        except asyncpg.QueryCanceledError as exc:
            raise DatabaseTimeoutError(
                f"database {self.name!r} cancelled a statement ({exc}): make it "
                "faster or raise the server's statement_timeout"
            ) from exc
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(f"database {self.name!r}: {exc}") from exc
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseError(
                f"database {self.name!r}: {type(exc).__name__}: {exc}"
            ) from exc

    async def _query(
        self, conn: asyncpg.Connection, sql: str, params: tuple[Any, ...]
    ) -> list[Row]:
        text = check_sql(self.name, sql)
        with self._errors():
            records = await conn.fetch(text, *params)
        if not records:
            return []
        return to_rows(self.name, list(records[0].keys()), records)

    async def _query_one(
        self, conn: asyncpg.Connection, sql: str, params: tuple[Any, ...]
    ) -> Row | None:
        text = check_sql(self.name, sql)
        with self._errors():
            record = await conn.fetchrow(text, *params)
        if record is None:
            return None
        return to_rows(self.name, list(record.keys()), [record])[0]

    async def _execute(
        self, conn: asyncpg.Connection, sql: str, params: tuple[Any, ...]
    ) -> int:
        text = check_sql(self.name, sql)
        with self._errors():
            if params:
                status: str = await conn.execute(text, *params)
            else:
                # Without params asyncpg's execute uses the simple protocol, which
                # accepts several statements; a prepared statement takes only one.
                statement = await conn.prepare(text)
                await statement.fetch()
                status = statement.get_statusmsg()
        return _status_count(status)

    # -- public ----------------------------------------------------------------

    async def query(self, sql: str, *params: Any) -> list[Row]:
        tx = _routed(self)
        if tx is not None:
            return await tx.query(sql, *params)
        async with self._connection() as conn:
            return await self._query(conn, sql, params)

    async def query_one(self, sql: str, *params: Any) -> Row | None:
        tx = _routed(self)
        if tx is not None:
            return await tx.query_one(sql, *params)
        async with self._connection() as conn:
            return await self._query_one(conn, sql, params)

    async def execute(self, sql: str, *params: Any) -> int:
        tx = _routed(self)
        if tx is not None:
            return await tx.execute(sql, *params)
        async with self._connection() as conn:
            return await self._execute(conn, sql, params)

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Queries]:
        """A transaction on one pooled connection; inside a routed transaction of
        this database (in this task), a savepoint of it on the same connection."""
        return self._transaction(routes=False)

    def routed_transaction(self) -> contextlib.AbstractAsyncContextManager[Queries]:
        """A transaction that ``db.query/query_one/execute`` and ``db.transaction()``
        called inside the block (in this task) join; nested in another routed one,
        a savepoint of it."""
        return self._transaction(routes=True)

    @contextlib.asynccontextmanager
    async def _transaction(self, *, routes: bool) -> AsyncIterator[Queries]:
        """A savepoint of the routed transaction this task runs in (routed too), else
        a transaction on a pooled connection that routes ``db.*`` when ``routes``."""
        outer = _routed(self)
        if outer is not None:
            async with self._block(outer._conn, routes=True) as tx:
                yield tx
            return
        async with self._connection() as conn, self._block(conn, routes=routes) as tx:
            yield tx

    @contextlib.asynccontextmanager
    async def _block(
        self, conn: asyncpg.Connection, *, routes: bool
    ) -> AsyncIterator[_PgQueries]:
        """Begin (or a savepoint, as asyncpg does inside a transaction), yield, then
        commit (release) or roll back; the context variable names it meanwhile."""
        xact = conn.transaction()
        with self._errors():
            await xact.start()
        tx = _PgQueries(self, conn, routes)
        token = _current.set(tx)
        try:
            try:
                yield tx
            except BaseException:
                tx.ended = True
                with contextlib.suppress(Exception):
                    await asyncio.shield(xact.rollback())
                raise
            tx.ended = True
            with self._errors():
                await xact.commit()
        finally:
            tx.ended = True
            _current.reset(token)
