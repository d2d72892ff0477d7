"""The get_receipt route (user-owned).

It serves GET /receipts/{invoice_id}: from the cache, else from storage.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from svcgen_runtime.resources import ObjectNotFoundError

from billing._generated.context import Context


async def handle(ctx: Context, request: Request) -> Response:
    """The receipt's text, or 404 while it is not written yet."""
    invoice_id = request.path_params["invoice_id"]
    cached = await ctx.cache.get(f"receipt:{invoice_id}")
    if cached is not None:
        return PlainTextResponse(cached, headers={"x-from": "cache"})
    try:
        text = await ctx.storage.read(f"receipts/{invoice_id}.txt")
    except ObjectNotFoundError:
        return PlainTextResponse("no receipt yet\n", status_code=404)
    return PlainTextResponse(text, headers={"x-from": "storage"})
