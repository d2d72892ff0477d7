"""The billing tables, created on first use (user-owned)."""

from __future__ import annotations

from svcgen_runtime.resources import Database

CREATE = (
    "CREATE TABLE IF NOT EXISTS invoices ("
    " id INTEGER PRIMARY KEY,"
    " customer TEXT NOT NULL,"
    " total_cents INTEGER NOT NULL,"
    " created_at TEXT NOT NULL,"
    " receipt_sent INTEGER NOT NULL DEFAULT 0)"
)


async def ensure(db: Database) -> None:
    """Create the tables when they do not exist (idempotent)."""
    await db.execute(CREATE)
