"""The order_created handler: ship the order, then announce it (user-owned)."""

from __future__ import annotations

from svcgen_runtime import Ack, InboundMessage, Outcome

from orders import store
from orders._generated.context import Context
from orders.models import OrderCreated, OrderShipped


async def handle(
    ctx: Context, message: OrderCreated, raw: InboundMessage
) -> Outcome | None:
    """Mark the order shipped and publish OrderShipped (confirmed before the ack)."""
    if store.ORDERS.get(message.order_id) == "shipped":
        return Ack()  # a redelivery of an order already handled: nothing to do
    await ctx.order_shipped.publish(
        OrderShipped(order_id=message.order_id, customer=message.customer),
        key=message.order_id,
    )
    store.ORDERS[message.order_id] = "shipped"
    return Ack()
