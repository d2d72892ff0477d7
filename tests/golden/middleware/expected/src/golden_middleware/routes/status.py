"""The status route (user-owned).

It serves GET /status.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from golden_middleware._generated.context import Context


async def handle(ctx: Context, request: Request) -> Response:
    """Answer one request."""
    return JSONResponse({"route": "status", "params": request.path_params})
