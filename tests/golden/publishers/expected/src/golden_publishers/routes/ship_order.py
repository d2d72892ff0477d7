"""The ship_order route (user-owned).

It serves POST /orders/{order_id}/ship.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from golden_publishers._generated.context import Context


async def handle(ctx: Context, request: Request) -> Response:
    """Answer one request.

    Publishers on ``ctx``:
    - ``await ctx.audit_log.publish(...)`` sends bytes to audit.
    - ``await ctx.order_shipped.publish(...)`` sends OrderShipped to orders.shipped.
    - ``await ctx.raw_export.publish(...)`` sends bytes to exports.raw.
    """
    return JSONResponse({"route": "ship_order", "params": request.path_params})
