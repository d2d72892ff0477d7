"""The refunded handler (user-owned).

It receives bytes from payments.refunded on the events broker.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from svcgen_runtime import Ack, InboundMessage, Outcome

from golden_middleware._generated.context import Context


async def handle(ctx: Context, message: bytes, raw: InboundMessage) -> Outcome | None:
    """Handle one message.

    Return ``None`` or ``Ack()`` when done, ``Nack(requeue=...)`` to refuse it, or
    ``Retry(after=seconds)`` to see it again later. An exception or a timeout
    retries it with backoff; after the last attempt it is dead-lettered.
    """
    return Ack()
