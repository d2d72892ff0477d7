"""The c1 handler (user-owned).

It receives X from c1 on the local broker.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from svcgen_runtime import Ack, InboundMessage, Outcome

from golden_natural._generated.context import Context
from golden_natural.models2 import X


async def handle(ctx: Context, message: X, raw: InboundMessage) -> Outcome | None:
    """Handle one message.

    Return ``None`` or ``Ack()`` when done, ``Nack(requeue=...)`` to refuse it, or
    ``Retry(after=seconds)`` to see it again later. An exception or a timeout
    retries it with backoff; after the last attempt it is dead-lettered.

    Publishers on ``ctx``:
    - ``await ctx.p10.publish(...)`` sends golden_natural_models2_Order to p10.
    - ``await ctx.p2.publish(...)`` sends golden_natural_models2_Settings to p2.
    """
    return Ack()
