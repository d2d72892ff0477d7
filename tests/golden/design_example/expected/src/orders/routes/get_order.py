"""The get_order route (user-owned).

It serves GET /orders/{order_id}.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orders._generated.context import Context


async def handle(ctx: Context, request: Request) -> Response:
    """Answer one request.

    Publishers on ``ctx``:
    - ``await ctx.order_shipped.publish(...)`` sends OrderShipped to orders.shipped.
    """
    return JSONResponse({"route": "get_order", "params": request.path_params})
