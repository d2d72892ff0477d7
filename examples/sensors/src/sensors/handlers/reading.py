"""The reading handler: keep each sensor's latest plausible reading (user-owned)."""

from __future__ import annotations

from svcgen_runtime import Ack, InboundMessage, Nack, Outcome

from sensors import latest
from sensors._generated.context import Context
from sensors.models import Reading


async def handle(ctx: Context, message: Reading, raw: InboundMessage) -> Outcome | None:
    """Record the reading unless it is older than the one kept, or implausible.

    An implausible value is rejected for good (``Nack(requeue=False)``): it goes to
    sensors.readings.rejected with headers saying why, and is never retried.
    """
    low, high = latest.PLAUSIBLE
    if not low <= message.celsius <= high:
        return Nack(requeue=False)
    kept = latest.LATEST.get(message.sensor)
    if kept is None or kept.at <= message.at:
        latest.LATEST[message.sensor] = message
    return Ack()
