"""Cross-reference checks of effects exactly once: dedupe consumers and outbox
publishers keep their records in the service's postgres database.

A consumer's ``dedupe`` records each key, and an outbox publisher each message,
in the same transaction as the handler's own writes (``svcgen_runtime.effects``);
only a postgres database gives that transaction to every replica, so either needs
``resources.database`` of kind postgres.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from .errors import SpecIssue
from .spec_checks import entries, issue
from .spec_reader import Loc, Positions

ADD_DATABASE: Final = (
    "add resources: {database: {kind: postgres, url: ...}} (svcgen add-resource "
    "database --kind postgres)"
)


def effects_issues(data: Mapping[str, Any], pos: Positions) -> Iterator[SpecIssue]:
    """A dedupe consumer or an outbox publisher in a service without a postgres
    database, reported at its ``dedupe`` or ``outbox`` key."""
    resources = data.get("resources")
    database = resources.get("database") if isinstance(resources, dict) else None
    kind = database.get("kind") if isinstance(database, dict) else None
    if kind == "postgres":
        return
    if isinstance(kind, str):
        missing = f"this service's database is {kind}, not postgres"
        fix = "make it postgres: resources: {database: {kind: postgres, url: ...}}"
    else:
        missing, fix = "this service has no database", ADD_DATABASE
    for i, item in entries(data, "consumers"):
        if item.get("dedupe") is not None:
            loc: Loc = ("consumers", i, "dedupe")
            yield issue(
                pos,
                loc,
                "dedupe records each message's key in a postgres database, in the "
                f"handler's transaction, but {missing}; {fix}, or remove dedupe",
                key=True,
            )
    for i, item in entries(data, "publishers"):
        if item.get("outbox") is True:
            yield issue(
                pos,
                ("publishers", i, "outbox"),
                "outbox writes each message to a postgres database, in the "
                f"publishing transaction, but {missing}; {fix}, or remove outbox",
                key=True,
            )
