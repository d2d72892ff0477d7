"""Managed resources: cache, database and storage, opened and closed by the Application.

Every class here is importable without its optional driver: ``RedisCache`` checks for
the ``redis`` extra and ``PostgresDatabase`` for the ``postgres`` extra when they are
constructed, and import the driver only in ``open()``.
"""

from __future__ import annotations

from .cache import Cache, CacheError, MemoryCache, RedisCache
from .database import (
    Database,
    DatabaseError,
    DatabaseTimeoutError,
    IntegrityError,
    PostgresDatabase,
    Queries,
    Row,
    SqliteDatabase,
)
from .storage import (
    FsStorage,
    InvalidPathError,
    MemoryStorage,
    ObjectInfo,
    ObjectNotFoundError,
    Storage,
    StorageError,
)

__all__ = [
    "Cache",
    "CacheError",
    "Database",
    "DatabaseError",
    "DatabaseTimeoutError",
    "FsStorage",
    "IntegrityError",
    "InvalidPathError",
    "MemoryCache",
    "MemoryStorage",
    "ObjectInfo",
    "ObjectNotFoundError",
    "PostgresDatabase",
    "Queries",
    "RedisCache",
    "Row",
    "SqliteDatabase",
    "Storage",
    "StorageError",
]
