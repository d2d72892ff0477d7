"""The create_item route (user-owned).

It serves POST /items.

Stores a new item.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from golden_http._generated.context import Context


async def handle(ctx: Context, request: Request) -> Response:
    """Answer one request."""
    return JSONResponse({"route": "create_item", "params": request.path_params})
