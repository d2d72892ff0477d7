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

from .base import (
    Database,
    DatabaseError,
    DatabaseTimeoutError,
    IntegrityError,
    Queries,
    Row,
)
from .postgres import PostgresDatabase
from .sqlite import SqliteDatabase

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
