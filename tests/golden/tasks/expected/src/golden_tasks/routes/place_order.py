"""The place_order route (user-owned).

It serves POST /orders.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from golden_tasks._generated.context import Context


async def handle(ctx: Context, request: Request) -> Response:
    """Answer one request.

    Tasks on ``ctx.tasks`` (``delay=`` seconds, ``key=`` runs a key once):
    - ``await ctx.tasks.notify.enqueue(b'...')``
    - ``await ctx.tasks.reindex.enqueue(b'...')``
    - ``await ctx.tasks.send_receipt.enqueue(ReceiptArgs(...))``
    - ``await ctx.tasks.warm_up.enqueue(WarmUp(...))``
    """
    return JSONResponse({"route": "place_order", "params": request.path_params})
