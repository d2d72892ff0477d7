"""The create_order route: POST /orders places an order (user-owned)."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orders import store
from orders._generated.context import Context
from orders.models import OrderCreated


async def handle(ctx: Context, request: Request) -> Response:
    """Validate the order, publish it to orders.created, and answer 202."""
    try:
        order = OrderCreated.model_validate_json(await request.body())
    except ValidationError as exc:
        return JSONResponse({"error": exc.errors(include_url=False)}, status_code=422)
    store.ORDERS.setdefault(order.order_id, "placed")
    await ctx.order_placed.publish(order, key=order.order_id)
    return JSONResponse({"order_id": order.order_id}, status_code=202)
