"""Effects exactly once: a dedupe inbox for consumers and a transactional outbox for
publishers, both in the service's PostgreSQL database (see docs/effects.md).

* ``Effects``: the tables (created at start), the expiry pass; a Resource.
* ``Dedupe``: ``Consumer(..., dedupe=Dedupe(effects=...))`` runs the handler in one
  transaction with its message key's record; a recorded key is acked unrun.
* ``Publisher(..., outbox=effects)``: ``publish`` writes an outbox row in the
  current transaction; ``OutboxRelay`` (a Component) sends committed rows.
"""

from __future__ import annotations

from .dedupe import DEFAULT_KEY, DEFAULT_WINDOW, Dedupe, DedupeKeyError
from .relay import OutboxRelay
from .store import MESSAGE_ID_HEADER, Effects, ddl

__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_WINDOW",
    "MESSAGE_ID_HEADER",
    "Dedupe",
    "DedupeKeyError",
    "Effects",
    "OutboxRelay",
    "ddl",
]
