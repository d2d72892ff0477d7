"""The Application's lifecycle: start and shutdown order, drain, force, readiness, HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from svcgen_runtime import (
    Application,
    Consumer,
    HealthServer,
    InboundMessage,
    MemoryBroker,
)
from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.memory import MemorySubscription
from svcgen_runtime.http import HttpServer
from svcgen_runtime.testing import run_service


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []


class RecResource:
    def __init__(self, rec: Recorder) -> None:
        self.name = "db"
        self.rec = rec

    async def open(self) -> None:
        self.rec.events.append("resource.open")

    async def close(self) -> None:
        self.rec.events.append("resource.close")


class RecBroker(MemoryBroker):
    def __init__(self, rec: Recorder) -> None:
        super().__init__("local")
        self.rec = rec

    async def connect(self) -> None:
        self.rec.events.append("broker.connect")
        await super().connect()

    async def close(self) -> None:
        self.rec.events.append("broker.close")
        await super().close()

    async def subscribe(self, spec: SubscriptionSpec) -> MemorySubscription:
        self.rec.events.append("broker.subscribe")
        return await super().subscribe(spec)


class RecComponent:
    """A stand-in task worker: the seam other long-running parts plug into."""

    def __init__(self, rec: Recorder) -> None:
        self.name = "worker"
        self.rec = rec

    @property
    def ready(self) -> bool:
        return True

    async def start(self) -> None:
        self.rec.events.append("worker.start")

    def stop_intake(self) -> None:
        self.rec.events.append("worker.stop_intake")

    async def drain(self, timeout: float) -> bool:
        self.rec.events.append("worker.drain")
        return True

    async def force(self) -> None:
        self.rec.events.append("worker.force")

    async def close(self) -> None:
        self.rec.events.append("worker.close")


async def noop(body: bytes, msg: InboundMessage) -> None:
    return None


async def test_start_and_shutdown_order() -> None:
    rec = Recorder()
    broker = RecBroker(rec)
    consumer: Consumer[bytes] = Consumer(
        name="c", broker=broker, source="s", handler=noop
    )
    health = HealthServer(host="127.0.0.1", port=0)
    app = Application(
        name="t",
        brokers=[broker],
        consumers=[consumer],
        components=[RecComponent(rec)],
        resources=[RecResource(rec)],
        http=health,
        handle_signals=False,
    )
    async with run_service(app):
        rec.events.append("running")
        assert app.ready
    assert rec.events == [
        "resource.open",
        "broker.connect",
        "broker.subscribe",
        "worker.start",
        "running",
        "worker.stop_intake",
        "worker.drain",
        "worker.close",
        "broker.close",
        "resource.close",
    ]


async def probe(port: int, path: str) -> int:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{port}{path}")).status_code


async def test_health_listener_readyz_fails_from_the_moment_draining_starts() -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def handle(body: bytes, msg: InboundMessage) -> None:
        started.set()
        await release.wait()

    broker = MemoryBroker("local")
    consumer: Consumer[bytes] = Consumer(
        name="c", broker=broker, source="s", handler=handle
    )
    health = HealthServer(host="127.0.0.1", port=0)
    app = Application(
        name="t",
        brokers=[broker],
        consumers=[consumer],
        http=health,
        handle_signals=False,
        drain_timeout=5,
    )
    async with run_service(app) as svc:
        port = health.bound_port
        assert await probe(port, "/healthz") == 200
        assert await probe(port, "/readyz") == 200
        await svc.publish("local", "s", b"x")
        await started.wait()
        app.shutdown()
        await asyncio.sleep(0.05)
        assert await probe(port, "/readyz") == 503  # draining, handler still running
        assert await probe(port, "/healthz") == 200
        release.set()
        assert await svc.stop() == 0
    assert consumer.stats.acked == 1


async def test_readyz_fails_while_a_consumer_is_not_consuming() -> None:
    broker = MemoryBroker("local")
    consumer: Consumer[bytes] = Consumer(
        name="c", broker=broker, source="s", handler=noop
    )
    health = HealthServer(host="127.0.0.1", port=0)
    app = Application(
        name="t",
        brokers=[broker],
        consumers=[consumer],
        http=health,
        handle_signals=False,
    )
    async with run_service(app):
        port = health.bound_port
        assert await probe(port, "/readyz") == 200
        await broker.close()  # the connection drops: the loop loses its subscription
        for _ in range(100):
            if not consumer.consuming:
                break
            await asyncio.sleep(0.02)
        assert await probe(port, "/readyz") == 503
        await broker.connect()  # back: the loop subscribes again by itself
        for _ in range(200):
            if consumer.consuming:
                break
            await asyncio.sleep(0.02)
        assert await probe(port, "/readyz") == 200


async def test_second_shutdown_skips_the_drain() -> None:
    async def stuck(body: bytes, msg: InboundMessage) -> None:
        await asyncio.sleep(30)

    broker = MemoryBroker("local")
    consumer: Consumer[bytes] = Consumer(
        name="c", broker=broker, source="s", handler=stuck
    )
    app = Application(
        name="t",
        brokers=[broker],
        consumers=[consumer],
        handle_signals=False,
        drain_timeout=20,
    )
    async with run_service(app) as svc:
        await svc.publish("local", "s", b"x")
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        app.shutdown()
        await asyncio.sleep(0.1)
        app.shutdown()  # the second signal
        code = await svc.stop()
        assert loop.time() - t0 < 1.0
    assert code == 1
    assert consumer.stats.acked == 0


async def test_a_service_with_no_http_and_one_consumer_runs() -> None:
    got: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        got.append(body)

    broker = MemoryBroker("local")
    consumer: Consumer[bytes] = Consumer(
        name="c", broker=broker, source="s", handler=handle
    )
    app = Application(
        name="t", brokers=[broker], consumers=[consumer], handle_signals=False
    )
    async with run_service(app) as svc:
        await svc.publish("local", "s", b"x")
        await svc.wait_idle()
        assert await svc.stop() == 0
    assert got == [b"x"]


async def test_start_failure_returns_status_3_and_closes_what_opened() -> None:
    class Broken(MemoryBroker):
        async def connect(self) -> None:
            raise ConnectionRefusedError("nobody home")

    rec = Recorder()
    app = Application(
        name="t",
        brokers=[Broken("b")],
        resources=[RecResource(rec)],
        handle_signals=False,
    )
    assert await app.serve() == 3
    assert rec.events == ["resource.open", "resource.close"]


async def test_http_routes_probes_and_in_flight_request_drain() -> None:
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    entered = asyncio.Event()

    async def slow(request: Request) -> Response:
        entered.set()
        await asyncio.sleep(0.5)
        return PlainTextResponse("done")

    http = HttpServer(
        routes=[Route("/slow", slow, methods=["GET"])], host="127.0.0.1", port=0
    )
    app = Application(name="t", http=http, handle_signals=False, drain_timeout=5)
    async with run_service(app) as svc:
        port = http.bound_port
        assert await probe(port, "/readyz") == 200
        assert await probe(port, "/healthz") == 200
        async with httpx.AsyncClient() as client:
            pending = asyncio.create_task(client.get(f"http://127.0.0.1:{port}/slow"))
            await entered.wait()
            stopping = asyncio.create_task(svc.stop())
            response = await pending
            assert response.text == "done"
            assert await stopping == 0


async def test_http_probes_keep_answering_until_the_drain_ends() -> None:
    """The listener stays open for the whole drain (a consumer's handler and a
    request hold it open): probes answer, the request in flight finishes, a new
    request is turned away with 503 and Connection: close."""
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    entered = asyncio.Event()
    finish_request = asyncio.Event()
    handling = asyncio.Event()
    finish_handler = asyncio.Event()

    async def slow(request: Request) -> Response:
        entered.set()
        await finish_request.wait()
        return PlainTextResponse("done")

    async def handle(body: bytes, msg: InboundMessage) -> None:
        handling.set()
        await finish_handler.wait()

    broker = MemoryBroker("local")
    consumer: Consumer[bytes] = Consumer(
        name="c", broker=broker, source="s", handler=handle
    )
    http = HttpServer(
        routes=[Route("/slow", slow, methods=["GET"])], host="127.0.0.1", port=0
    )
    app = Application(
        name="t",
        brokers=[broker],
        consumers=[consumer],
        http=http,
        handle_signals=False,
        drain_timeout=10,
    )
    async with run_service(app) as svc, httpx.AsyncClient() as client:
        base = f"http://127.0.0.1:{http.bound_port}"
        await svc.publish("local", "s", b"x")
        await handling.wait()
        pending = asyncio.create_task(client.get(f"{base}/slow"))
        await entered.wait()
        stopping = asyncio.create_task(svc.stop())
        try:
            await asyncio.sleep(0.3)  # well into the drain
            for _ in range(3):
                assert (await client.get(f"{base}/healthz")).status_code == 200
                assert (await client.get(f"{base}/readyz")).status_code == 503
                metrics = await client.get(f"{base}/metrics")
                assert metrics.status_code == 200
                assert "svcgen_consumer_in_flight" in metrics.text
                turned_away = await client.get(f"{base}/slow")
                assert turned_away.status_code == 503
                assert turned_away.headers["connection"] == "close"
                await asyncio.sleep(0.1)
            assert not stopping.done()
            finish_request.set()
            response = await pending
            assert (response.status_code, response.text) == (200, "done")
            await asyncio.sleep(0.2)  # the request is done; the handler still drains
            assert (await client.get(f"{base}/healthz")).status_code == 200
            assert not stopping.done()
            finish_handler.set()
            assert await stopping == 0
        finally:  # a failure above must not leave the drain hanging
            finish_request.set()
            finish_handler.set()
        with pytest.raises(httpx.ConnectError):  # closed once the drain ended
            await client.get(f"{base}/healthz")
    assert consumer.stats.acked == 1


async def test_http_probes_during_startup_report_not_ready() -> None:
    http = HttpServer(routes=[], host="127.0.0.1", port=0)
    states: list[Any] = []

    class Probe:
        name = "probe"

        @property
        def ready(self) -> bool:
            return False  # never ready: readyz must say so

        async def start(self) -> None:
            states.append("start")

        def stop_intake(self) -> None:
            return None

        async def drain(self, timeout: float) -> bool:
            return True

        async def force(self) -> None:
            return None

        async def close(self) -> None:
            return None

    app = Application(name="t", http=http, components=[Probe()], handle_signals=False)
    async with run_service(app):
        assert await probe(http.bound_port, "/readyz") == 503
        assert await probe(http.bound_port, "/healthz") == 200
    assert states == ["start"]


async def test_one_shutdown_summary_line_with_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = MemoryBroker("local")
    consumer: Consumer[bytes] = Consumer(
        name="c", broker=broker, source="s", handler=noop
    )
    app = Application(
        name="svc", brokers=[broker], consumers=[consumer], handle_signals=False
    )
    with caplog.at_level("INFO", logger="svcgen_runtime.application"):
        async with run_service(app) as svc:
            await svc.publish("local", "s", b"x")
            await svc.wait_idle()
    [line] = [r.getMessage() for r in caplog.records if "stopped in" in r.getMessage()]
    assert "drain complete; received=1 acked=1 requeued=0" in line
