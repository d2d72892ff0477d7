"""Cancellation tokens: one root per Application, children per component."""

from __future__ import annotations

import asyncio


class CancelToken:
    """A one-shot flag that can be awaited; cancelling a token cancels its children.

    Tokens are cooperative: loops check ``cancelled`` or await ``wait()`` and stop
    taking new work. They never cancel running handlers by themselves.
    """

    __slots__ = ("_children", "_event", "reason")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._children: list[CancelToken] = []
        self.reason: str | None = None

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self, reason: str = "cancelled") -> None:
        if self._event.is_set():
            return
        self.reason = reason
        self._event.set()
        for child in self._children:
            child.cancel(reason)

    async def wait(self) -> None:
        await self._event.wait()

    def child(self) -> CancelToken:
        token = CancelToken()
        if self.cancelled:
            token.cancel(self.reason or "cancelled")
        else:
            self._children.append(token)
        return token

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return True when the token was cancelled meanwhile."""
        if self.cancelled:
            return True
        try:
            async with asyncio.timeout(seconds):
                await self._event.wait()
        except TimeoutError:
            return False
        return True
