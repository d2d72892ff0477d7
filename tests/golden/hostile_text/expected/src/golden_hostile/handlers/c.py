"""The c handler (user-owned).

It receives Order from orders.created on the bus broker.

Docstring \\N{BULLET} \\ \"\"" end\"

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from svcgen_runtime import Ack, InboundMessage, Outcome

from golden_hostile._generated.context import Context
from golden_hostile.models import Order


async def handle(ctx: Context, message: Order, raw: InboundMessage) -> Outcome | None:
    """Handle one message.

    Return ``None`` or ``Ack()`` when done, ``Nack(requeue=...)`` to refuse it, or
    ``Retry(after=seconds)`` to see it again later. An exception or a timeout
    retries it with backoff; after the last attempt it is dead-lettered.

    Publishers on ``ctx``:
    - ``await ctx.p.publish(...)`` sends bytes to orders.out.

    Tasks on ``ctx.tasks`` (``delay=`` seconds, ``key=`` runs a key once):
    - ``await ctx.tasks.t.enqueue(b'...')``

    Resources: ``ctx.cache`` (redis).
    """
    return Ack()
