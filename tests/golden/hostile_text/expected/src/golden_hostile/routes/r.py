"""The r route (user-owned).

It serves GET /it's/{x:int}.

back\\slash

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from golden_hostile._generated.context import Context


async def handle(ctx: Context, request: Request) -> Response:
    """Answer one request.

    Publishers on ``ctx``:
    - ``await ctx.p.publish(...)`` sends bytes to orders.out.

    Tasks on ``ctx.tasks`` (``delay=`` seconds, ``key=`` runs a key once):
    - ``await ctx.tasks.t.enqueue(b'...')``

    Resources: ``ctx.cache`` (redis).
    """
    return JSONResponse({"route": "r", "params": request.path_params})
