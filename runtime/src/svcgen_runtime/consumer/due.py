"""Due times: a delivery carrying one (a delayed task, a backed-off retry) is never
handled early.

Due within DUE_WAIT_MAX seconds, it waits in its worker; due later, it
goes back to the broker with a DEFER decision (``not_due``), which is not an attempt:
``attempts`` counts handler attempts without those deliveries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final

from ..message import (
    DEFERRED_HEADER,
    DUE_HEADER,
    REPLAY_GROUP,
    InboundMessage,
    deferrals,
    due_in,
)
from ..retry import Action, Decision

DUE_WAIT_MAX: Final = 0.05
"""A delivery due within this many seconds waits in its worker for the due time;
one due later goes back to the broker (deferred). Never handled early."""


NOT_OURS: Final = Decision(Action.ACK, reason="replayed for another group")


def not_due(msg: InboundMessage, group: str) -> Decision | None:
    """A DEFER decision when the message carries a due time more than
    ``DUE_WAIT_MAX`` ahead; an ACK (``NOT_OURS``, the handler never runs) when it is
    a dead letter replayed for another consumer group than ``group``."""
    replayed_for = msg.headers.get(REPLAY_GROUP)
    if replayed_for is not None and replayed_for != group:
        return NOT_OURS
    if DUE_HEADER in msg.headers:
        wait = due_in(msg.headers, time.time())
        if wait > DUE_WAIT_MAX:
            return Decision(Action.DEFER, after=wait, reason="not due")
    return None


def attempts(msg: InboundMessage) -> int:
    """Handler attempts so far: deliveries spent waiting for a due time do not count."""
    if DEFERRED_HEADER in msg.headers:
        return max(msg.delivery_count - deferrals(msg.headers), 1)
    return msg.delivery_count


async def wait_due(msg: InboundMessage, release: Callable[[], Awaitable[None]]) -> None:
    """Sleep until the due time has passed on the clock it was written with; when
    cancelled meanwhile, ``release`` the message (never handled: redelivered).

    Brokers deliver a retry up to a few ms early (millisecond TTLs, clocks read
    at different moments); the remainder is waited out here, never forgiven.
    """
    try:
        wait = due_in(msg.headers, time.time())
        while wait > 0:
            await asyncio.sleep(wait)
            wait = due_in(msg.headers, time.time())
    except asyncio.CancelledError:
        await release()
        raise
