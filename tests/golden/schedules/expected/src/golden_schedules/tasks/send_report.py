"""The send_report task (user-owned).

It runs each task enqueued on tasks.send_report on the bus broker (arguments:
ReportArgs); enqueue with ``await ctx.tasks.send_report.enqueue(args, delay=...,
key=...)``.

A schedule enqueues it too; a fire is skipped while the previous fire still runs.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from svcgen_runtime import Ack, InboundMessage, Outcome

from golden_schedules._generated.context import Context
from golden_schedules.jobs import ReportArgs


async def handle(ctx: Context, args: ReportArgs, raw: InboundMessage) -> Outcome | None:
    """Run the task once.

    Return ``None`` or ``Ack()`` when done, or ``Retry(after=seconds)`` to run it
    again later. An exception, or a run longer than 600.0 seconds, retries
    it with backoff; after the last attempt it is dead-lettered.
    ``raw.delivery_count`` is 1 on the first run.

    Tasks on ``ctx.tasks`` (``delay=`` seconds, ``key=`` runs a key once):
    - ``await ctx.tasks.ping.enqueue(b'...')``
    - ``await ctx.tasks.send_report.enqueue(ReportArgs(...))``

    Resources: ``ctx.cache`` (redis).
    """
    return Ack()
