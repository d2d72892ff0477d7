"""The send_receipt task (user-owned).

It runs each task enqueued on tasks.send_receipt on the jobs broker (arguments:
ReceiptArgs); enqueue with ``await ctx.tasks.send_receipt.enqueue(args, delay=...,
key=...)``.

Emails the receipt of a paid order.

A schedule enqueues it too; a fire is skipped while the previous fire still runs.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from svcgen_runtime import Ack, InboundMessage, Outcome

from golden_tasks._generated.context import Context
from golden_tasks.models import ReceiptArgs


async def handle(
    ctx: Context, args: ReceiptArgs, raw: InboundMessage
) -> Outcome | None:
    """Run the task once.

    Return ``None`` or ``Ack()`` when done, or ``Retry(after=seconds)`` to run it
    again later. An exception, or a run longer than 60.0 seconds, retries
    it with backoff; after the last attempt it is dead-lettered.
    ``raw.delivery_count`` is 1 on the first run.

    Tasks on ``ctx.tasks`` (``delay=`` seconds, ``key=`` runs a key once):
    - ``await ctx.tasks.notify.enqueue(b'...')``
    - ``await ctx.tasks.reindex.enqueue(b'...')``
    - ``await ctx.tasks.send_receipt.enqueue(ReceiptArgs(...))``
    - ``await ctx.tasks.warm_up.enqueue(WarmUp(...))``
    """
    return Ack()
