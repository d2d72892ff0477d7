"""Run a whole Application inside a pytest test, on memory brokers, through production code.

    async with run_service(build_app(brokers={"local": MemoryBroker("local")},
                                     handle_signals=False)) as svc:
        await svc.publish("local", "orders.created", b'{"id": 1}')
        await svc.wait_idle()
        assert svc.stats("order_created").acked == 1
        assert svc.dead_letters("local", "orders.created.dlq") == []

Nothing here fakes the outcome logic: the consume loop, retry policy, dead-lettering
and lifecycle are the ones a deployed service runs; only the broker is in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from .application import Application
from .brokers.memory import MemoryBroker
from .consumer import Consumer, ConsumerStats
from .message import InboundMessage


class RunningService:
    """A started Application with helpers to feed it and read what it did."""

    def __init__(self, app: Application, task: asyncio.Task[int]) -> None:
        self.app = app
        self._task = task
        self.exit_code: int | None = None

    def broker(self, name: str) -> MemoryBroker:
        """The memory broker named ``name`` (the spec's broker name)."""
        for broker in self.app.brokers:
            if broker.name == name:
                if not isinstance(broker, MemoryBroker):
                    raise TypeError(
                        f"broker {name!r} is a {broker.kind} broker; pass "
                        f"brokers={{{name!r}: MemoryBroker({name!r})}} to build_app"
                    )
                return broker
        names = ", ".join(sorted(b.name for b in self.app.brokers)) or "none"
        raise KeyError(f"no broker named {name!r}; the service has: {names}")

    async def publish(
        self,
        broker: str,
        target: str,
        message: bytes | Any,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish bytes, or a pydantic model as JSON, to ``target`` on ``broker``."""
        if isinstance(message, bytes | bytearray):
            body = bytes(message)
        else:
            body = str(message.model_dump_json()).encode()
        await self.broker(broker).publish(target, body, key=key, headers=headers)

    def _consumers(self) -> list[Consumer[Any]]:
        return [c for c in self.app.consumers if isinstance(c, Consumer)]

    def _busy(self) -> bool:
        for consumer in self._consumers():
            broker = consumer.broker
            if consumer.busy:
                return True
            if isinstance(broker, MemoryBroker) and broker.pending(consumer.source):
                return True
        return False

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every consumer has settled everything, delayed retries included."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while True:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the service stopped before it became idle")
            if self._busy():
                quiet = 0
            else:
                quiet += 1
                if quiet >= 3:  # idle on three looks in a row: nothing is in transit
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the service was still busy after {timeout}s")
            await asyncio.sleep(0.01)

    def dead_letters(self, broker: str, target: str) -> list[InboundMessage]:
        """Messages waiting in a dead-letter destination (not taken from it)."""
        return self.broker(broker).messages(target)

    def stats(self, consumer: str) -> ConsumerStats:
        component = self.app.consumer(consumer)
        assert isinstance(component, Consumer)
        return component.stats

    async def stop(self, *, force: bool = False) -> int:
        """Shut the service down as SIGTERM would; return its exit status."""
        if self.exit_code is None:
            self.app.shutdown(force=force)
            self.exit_code = await self._task
        return self.exit_code


@contextlib.asynccontextmanager
async def run_service(
    app: Application, *, start_timeout: float = 10.0
) -> AsyncIterator[RunningService]:
    """Start ``app`` (signal handling off) for the body of the block, then drain it."""
    app.handle_signals = False
    task = asyncio.create_task(app.serve(), name=f"{app.name}-serve")
    started = asyncio.ensure_future(app.wait_started())
    try:
        done, _ = await asyncio.wait(
            {task, started}, timeout=start_timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        started.cancel()
    if task in done:
        raise RuntimeError(
            f"{app.name} stopped during start-up with status {task.result()}"
        )
    if not done:
        app.shutdown(force=True)
        await task
        raise TimeoutError(f"{app.name} did not start within {start_timeout}s")
    service = RunningService(app, task)
    try:
        yield service
    finally:
        await service.stop()
