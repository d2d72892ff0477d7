"""Consumer middleware and lifecycle hooks: the service's own code around every
handler, and at start and stop.

A middleware is ``async def mw(received, ctx, call_next) -> Outcome``. ``received``
carries both what a handler gets (the decoded ``payload``) and what logging and
tracing want (the raw ``message``: id, headers, delivery count), with the consumer's
name and the attempt. ``call_next(received)`` runs the rest of the chain and
returns its ``Outcome``: a handler that returned ``None`` is an ``Ack()`` there, so
every middleware sees an Outcome. A middleware may return another one (a ``Retry``
turned into a ``Nack``) or raise, which is the handler raising: the retry policy
applies, and the message is dead-lettered after ``max_attempts``.

``chain`` composes once, when the generated code builds the consumer, and hands
the ``Consumer`` one handler. The consume loop cannot tell a chain from a handler:
its timeout and a forced shutdown's cancellation cover the whole chain, and its
outcome is settled like any handler's. The first middleware listed is the
outermost (it runs first and sees the final outcome), as in Starlette and
FastStream.

A hook is ``async def hook(ctx) -> None``; the generated code hands the
Application ``partial(hook, ctx)`` (``Hook``), which runs each once per process
(``Application``'s ``on_start`` and ``on_stop``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from .consumer import Handler
from .consumer.due import attempts
from .message import InboundMessage
from .outcome import Ack, Outcome

T = TypeVar("T")
C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Received(Generic[T]):
    """One delivery as a middleware sees it.

    Attributes:
        consumer: the consumer's name in service.yaml.
        payload: the decoded message (the handler's argument; bytes without a model).
        message: the delivery itself: ``id``, ``headers``, ``delivery_count``, ...
    """

    consumer: str
    payload: T
    message: InboundMessage

    @property
    def attempt(self) -> int:
        """The handler attempt this is, from 1 (deliveries that only waited for a
        retry's due time do not count)."""
        return attempts(self.message)


Next: TypeAlias = Callable[[Received[Any]], Awaitable[Outcome]]
"""``call_next``: the rest of the chain, the handler last."""

Middleware: TypeAlias = Callable[[Received[Any], C, Next], Awaitable[Outcome]]
"""``async def mw(received, ctx, call_next) -> Outcome``."""

Hook: TypeAlias = Callable[[], Awaitable[None]]
"""A lifecycle hook with its context bound (``partial(hook, ctx)``)."""


def chain(
    handler: Handler[T],
    middleware: Sequence[Middleware[C]],
    *,
    consumer: str,
    ctx: C,
) -> Handler[T]:
    """``handler`` inside ``middleware``, the first listed outermost; ``handler``
    itself when there is none (no cost for a consumer without middleware)."""
    if not middleware:
        return handler

    async def innermost(received: Received[Any]) -> Outcome:
        outcome = await handler(received.payload, received.message)
        return Ack() if outcome is None else outcome

    call: Next = innermost
    for mw in reversed(middleware):
        call = functools.partial(_link, mw, ctx, call)

    async def chained(payload: T, message: InboundMessage) -> Outcome:
        return await call(Received(consumer, payload, message))

    chained.__qualname__ = f"chain({consumer})"
    return chained


async def _link(
    mw: Middleware[C], ctx: C, call_next: Next, received: Received[Any]
) -> Outcome:
    """One middleware of a chain; a ``None`` it returns is an ``Ack()`` too, so the
    one outside it sees an Outcome."""
    outcome = await mw(received, ctx, call_next)
    return Ack() if outcome is None else outcome


def hook_name(hook: Callable[..., Any]) -> str:
    """``module.function`` of a hook (through ``partial``), for log lines."""
    while isinstance(hook, functools.partial):
        hook = hook.func
    module = getattr(hook, "__module__", None)
    name = getattr(hook, "__qualname__", None) or repr(hook)
    return f"{module}.{name}" if module else name
