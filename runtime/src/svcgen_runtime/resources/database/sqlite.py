"""``SqliteDatabase``: SQLite through the stdlib ``sqlite3``, on one dedicated thread;
placeholders ``?``."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from ...errors import ConfigurationError
from .base import (
    DatabaseError,
    IntegrityError,
    Queries,
    Row,
    check_sql,
    ended_error,
    not_open_error,
    to_rows,
)

_T = TypeVar("_T")


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
            raise ended_error()
        return self._db

    async def query(self, sql: str, *params: Any) -> list[Row]:
        return await self._live()._query(sql, params, limit=None)

    async def query_one(self, sql: str, *params: Any) -> Row | None:
        rows = await self._live()._query(sql, params, limit=1)
        return rows[0] if rows else None

    async def execute(self, sql: str, *params: Any) -> int:
        return await self._live()._execute(sql, params)


class _Opened(NamedTuple):
    conn: sqlite3.Connection
    executor: ThreadPoolExecutor
    """The one thread every call on ``conn`` runs on."""


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

    def _connection(self) -> _Opened:
        if self._conn is None or self._executor is None:
            raise not_open_error(self.name)
        return _Opened(self._conn, self._executor)

    async def _run(self, fn: Callable[[], _T]) -> _T:
        executor = self._connection().executor
        return await asyncio.get_running_loop().run_in_executor(executor, fn)

    async def _query(
        self, sql: str, params: tuple[Any, ...], *, limit: int | None
    ) -> list[Row]:
        text = check_sql(self.name, sql)
        conn = self._connection().conn

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
                    return to_rows(self.name, names, values)
                finally:
                    cursor.close()

        return await self._run(run)

    async def _execute(self, sql: str, params: tuple[Any, ...]) -> int:
        text = check_sql(self.name, sql)
        conn = self._connection().conn

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
        conn = self._connection().conn
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
        conn = self._connection().conn
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
