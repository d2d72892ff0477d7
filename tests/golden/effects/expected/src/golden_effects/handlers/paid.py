"""The paid handler (user-owned).

It receives bytes from orders.paid on the events broker.

It dedupes on header:svcgen-message-id: a message whose key was handled in the last
168h is acked without running handle(). handle() runs in one database transaction
with the key's record: ctx.database calls and outbox publishes join it, and an
exception rolls all of it back.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from svcgen_runtime import Ack, InboundMessage, Outcome

from golden_effects._generated.context import Context


async def handle(ctx: Context, message: bytes, raw: InboundMessage) -> Outcome | None:
    """Handle one message.

    Return ``None`` or ``Ack()`` when done, ``Nack(requeue=...)`` to refuse it, or
    ``Retry(after=seconds)`` to see it again later. An exception or a timeout
    retries it with backoff; after the last attempt it is dead-lettered.

    Publishers on ``ctx``:
    - ``await ctx.metrics.publish(...)`` sends bytes to orders.metrics.
    - ``await ctx.receipts.publish(...)`` sends bytes to orders.receipts.
      Outbox: written in the current database transaction (if any), sent after commit.
    - ``await ctx.shipped.publish(...)`` sends bytes to orders.shipped.
      Outbox: written in the current database transaction (if any), sent after commit.

    Resources: ``ctx.database`` (postgres).
    """
    return Ack()
