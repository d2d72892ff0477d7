"""The order_paid handler (user-owned).

It receives OrderPaid from orders.paid on the events broker.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from svcgen_runtime import Ack, InboundMessage, Outcome

from golden_publishers._generated.context import Context
from golden_publishers.models import OrderPaid


async def handle(
    ctx: Context, message: OrderPaid, raw: InboundMessage
) -> Outcome | None:
    """Handle one message.

    Return ``None`` or ``Ack()`` when done, ``Nack(requeue=...)`` to refuse it, or
    ``Retry(after=seconds)`` to see it again later. An exception or a timeout
    retries it with backoff; after the last attempt it is dead-lettered.

    Publishers on ``ctx``:
    - ``await ctx.audit_log.publish(...)`` sends bytes to audit.
    - ``await ctx.order_shipped.publish(...)`` sends OrderShipped to orders.shipped.
    - ``await ctx.raw_export.publish(...)`` sends bytes to exports.raw.
    """
    return Ack()
