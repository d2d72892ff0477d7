"""Hooks and middleware of the golden_middleware service (user-owned).

service.yaml lists them (hooks, middleware); app.py imports and wires each one.
svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from svcgen_runtime import Outcome
from svcgen_runtime.http import Endpoint
from svcgen_runtime.middleware import Next, Received

from golden_middleware._generated.context import Context


async def log_context(
    received: Received[Any], ctx: Context, call_next: Next
) -> Outcome:
    """Run around a consumer's handler: ``received`` has the ``payload``, the raw
    ``message`` (id, headers), the ``consumer`` and the ``attempt``.

    ``call_next(received)`` runs the rest of the chain and returns its outcome
    (``Ack()`` when the handler returned None); return it or another one. An
    exception here is the handler's: retried, then dead-lettered.
    """
    return await call_next(received)


async def request_id(request: Request, ctx: Context, call_next: Endpoint) -> Response:
    """Run around every route: ``call_next(request)`` runs the rest of the chain and
    returns the route's response; return it or another one. An exception here is
    a 500, as in a route."""
    return await call_next(request)
