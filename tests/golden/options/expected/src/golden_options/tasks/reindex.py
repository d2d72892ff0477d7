"""The reindex task (user-owned).

It runs each task enqueued on tasks.reindex on the bus broker (arguments: bytes);
enqueue with ``await ctx.tasks.reindex.enqueue(args, delay=..., key=...)``.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from svcgen_runtime import Ack, InboundMessage, Outcome

from golden_options._generated.context import Context


async def handle(ctx: Context, args: bytes, raw: InboundMessage) -> Outcome | None:
    """Run the task once.

    Return ``None`` or ``Ack()`` when done, or ``Retry(after=seconds)`` to run it
    again later. An exception, or a run longer than 300.0 seconds, retries
    it with backoff; after the last attempt it is dead-lettered.
    ``raw.delivery_count`` is 1 on the first run.

    Tasks on ``ctx.tasks`` (``delay=`` seconds, ``key=`` runs a key once):
    - ``await ctx.tasks.reindex.enqueue(b'...')``
    - ``await ctx.tasks.send_receipt.enqueue(b'...')``
    """
    return Ack()
