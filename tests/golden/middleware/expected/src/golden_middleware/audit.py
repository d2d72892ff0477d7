"""Hooks and middleware of the golden_middleware service (user-owned).

service.yaml lists them (hooks, middleware); app.py imports and wires each one.
svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from typing import Any

from svcgen_runtime import Outcome
from svcgen_runtime.middleware import Next, Received

from golden_middleware._generated.context import Context


async def record_outcome(
    received: Received[Any], ctx: Context, call_next: Next
) -> Outcome:
    """Run around a consumer's handler: ``received`` has the ``payload``, the raw
    ``message`` (id, headers), the ``consumer`` and the ``attempt``.

    ``call_next(received)`` runs the rest of the chain and returns its outcome
    (``Ack()`` when the handler returned None); return it or another one. An
    exception here is the handler's: retried, then dead-lettered.
    """
    return await call_next(received)
