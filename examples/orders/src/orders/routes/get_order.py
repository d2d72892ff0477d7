"""The get_order route: GET /orders/{order_id} reads an order's status (user-owned)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orders import store
from orders._generated.context import Context


async def handle(ctx: Context, request: Request) -> Response:
    """The order's status, or 404."""
    order_id = request.path_params["order_id"]
    status = store.ORDERS.get(order_id)
    if status is None:
        return JSONResponse({"error": f"no order {order_id}"}, status_code=404)
    return JSONResponse({"order_id": order_id, "status": status})
