"""The Application's root cancellation token: set once, on the first shutdown request."""

from __future__ import annotations

import asyncio


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
