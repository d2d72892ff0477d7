"""Cancellation: the Application's root token, and stopping helper tasks for certain."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

_RECANCEL_EVERY = 0.05


class CancelToken:
    """A one-shot flag that can be awaited.

    Tokens are cooperative: the Application awaits ``wait()`` and then stops intake
    everywhere. Cancelling never cancels running handlers by itself.
    """

    __slots__ = ("_event", "reason")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.reason: str | None = None

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self, reason: str = "cancelled") -> None:
        if self._event.is_set():
            return
        self.reason = reason
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], *, timeout: float = 5.0, what: str = "task"
) -> bool:
    """Cancel ``tasks`` and wait until every one has ended; True when all did.

    One ``cancel()`` is not enough on Python 3.11: ``asyncio.wait_for`` (which
    redis-py, aiormq and nats-py call around their socket I/O) returns the inner
    result and drops a cancellation that arrives just as the inner future completes
    (CPython gh-86296), so a loop could go on after being cancelled and a plain
    ``gather`` would wait for it forever. A task still running is cancelled again
    every 50 ms; after ``timeout`` seconds the rest are logged and left.
    """
    pending = {t for t in tasks if not t.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pending:
        left = deadline - loop.time()
        if left <= 0:
            log.warning(
                "%d %s(s) did not stop within %ss of being cancelled: %s",
                len(pending),
                what,
                timeout,
                ", ".join(sorted(t.get_name() for t in pending)),
            )
            return False
        for task in pending:
            task.cancel()
        done, pending = await asyncio.wait(pending, timeout=min(_RECANCEL_EVERY, left))
        for task in done:
            if not task.cancelled():
                task.exception()  # retrieved: an error while stopping is not news
    return True
