"""Start-up: probes answer from the first second, brokers connect and consumers start
concurrently, ``/readyz`` says what it waits for, and one failure stops the start.

The broker here is the in-memory one with its ``connect``/``subscribe`` held on
events the test releases: it stands in for a Kafka group join that takes seconds,
deterministically (no sleeps: every step waits on an event). The probes are read over
real HTTP from the server the Application starts on a free port, as a kubelet would
read them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from svcgen_runtime import Application, Consumer, HealthServer, MemoryBroker
from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.memory import MemorySubscription
from svcgen_runtime.errors import BrokerConnectionError
from svcgen_runtime.http import RETRY_AFTER, HttpServer
from svcgen_runtime.message import InboundMessage


class Gate:
    """One held step: ``entered`` once the step began, it goes on once ``open``."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.open = asyncio.Event()
        self.cancelled = False

    async def hold(self) -> None:
        self.entered.set()
        try:
            await self.open.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


class HeldBroker(MemoryBroker):
    """A memory broker whose ``connect`` and per-consumer ``subscribe`` wait on gates."""

    def __init__(self, name: str, *, fail: frozenset[str] = frozenset()) -> None:
        super().__init__(name)
        self.connecting = Gate()
        self.subscribing: dict[str, Gate] = {}
        self.fail = fail

    def gate(self, consumer: str) -> Gate:
        return self.subscribing.setdefault(consumer, Gate())

    async def connect(self) -> None:
        await self.connecting.hold()
        await super().connect()

    async def subscribe(self, spec: SubscriptionSpec) -> MemorySubscription:
        gate = self.gate(spec.consumer)
        if spec.consumer in self.fail:
            gate.entered.set()
            await gate.open.wait()
            raise BrokerConnectionError(f"group of {spec.consumer} cannot join")
        await gate.hold()
        return await super().subscribe(spec)


async def reached(event: asyncio.Event, what: str = "a held step") -> None:
    """Wait for ``event``; fail within 10 s rather than at the suite's timeout."""
    try:
        async with asyncio.timeout(10):
            await event.wait()
    except TimeoutError:
        raise AssertionError(f"{what} was never reached") from None


async def noop(body: bytes, msg: InboundMessage) -> None:
    return None


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


def consumer(broker: MemoryBroker, name: str) -> Consumer[bytes]:
    return Consumer(name=name, broker=broker, source=f"src-{name}", handler=noop)


async def get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{port}{path}")


async def listening(http: HttpServer | HealthServer, serving: asyncio.Task[int]) -> int:
    """The port, once the server is up (it starts before anything else)."""
    while True:
        if serving.done():
            raise AssertionError(f"the service ended (exit {serving.result()})")
        if isinstance(http, HealthServer) and http._server is not None:
            return http.bound_port
        if isinstance(http, HttpServer) and http._server.started:
            return http.bound_port
        await asyncio.sleep(0)


@pytest.fixture
async def tasks() -> AsyncIterator[list[asyncio.Task[int]]]:
    made: list[asyncio.Task[int]] = []
    yield made
    for task in made:
        if not task.done():
            task.cancel()
    await asyncio.gather(*made, return_exceptions=True)


async def test_probes_answer_while_consumers_subscribe_and_ready_waits_for_all(
    tasks: list[asyncio.Task[int]],
) -> None:
    """/healthz 200 and a route 503 + Retry-After before any broker connected;
    /readyz 503 naming what it waits for, then 200 once every consumer consumes."""
    broker = HeldBroker("local")
    http = HttpServer(routes=[Route("/hello", hello)], host="127.0.0.1", port=0)
    a, b = consumer(broker, "orders"), consumer(broker, "payments")
    app = Application(
        name="t", brokers=[broker], consumers=[a, b], http=http, handle_signals=False
    )
    serving = asyncio.create_task(app.serve())
    tasks.append(serving)
    port = await listening(http, serving)

    # The broker has not connected yet: alive, not ready, routes say "come back".
    await reached(broker.connecting.entered)
    assert (await get(port, "/healthz")).status_code == 200
    ready = await get(port, "/readyz")
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "not ready",
        "reason": "starting: connecting brokers local",
    }
    route = await get(port, "/hello")
    assert route.status_code == 503
    assert route.headers["retry-after"] == str(RETRY_AFTER)
    assert route.json() == {"status": "starting"}

    # Both subscribes are under way at once: neither waited for the other.
    broker.connecting.open.set()
    await reached(broker.gate("orders").entered)
    await reached(broker.gate("payments").entered)
    ready = await get(port, "/readyz")
    assert ready.status_code == 503
    assert ready.json()["reason"] == "starting: waiting for orders, payments"

    # One consumer consuming: still not ready, the body names the other.
    broker.gate("payments").open.set()
    while not b.ready:
        await asyncio.sleep(0)
    assert not a.ready
    ready = await get(port, "/readyz")
    assert (ready.status_code, ready.json()["reason"]) == (
        503,
        "starting: waiting for orders",
    )
    assert (await get(port, "/hello")).status_code == 503

    broker.gate("orders").open.set()
    await app.wait_started()
    assert (await get(port, "/readyz")).json() == {"status": "ready"}
    hello_again = await get(port, "/hello")
    assert (hello_again.status_code, hello_again.text) == (200, "hello")

    app.shutdown()
    assert await serving == 0


async def test_brokers_connect_concurrently() -> None:
    """Each broker's connect has begun before any is let through."""
    first, second = HeldBroker("first"), HeldBroker("second")
    health = HealthServer(host="127.0.0.1", port=0)
    app = Application(
        name="t", brokers=[first, second], http=health, handle_signals=False
    )
    serving = asyncio.create_task(app.serve())
    try:
        await reached(first.connecting.entered)
        await reached(second.connecting.entered)
        port = await listening(health, serving)
        ready = await get(port, "/readyz")
        assert ready.json()["reason"] == "starting: connecting brokers first, second"
        assert (await get(port, "/healthz")).status_code == 200
        second.connecting.open.set()
        first.connecting.open.set()
        await app.wait_started()
        assert (await get(port, "/readyz")).status_code == 200
    finally:
        app.shutdown()
        assert await serving == 0


async def test_a_failing_subscribe_cancels_the_others_and_exits_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One subscribe fails while another is still joining: the other is cancelled,
    everything opened is closed, serve() returns 3, one log line names the error."""
    broker = HeldBroker("local", fail=frozenset({"bad"}))
    health = HealthServer(host="127.0.0.1", port=0)
    good, bad = consumer(broker, "good"), consumer(broker, "bad")
    app = Application(
        name="t",
        brokers=[broker],
        consumers=[good, bad],
        http=health,
        handle_signals=False,
    )
    broker.connecting.open.set()
    serving = asyncio.create_task(app.serve())
    await reached(broker.gate("good").entered)
    await reached(broker.gate("bad").entered)
    with caplog.at_level(logging.ERROR, logger="svcgen_runtime.application"):
        broker.gate("bad").open.set()
        assert await serving == 3
    assert broker.gate("good").cancelled
    assert not broker.connected
    assert health._server is None  # the probe listener was closed too
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == "t: start-up failed: BrokerConnectionError: group of bad cannot join"
    assert all(r.exc_info is None for r in caplog.records)  # no traceback


class Draining:
    """A component whose drain waits on a gate, to look at the probes meanwhile."""

    name = "worker"
    ready = True

    def __init__(self) -> None:
        self.draining = Gate()

    async def start(self) -> None:
        return None

    def stop_intake(self) -> None:
        return None

    async def drain(self, timeout: float) -> bool:
        await self.draining.hold()
        return True

    async def force(self) -> None:
        return None

    async def close(self) -> None:
        return None


async def test_readyz_reason_after_start_and_while_draining() -> None:
    """Once started, a consumer that stops consuming is named; draining says so."""
    broker = HeldBroker("local")
    broker.connecting.open.set()
    broker.gate("c").open.set()
    health = HealthServer(host="127.0.0.1", port=0)
    c = consumer(broker, "c")
    worker = Draining()
    app = Application(
        name="t",
        brokers=[broker],
        consumers=[c],
        components=[worker],
        http=health,
        handle_signals=False,
    )
    serving = asyncio.create_task(app.serve())
    await app.wait_started()
    port = health.bound_port
    assert (await get(port, "/readyz")).status_code == 200
    c.consuming = False  # as the loop does while it subscribes again
    body = json.loads((await get(port, "/readyz")).content)
    assert body == {"status": "not ready", "reason": "not consuming: c"}
    c.consuming = True
    assert (await get(port, "/readyz")).status_code == 200
    app.shutdown()
    await reached(worker.draining.entered)
    body = json.loads((await get(port, "/readyz")).content)
    assert body == {"status": "not ready", "reason": "draining"}
    assert (await get(port, "/healthz")).status_code == 200
    worker.draining.open.set()
    assert await serving == 0


async def test_other_components_start_after_every_consumer_subscribed() -> None:
    """A schedule's first fire may publish to a source the service reads: components
    start only once every consumer (task workers are consumers) is subscribed."""
    broker = HeldBroker("local")
    broker.connecting.open.set()
    worker = Draining()
    starts: list[str] = []

    async def start() -> None:
        starts.append(f"worker while {sorted(c.name for c in consumers if c.ready)}")

    worker.start = start  # type: ignore[method-assign]
    worker.draining.open.set()
    consumers = [consumer(broker, "a"), consumer(broker, "b")]
    app = Application(
        name="t",
        brokers=[broker],
        consumers=consumers,
        components=[worker],
        handle_signals=False,
    )
    serving = asyncio.create_task(app.serve())
    await reached(broker.gate("a").entered)
    await reached(broker.gate("b").entered)
    broker.gate("a").open.set()
    while not consumers[0].ready:
        await asyncio.sleep(0)
    assert starts == []
    broker.gate("b").open.set()
    await app.wait_started()
    assert starts == ["worker while ['a', 'b']"]
    app.shutdown()
    assert await serving == 0
