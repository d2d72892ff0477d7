"""The health_details route (user-owned).

It serves GET /details.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from golden_embedded._generated.context import Context


async def handle(ctx: Context, request: Request) -> Response:
    """Answer one request.

    Resources: ``ctx.cache`` (memory), ``ctx.database`` (sqlite), ``ctx.storage`` (memory).
    """
    return JSONResponse({"route": "health_details", "params": request.path_params})
