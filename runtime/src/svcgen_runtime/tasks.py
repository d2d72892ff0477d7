"""Durable tasks on an existing broker: typed enqueue, and a worker that is the consume loop.

A task queue named ``send_receipt`` is the broker source ``tasks.send_receipt``. Its
worker is an ordinary ``Consumer`` — the same permits, timeouts, retry policy and
dead-lettering as every consumer. ``enqueue`` adds two things:

* ``delay``: the message carries a due time (``x-svcgen-due``); a worker that gets it
  early hands it back with ``Retry(after=remaining)``, which every adapter maps onto its
  native delay (delay queue, delayed set, ``nak(delay)``, retry topic), so nothing is
  lost if the worker stops meanwhile. The wait is not counted as an attempt.
* ``key``: idempotency. The first enqueue of a key within ``key_window`` seconds is
  sent, later ones are dropped (``enqueue`` returns False); the claim is made in a
  store shared by replicas (Redis ``SET NX PX``), and given back if the publish fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar

from . import tracing
from .brokers.base import Broker
from .consumer import DEFAULT_DEAD_LETTER, Consumer, DefaultDeadLetter, Handler
from .errors import ConfigurationError
from .idempotency import IdempotencyStore
from .message import DUE_HEADER, due_header
from .retry import RetryPolicy

log = logging.getLogger(__name__)

T = TypeVar("T")

TASK_HEADER: Final = "x-svcgen-task"
IDEMPOTENCY_HEADER: Final = "x-svcgen-idempotency-key"
ENQUEUED_HEADER: Final = "x-svcgen-enqueued-at"
QUEUE_PREFIX: Final = "tasks."


def queue_name(task: str) -> str:
    """The broker source a task's messages travel through."""
    return f"{QUEUE_PREFIX}{task}"


class Task(Generic[T]):
    """The enqueue side of one task queue (what handlers reach as ``ctx.tasks.<name>``).

    Args:
        name: the task's name in the spec.
        broker: the broker the queue lives on.
        encode: turns the task's arguments into bytes.
        idempotency: where keys are claimed; required to pass ``key``.
        key_window: seconds a key stays claimed.
        queue: the broker source; default ``tasks.<name>``.
    """

    def __init__(
        self,
        *,
        name: str,
        broker: Broker,
        encode: Callable[[T], bytes],
        idempotency: IdempotencyStore | None = None,
        key_window: float = 24 * 3600.0,
        queue: str | None = None,
    ) -> None:
        self.name = name
        self.broker = broker
        self.encode = encode
        self.idempotency = idempotency
        self.key_window = key_window
        self.queue = queue or queue_name(name)

    async def enqueue(
        self,
        args: T,
        *,
        delay: float | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> bool:
        """Send one run of the task; False when ``key`` was already enqueued in the window.

        Args:
            args: the task's arguments.
            delay: seconds before the task may run.
            key: idempotency key; a repeat within ``key_window`` is dropped.
            headers: extra headers carried to the worker.
        """
        if delay is not None and delay < 0:
            raise ValueError(
                f"task {self.name!r}: delay must not be negative, got {delay}"
            )
        body = self.encode(args)
        now = time.time()
        hdrs = dict(headers or {})
        hdrs[TASK_HEADER] = self.name
        hdrs[ENQUEUED_HEADER] = f"{now:.3f}"
        if delay:
            hdrs[DUE_HEADER] = due_header(now, delay)
        claim = None
        if key is not None:
            if self.idempotency is None:
                raise ConfigurationError(
                    f"task {self.name!r} has no idempotency store; pass idempotency=... "
                    "to use key="
                )
            claim = f"{self.name}:{key}"
            hdrs[IDEMPOTENCY_HEADER] = key
            if not await self.idempotency.claim(claim, self.key_window):
                log.info("task %s: key %r already enqueued; dropped", self.name, key)
                return False
        try:
            with tracing.sending(
                tracing.tracer(), self.queue, system=self.broker.kind, headers=hdrs
            ) as sent:
                await self.broker.publish(self.queue, body, key=key, headers=sent)
        except BaseException:
            if claim is not None and self.idempotency is not None:
                await self.idempotency.release(claim)
            raise
        return True


def task_worker(
    *,
    name: str,
    broker: Broker,
    handler: Handler[T],
    decode: Callable[[bytes], T] | None = None,
    concurrency: int = 1,
    timeout: float | None = 300.0,
    retry: RetryPolicy | None = None,
    dead_letter: str | DefaultDeadLetter | None = DEFAULT_DEAD_LETTER,
    group: str | None = None,
    ack_wait: float = 30.0,
    options: dict[str, Any] | None = None,
    queue: str | None = None,
) -> Consumer[T]:
    """The worker of task ``name``: a Consumer of ``tasks.<name>`` with the shared policy."""
    return Consumer(
        name=name,
        broker=broker,
        source=queue or queue_name(name),
        handler=handler,
        decode=decode,
        group=group or f"tasks-{name}",
        concurrency=concurrency,
        timeout=timeout,
        retry=retry,
        dead_letter=dead_letter,
        ack_wait=ack_wait,
        options=options,
    )
