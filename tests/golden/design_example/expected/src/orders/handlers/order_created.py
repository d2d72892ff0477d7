"""The order_created handler (user-owned).

It receives OrderCreated from orders.created on the events broker.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from svcgen_runtime import Ack, InboundMessage, Outcome

from orders._generated.context import Context
from orders.models import OrderCreated


async def handle(
    ctx: Context, message: OrderCreated, raw: InboundMessage
) -> Outcome | None:
    """Handle one message.

    Return ``None`` or ``Ack()`` when done, ``Nack(requeue=...)`` to refuse it, or
    ``Retry(after=seconds)`` to see it again later. An exception or a timeout
    retries it with backoff; after the last attempt it is dead-lettered.

    Publishers on ``ctx``:
    - ``await ctx.order_shipped.publish(...)`` sends OrderShipped to orders.shipped.
    """
    return Ack()
