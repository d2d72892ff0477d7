"""The database resource: query/execute/transaction with bound parameters only.

Two implementations behind one Protocol: ``SqliteDatabase`` (stdlib sqlite3 on one
dedicated thread, the embedded default; placeholders ``?``) and
``PostgresDatabase`` (an asyncpg pool; needs the ``postgres`` extra; placeholders
``$1``, ``$2`` …).

Bound parameters are mandatory by construction: every method takes the SQL text as
one ``str`` and the values as separate positional ``params``, which the driver sends
apart from the text, so a value can never change the statement. Nothing here
formats values into SQL, and one call runs exactly one statement (both drivers
refuse a second one), which limits what an injected string could do. Do not build
SQL text from values (f-strings, ``%``, ``+``); pass them as params.

Rows are read-only mappings of column name to value; a result with two columns of
the same name is refused (alias one of them).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from ..errors import ConfigurationError, SvcgenRuntimeError, require
from .cache import _redact

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

__all__ = [
    "Database",
    "DatabaseError",
    "DatabaseTimeoutError",
    "IntegrityError",
    "PostgresDatabase",
    "Queries",
    "Row",
    "SqliteDatabase",
]

Row = Mapping[str, Any]
"""One result row: a read-only mapping of column name to value."""

_T = TypeVar("_T")


class DatabaseError(SvcgenRuntimeError):
    """A database was used wrongly (not open, bad SQL argument) or a statement failed."""


class DatabaseTimeoutError(DatabaseError, TimeoutError):
    """A statement (or connecting) took longer than its timeout."""


class IntegrityError(DatabaseError):
    """A statement violated a constraint (unique, foreign key, not null, check)."""


@runtime_checkable
class Queries(Protocol):
    """Running statements: on the database itself, or inside a transaction."""

    async def query(self, sql: str, *params: Any) -> list[Row]:
        """Run one statement with bound ``params``; return every row."""

    async def query_one(self, sql: str, *params: Any) -> Row | None:
        """Run one statement with bound ``params``; return its first row, or None."""

    async def execute(self, sql: str, *params: Any) -> int:
        """Run one statement with bound ``params``; return the number of rows affected."""


@runtime_checkable
class Database(Queries, Protocol):
    """A SQL database, opened by the Application before any consumer starts."""

    name: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[Queries]:
        """``async with db.transaction() as tx:`` — statements on ``tx`` commit together
        when the block ends normally and roll back when it raises (or is cancelled)."""


# -- shared checks ------------------------------------------------------------


def _check_sql(db: str, sql: object) -> str:
    if not isinstance(sql, str):
        raise DatabaseError(
            f"database {db!r} takes the SQL text as a str and the values as separate "
            f"params, got {type(sql).__name__}: write db.query('... WHERE id = ?', value)"
        )
    if not sql.strip():
        raise DatabaseError(f"database {db!r} was given empty SQL: pass one statement")
    return sql


def _not_open(db: str) -> DatabaseError:
    return DatabaseError(
        f"database {db!r} is not open: the Application opens resources at start, "
        "so outside one call `await db.open()` first"
    )


def _ended() -> DatabaseError:
    return DatabaseError(
        "the transaction has ended: run its statements inside the "
        "`async with db.transaction() as tx:` block"
    )


def _columns(db: str, names: Sequence[str]) -> Sequence[str]:
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise DatabaseError(
            f"a query on database {db!r} returned several columns named "
            f"{', '.join(map(repr, dupes))}: give them distinct names with AS"
        )
    return names


def _rows(db: str, names: Sequence[str], values: list[Any]) -> list[Row]:
    _columns(db, names)
    return [MappingProxyType(dict(zip(names, v, strict=True))) for v in values]


# -- sqlite -------------------------------------------------------------------

_inside: contextvars.ContextVar[_SqliteQueries | None] = contextvars.ContextVar(
    "svcgen_sqlite_transaction", default=None
)
"""The sqlite transaction the current task (or the task that created it) runs in."""


@contextlib.contextmanager
def _sqlite_errors(db: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(f"database {db!r}: {exc}") from exc
    except sqlite3.Error as exc:
        raise DatabaseError(f"database {db!r}: {type(exc).__name__}: {exc}") from exc


class _SqliteQueries:
    """Statements on the one sqlite connection; the owner holds the database lock."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        self.ended = False

    def _live(self) -> SqliteDatabase:
        if self.ended:
            raise _ended()
        return self._db

    async def query(self, sql: str, *params: Any) -> list[Row]:
        return await self._live()._query(sql, params, limit=None)

    async def query_one(self, sql: str, *params: Any) -> Row | None:
        rows = await self._live()._query(sql, params, limit=1)
        return rows[0] if rows else None

    async def execute(self, sql: str, *params: Any) -> int:
        return await self._live()._execute(sql, params)


class SqliteDatabase:
    """SQLite through the stdlib ``sqlite3``, on one dedicated worker thread.

    One connection (autocommit; ``BEGIN IMMEDIATE`` … ``COMMIT`` for transactions)
    serves every call, one at a time: statements and whole transactions are
    serialized by a lock, which is also what SQLite does with writers. Inside
    ``async with db.transaction() as tx`` use ``tx``; calling ``db`` itself there
    would wait for the transaction forever, so it raises instead. Foreign keys are
    enforced; a file database uses WAL journaling.

    Args:
        name: the resource's name, for logs and errors.
        path: the database file (parent folders are created), or ``":memory:"``.
        busy_timeout: seconds to wait for another process's lock on the file.
    """

    def __init__(
        self, *, name: str, path: str | os.PathLike[str], busy_timeout: float = 5.0
    ) -> None:
        if busy_timeout < 0:
            raise ConfigurationError(
                f"SqliteDatabase {name!r} busy_timeout must be >= 0 seconds, got {busy_timeout!r}"
            )
        self.name = name
        self.path = os.fspath(path)
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        if self._conn is not None:
            return
        executor = ThreadPoolExecutor(1, thread_name_prefix=f"sqlite-{self.name}")
        loop = asyncio.get_running_loop()
        try:
            self._conn = await loop.run_in_executor(executor, self._connect)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self._executor = executor

    def _connect(self) -> sqlite3.Connection:
        memory = self.path == ":memory:" or self.path.startswith("file::memory:")
        try:
            if not memory:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None
            )
        except (sqlite3.Error, OSError) as exc:
            raise DatabaseError(
                f"database {self.name!r} cannot open the sqlite file {self.path!r} "
                f"({exc}): check that its folder is writable"
            ) from exc
        try:
            with _sqlite_errors(self.name):
                conn.execute("PRAGMA foreign_keys = ON")
                if not memory:
                    conn.execute("PRAGMA journal_mode = WAL")
        except BaseException:
            conn.close()
            raise
        return conn

    async def close(self) -> None:
        conn, executor = self._conn, self._executor
        self._conn = self._executor = None
        if conn is None or executor is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(executor, conn.close)
        finally:
            executor.shutdown(wait=False)

    # -- internals -------------------------------------------------------------

    def _connection(self) -> tuple[sqlite3.Connection, ThreadPoolExecutor]:
        if self._conn is None or self._executor is None:
            raise _not_open(self.name)
        return self._conn, self._executor

    async def _run(self, fn: Callable[[], _T]) -> _T:
        _, executor = self._connection()
        return await asyncio.get_running_loop().run_in_executor(executor, fn)

    async def _query(
        self, sql: str, params: tuple[Any, ...], *, limit: int | None
    ) -> list[Row]:
        text = _check_sql(self.name, sql)
        conn, _ = self._connection()

        def run() -> list[Row]:
            with _sqlite_errors(self.name):
                cursor = conn.execute(text, params)
                try:
                    if cursor.description is None:
                        return []
                    names = [d[0] for d in cursor.description]
                    values = (
                        cursor.fetchall() if limit is None else cursor.fetchmany(limit)
                    )
                    return _rows(self.name, names, values)
                finally:
                    cursor.close()

        return await self._run(run)

    async def _execute(self, sql: str, params: tuple[Any, ...]) -> int:
        text = _check_sql(self.name, sql)
        conn, _ = self._connection()

        def run() -> int:
            with _sqlite_errors(self.name):
                cursor = conn.execute(text, params)
                try:
                    return max(cursor.rowcount, 0)
                finally:
                    cursor.close()

        return await self._run(run)

    def _outside_transaction(self) -> None:
        # Tasks created inside a transaction inherit this context; once it has
        # ended, the database is theirs to call again.
        tx = _inside.get()
        if tx is not None and tx._db is self and not tx.ended:
            raise DatabaseError(
                f"database {self.name!r} was called directly inside its own "
                "transaction, which would wait for that transaction forever: "
                "use the `tx` object of `async with db.transaction() as tx`"
            )

    def _rollback(self) -> None:
        conn, _ = self._connection()
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    # -- public ----------------------------------------------------------------

    async def query(self, sql: str, *params: Any) -> list[Row]:
        self._outside_transaction()
        async with self._lock:
            return await self._query(sql, params, limit=None)

    async def query_one(self, sql: str, *params: Any) -> Row | None:
        self._outside_transaction()
        async with self._lock:
            rows = await self._query(sql, params, limit=1)
        return rows[0] if rows else None

    async def execute(self, sql: str, *params: Any) -> int:
        self._outside_transaction()
        async with self._lock:
            return await self._execute(sql, params)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queries]:
        self._outside_transaction()
        conn, _ = self._connection()
        async with self._lock:
            tx = _SqliteQueries(self)
            token = _inside.set(tx)
            try:
                try:
                    await self._run(lambda: _begin(self.name, conn))
                except BaseException:
                    # A cancelled BEGIN may still run on the thread: undo it there.
                    await self._undo()
                    raise
                try:
                    yield tx
                except BaseException:
                    tx.ended = True
                    await self._undo()
                    raise
                tx.ended = True
                try:
                    await self._run(lambda: _commit(self.name, conn))
                except BaseException:
                    await self._undo()
                    raise
            finally:
                tx.ended = True
                _inside.reset(token)

    async def _undo(self) -> None:
        """Roll back, even when cancelled; a failure here must not hide the cause."""
        with contextlib.suppress(Exception):
            await asyncio.shield(self._run(self._rollback))


def _begin(db: str, conn: sqlite3.Connection) -> None:
    with _sqlite_errors(db):
        conn.execute("BEGIN IMMEDIATE")


def _commit(db: str, conn: sqlite3.Connection) -> None:
    with _sqlite_errors(db):
        conn.execute("COMMIT")


# -- postgres -----------------------------------------------------------------


def _status_count(status: str) -> int:
    """Rows affected from a command tag: ``INSERT 0 3`` → 3, ``CREATE TABLE`` → 0."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PgQueries:
    """Statements on one pooled connection (inside a transaction)."""

    def __init__(self, db: PostgresDatabase, conn: Any) -> None:
        self._db = db
        self._conn = conn
        self.ended = False

    def _live(self) -> Any:
        if self.ended:
            raise _ended()
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
        self._pool: Any = None

    async def open(self) -> None:
        if self._pool is not None:
            return
        import asyncpg

        try:
            self._pool = await asyncpg.create_pool(
                dsn=self.url,
                min_size=self.min_size,
                max_size=self.max_size,
                command_timeout=self.command_timeout,
                timeout=self.connect_timeout,
            )
        except TimeoutError as exc:
            raise DatabaseTimeoutError(
                f"database {self.name!r} could not connect to {_redact(self.url)} "
                f"within connect_timeout={self.connect_timeout}s: check the url and "
                "that the server is reachable"
            ) from exc
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseError(
                f"database {self.name!r} cannot connect to {_redact(self.url)} "
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

    def _open_pool(self) -> Any:
        if self._pool is None:
            raise _not_open(self.name)
        return self._pool

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
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

    async def _query(self, conn: Any, sql: str, params: tuple[Any, ...]) -> list[Row]:
        text = _check_sql(self.name, sql)
        with self._errors():
            records = await conn.fetch(text, *params)
        if not records:
            return []
        return _rows(self.name, list(records[0].keys()), records)

    async def _query_one(
        self, conn: Any, sql: str, params: tuple[Any, ...]
    ) -> Row | None:
        text = _check_sql(self.name, sql)
        with self._errors():
            record = await conn.fetchrow(text, *params)
        if record is None:
            return None
        return _rows(self.name, list(record.keys()), [record])[0]

    async def _execute(self, conn: Any, sql: str, params: tuple[Any, ...]) -> int:
        text = _check_sql(self.name, sql)
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
        async with self._connection() as conn:
            return await self._query(conn, sql, params)

    async def query_one(self, sql: str, *params: Any) -> Row | None:
        async with self._connection() as conn:
            return await self._query_one(conn, sql, params)

    async def execute(self, sql: str, *params: Any) -> int:
        async with self._connection() as conn:
            return await self._execute(conn, sql, params)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queries]:
        async with self._connection() as conn:
            xact = conn.transaction()
            with self._errors():
                await xact.start()
            tx = _PgQueries(self, conn)
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
