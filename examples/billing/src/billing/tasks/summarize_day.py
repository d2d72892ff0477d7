"""The summarize_day task (user-owned).

Writes ``summaries/<day>.json`` with the day's invoice count and total; the
nightly_summary schedule enqueues it once a night, however many replicas run.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

import json

from svcgen_runtime import InboundMessage, Outcome

from billing import schema
from billing._generated.context import Context
from billing.models import SummaryArgs


async def handle(
    ctx: Context, args: SummaryArgs, raw: InboundMessage
) -> Outcome | None:
    """Count the day's invoices (UTC) and store the summary."""
    await schema.ensure(ctx.database)
    row = await ctx.database.query_one(
        "SELECT COUNT(*) AS invoices, COALESCE(SUM(total_cents), 0) AS total_cents "
        "FROM invoices WHERE substr(created_at, 1, 10) = ?",
        args.day,
    )
    assert row is not None
    summary = {"day": args.day, **row}
    await ctx.storage.write(
        f"summaries/{args.day}.json", json.dumps(summary, sort_keys=True).encode()
    )
    return None
