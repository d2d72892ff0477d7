"""The worker pool's queue (``Inbox``) and what travels through it (``Delivery``)."""

from __future__ import annotations

import asyncio
import collections
from typing import Generic, TypeAlias, TypeVar

from ..brokers.base import Subscription
from ..message import InboundMessage

Delivery: TypeAlias = tuple[Subscription, InboundMessage]
"""A fetched message and the subscription that settles it.

A plain pair on purpose: one is built per message on the hot path, and a
NamedTuple or slotted record costs about five times as much to make."""

Q = TypeVar("Q")


class Inbox(Generic[Q]):
    """The workers' queue: a deque and its waiting getters, nothing else.

    asyncio.Queue also keeps put-side waiters, a size bound and join() bookkeeping;
    none is needed here (the permits bound it), and they cost about a microsecond a
    message.
    """

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: collections.deque[Q] = collections.deque()
        self._getters: collections.deque[asyncio.Future[None]] = collections.deque()

    def put_nowait(self, item: Q) -> None:
        self._items.append(item)
        self._wake_one()

    def _wake_one(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.popleft()
            if not getter.done():
                getter.set_result(None)
                break

    def take_all(self) -> list[Q]:
        """Every item waiting (a forced shutdown releases them); the inbox empties."""
        items = list(self._items)
        self._items.clear()
        return items

    async def get(self) -> Q:
        items = self._items
        while not items:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except asyncio.CancelledError:
                woken = getter.done() and not getter.cancelled()
                getter.cancel()
                if woken and items:
                    self._wake_one()  # this worker was woken but leaves: pass it on
                raise
        return items.popleft()
