"""The database Protocols (``Queries``, ``Database``), its errors and ``Row``, and the
checks every implementation shares (one SQL text, distinct column names)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from ...errors import SvcgenRuntimeError

Row = Mapping[str, Any]
"""One result row: a read-only mapping of column name to value."""


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


def check_sql(db: str, sql: object) -> str:
    if not isinstance(sql, str):
        raise DatabaseError(
            f"database {db!r} takes the SQL text as a str and the values as separate "
            f"params, got {type(sql).__name__}: write db.query('... WHERE id = ?', value)"
        )
    if not sql.strip():
        raise DatabaseError(f"database {db!r} was given empty SQL: pass one statement")
    return sql


def not_open_error(db: str) -> DatabaseError:
    return DatabaseError(
        f"database {db!r} is not open: the Application opens resources at start, "
        "so outside one call `await db.open()` first"
    )


def ended_error() -> DatabaseError:
    return DatabaseError(
        "the transaction has ended: run its statements inside the "
        "`async with db.transaction() as tx:` block"
    )


def unique_columns(db: str, names: Sequence[str]) -> Sequence[str]:
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise DatabaseError(
            f"a query on database {db!r} returned several columns named "
            f"{', '.join(map(repr, dupes))}: give them distinct names with AS"
        )
    return names


def to_rows(db: str, names: Sequence[str], values: list[Any]) -> list[Row]:
    unique_columns(db, names)
    return [MappingProxyType(dict(zip(names, v, strict=True))) for v in values]
