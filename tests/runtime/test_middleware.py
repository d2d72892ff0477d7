"""Consumer and HTTP middleware chains and lifecycle hooks, on the memory broker and a
real HTTP listener: order, outcome changes, exceptions (the handler's retry and
dead-letter path), the timeout over the whole chain, hooks once per process in
lifecycle order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from svcgen_runtime import (
    Ack,
    Application,
    Consumer,
    InboundMessage,
    MemoryBroker,
    Nack,
    Retry,
    RetryPolicy,
)
from svcgen_runtime.application import EXIT_START_FAILED
from svcgen_runtime.message import DLQ_ERROR_TYPE
from svcgen_runtime.middleware import Middleware, Next, Received, chain
from svcgen_runtime.outcome import Outcome
from svcgen_runtime.testing import run_service

FAST = RetryPolicy(max_attempts=3, initial=0.01, max=0.02, jitter=False)
CTX = {"service": "t"}


class Boom(Exception):
    pass


def service(
    handler: Any,
    middleware: Sequence[Middleware[Any]],
    *,
    timeout: float | None = 5.0,
    **app: Any,
) -> tuple[Application, Consumer[Any], MemoryBroker]:
    broker = MemoryBroker("local")
    consumer: Consumer[Any] = Consumer(
        name="c",
        broker=broker,
        source="in",
        handler=chain(handler, middleware, consumer="c", ctx=CTX),
        decode=lambda body: body.decode(),
        retry=FAST,
        timeout=timeout,
    )
    application = Application(
        name="t",
        brokers=[broker],
        consumers=[consumer],
        handle_signals=False,
        drain_timeout=2.0,
        **app,
    )
    return application, consumer, broker


def recorder(label: str, log: list[Any]) -> Middleware[Any]:
    async def mw(received: Received[Any], ctx: Any, call_next: Next) -> Outcome:
        log.append(f"{label}>")
        outcome = await call_next(received)
        log.append((f"<{label}", outcome))
        return outcome

    return mw


async def test_the_first_listed_is_outermost_and_each_sees_the_outcome() -> None:
    log: list[Any] = []
    seen: list[Received[Any]] = []

    async def first(received: Received[Any], ctx: Any, call_next: Next) -> Outcome:
        seen.append(received)
        assert ctx is CTX
        return await recorder("a", log)(received, ctx, call_next)

    async def handle(payload: str, msg: InboundMessage) -> None:
        log.append(f"handler {payload}")  # returns None: an Ack to the middleware

    app, consumer, _ = service(handle, [first, recorder("b", log), recorder("c", log)])
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"x", headers={"h": "1"})
        await svc.wait_idle()
    assert log == [
        "a>",
        "b>",
        "c>",
        "handler x",
        ("<c", Ack()),
        ("<b", Ack()),
        ("<a", Ack()),
    ]
    [received] = seen
    assert received.consumer == "c"
    assert received.payload == "x"
    assert received.message.headers["h"] == "1"
    assert received.attempt == 1
    assert consumer.stats.acked == 1


async def test_no_middleware_is_the_handler_itself() -> None:
    async def handle(payload: bytes, msg: InboundMessage) -> None:
        return None

    assert chain(handle, [], consumer="c", ctx=None) is handle


async def test_a_middleware_replaces_the_outcome() -> None:
    """The handler asks for a retry; the middleware dead-letters at once instead."""
    calls = 0

    async def handle(payload: str, msg: InboundMessage) -> Outcome:
        nonlocal calls
        calls += 1
        return Retry(after=0.01)

    async def no_retries(received: Received[Any], ctx: Any, call_next: Next) -> Outcome:
        outcome = await call_next(received)
        return Nack(requeue=False) if isinstance(outcome, Retry) else outcome

    app, consumer, _ = service(handle, [no_retries])
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"x")
        await svc.wait_idle()
        assert calls == 1
        assert consumer.stats.dead_lettered == 1
        assert consumer.stats.retried == 0
        assert [m.body for m in svc.dead_letters("local", "in.dlq")] == [b"x"]


async def test_a_middleware_turns_an_exception_into_an_ack() -> None:
    async def handle(payload: str, msg: InboundMessage) -> None:
        raise Boom("no")

    async def forgive(received: Received[Any], ctx: Any, call_next: Next) -> Outcome:
        try:
            return await call_next(received)
        except Boom:
            return Ack()

    app, consumer, _ = service(handle, [forgive])
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"x")
        await svc.wait_idle()
        assert consumer.stats.acked == 1
        assert consumer.stats.errors == 0
        assert svc.dead_letters("local", "in.dlq") == []


@pytest.mark.parametrize("where", ["before", "after"])
async def test_an_exception_in_a_middleware_is_a_handler_exception(where: str) -> None:
    """Raised before or after ``call_next``: retried by the policy, then
    dead-lettered with the middleware's error, as a handler's would be."""
    calls = 0
    attempts: list[int] = []

    async def handle(payload: str, msg: InboundMessage) -> None:
        nonlocal calls
        calls += 1

    async def broken(received: Received[Any], ctx: Any, call_next: Next) -> Outcome:
        attempts.append(received.attempt)
        if where == "before":
            raise Boom("before")
        await call_next(received)
        raise Boom("after")

    outer: list[Any] = []
    app, consumer, _ = service(handle, [recorder("outer", outer), broken])
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"x")
        await svc.wait_idle()
        assert attempts == [1, 2, 3]
        assert calls == (0 if where == "before" else 3)
        assert outer.count("outer>") == 3
        assert consumer.stats.errors == 3
        assert consumer.stats.retried == 2
        assert consumer.stats.acked == 0
        [dead] = svc.dead_letters("local", "in.dlq")
        assert dead.headers[DLQ_ERROR_TYPE] == "Boom"


async def test_the_timeout_covers_the_whole_chain() -> None:
    """The handler is quick; a middleware after it is slow: the delivery times out
    and is retried, then dead-lettered."""
    cancelled = 0

    async def handle(payload: str, msg: InboundMessage) -> None:
        return None

    async def slow(received: Received[Any], ctx: Any, call_next: Next) -> Outcome:
        nonlocal cancelled
        outcome = await call_next(received)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return outcome

    app, consumer, _ = service(handle, [slow], timeout=0.05)
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"x")
        await svc.wait_idle()
        assert consumer.stats.timeouts == 3
        assert cancelled == 3
        assert consumer.stats.acked == 0
        assert len(svc.dead_letters("local", "in.dlq")) == 1


async def test_a_middleware_returning_none_is_an_ack_to_the_one_outside() -> None:
    outer: list[Any] = []

    async def handle(payload: str, msg: InboundMessage) -> Outcome:
        return Retry(after=1)

    async def swallow(received: Received[Any], ctx: Any, call_next: Next) -> Any:
        await call_next(received)
        return None

    app, consumer, _ = service(handle, [recorder("o", outer), swallow])
    async with run_service(app) as svc:
        await svc.publish("local", "in", b"x")
        await svc.wait_idle()
    assert outer == ["o>", ("<o", Ack())]
    assert consumer.stats.acked == 1


# -- hooks -------------------------------------------------------------------------


class Recorded:
    """A resource that notes when it opens and closes."""

    def __init__(self, events: list[str]) -> None:
        self.name = "res"
        self.events = events

    async def open(self) -> None:
        self.events.append("resource open")

    async def close(self) -> None:
        self.events.append("resource close")


def hook(events: list[str], label: str, fail: bool = False) -> Any:
    async def run() -> None:
        events.append(label)
        if fail:
            raise Boom(label)

    run.__qualname__ = label
    return run


async def test_hooks_run_once_in_lifecycle_order() -> None:
    events: list[str] = []
    broker = MemoryBroker("local")
    consumers: list[Consumer[Any]] = []

    async def handle(payload: bytes, msg: InboundMessage) -> None:
        events.append("handled")

    async def start_hook() -> None:
        # resources and brokers are open; no consumer takes work yet
        assert broker.connected
        assert not any(c.consuming for c in consumers)
        events.append("on_start")
        await broker.publish("in", b"from on_start")

    async def stop_hook() -> None:
        # after the drain, before anything closes: the broker still publishes
        assert all(c.consuming for c in consumers)
        events.append("on_stop")
        await broker.publish("out", b"from on_stop")

    consumers += [
        Consumer(name=n, broker=broker, source=s, handler=handle)
        for n, s in (("c1", "in"), ("c2", "other"))
    ]
    app = Application(
        name="t",
        brokers=[broker],
        consumers=consumers,
        resources=[Recorded(events)],
        on_start=[start_hook, hook(events, "on_start 2")],
        on_stop=[stop_hook, hook(events, "on_stop 2")],
        handle_signals=False,
        drain_timeout=2.0,
    )
    async with run_service(app) as svc:
        await svc.wait_idle()
        events.append("running")
        assert await svc.stop() == 0
    assert events == [
        "resource open",
        "on_start",
        "on_start 2",
        "handled",
        "running",
        "on_stop",
        "on_stop 2",
        "resource close",
    ]
    assert [m.body for m in broker.messages("out")] == [b"from on_stop"]
    assert await app.serve() == EXIT_START_FAILED  # never twice in one process


async def test_a_failing_start_hook_fails_the_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[str] = []
    broker = MemoryBroker("local")

    async def handle(payload: bytes, msg: InboundMessage) -> None:
        raise AssertionError("no consumer starts")

    consumer: Consumer[bytes] = Consumer(
        name="c", broker=broker, source="in", handler=handle
    )
    app = Application(
        name="t",
        brokers=[broker],
        consumers=[consumer],
        resources=[Recorded(events)],
        on_start=[
            hook(events, "first"),
            hook(events, "bad", fail=True),
            hook(events, "never"),
        ],
        on_stop=[hook(events, "stop")],
        handle_signals=False,
    )
    with caplog.at_level(logging.ERROR):
        assert await app.serve() == EXIT_START_FAILED
    assert events == ["resource open", "first", "bad", "resource close"]
    assert not consumer.consuming
    assert not broker.connected
    failed = [r.getMessage() for r in caplog.records]
    assert any("on_start hook" in m and ".bad failed" in m for m in failed), failed


async def test_stop_hooks_run_when_a_later_start_step_fails() -> None:
    events: list[str] = []

    class Refuses(MemoryBroker):
        async def subscribe(self, spec: Any) -> Any:
            raise Boom("no subscription")

    broker = Refuses("local")

    async def handle(payload: bytes, msg: InboundMessage) -> None:
        return None

    app = Application(
        name="t",
        brokers=[broker],
        consumers=[Consumer(name="c", broker=broker, source="in", handler=handle)],
        on_start=[hook(events, "start")],
        on_stop=[hook(events, "stop")],
        handle_signals=False,
    )
    assert await app.serve() == EXIT_START_FAILED
    assert events == ["start", "stop"]


async def test_a_failing_stop_hook_is_logged_and_the_rest_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[str] = []
    app = Application(
        name="t",
        resources=[Recorded(events)],
        on_stop=[hook(events, "bad", fail=True), hook(events, "after")],
        handle_signals=False,
    )
    with caplog.at_level(logging.ERROR):
        async with run_service(app) as svc:
            assert await svc.stop() == 0
    assert events == ["resource open", "bad", "after", "resource close"]
    assert any("on_stop hook" in r.getMessage() for r in caplog.records)


# -- HTTP ------------------------------------------------------------------------


async def test_http_chain_order_replacement_and_errors() -> None:
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from svcgen_runtime.http import Endpoint, HttpServer, route_chain

    order: list[str] = []

    async def hello(ctx: Any, request: Request) -> Response:
        order.append("route")
        if request.query_params.get("fail"):
            raise Boom("route")
        return PlainTextResponse("hello")

    def tag(label: str) -> Any:
        async def mw(request: Request, ctx: Any, call_next: Endpoint) -> Response:
            assert ctx is CTX
            order.append(f"{label}>")
            response = await call_next(request)
            order.append(f"<{label}")
            response.headers.append("x-chain", label)
            return response

        return mw

    async def teapot(request: Request, ctx: Any, call_next: Endpoint) -> Response:
        if request.query_params.get("raise") == "before":
            raise Boom("before")
        response = await call_next(request)
        if request.query_params.get("raise") == "after":
            raise Boom("after")
        if request.query_params.get("replace"):
            return PlainTextResponse("short and stout", status_code=418)
        return response

    async def endpoint(request: Request) -> Response:
        return await hello(CTX, request)

    chained = route_chain(endpoint, [tag("a"), tag("b"), teapot], ctx=CTX)
    assert route_chain(endpoint, [], ctx=CTX) is endpoint
    http = HttpServer(
        routes=[Route("/hello", chained, methods=["GET"])], host="127.0.0.1", port=0
    )
    app = Application(name="t", http=http, handle_signals=False, drain_timeout=2)
    async with run_service(app), httpx.AsyncClient() as client:
        base = f"http://127.0.0.1:{http.bound_port}"
        ok = await client.get(f"{base}/hello")
        assert ok.status_code == 200 and ok.text == "hello"
        assert ok.headers.get_list("x-chain") == ["b", "a"]
        assert order == ["a>", "b>", "route", "<b", "<a"]
        replaced = await client.get(f"{base}/hello?replace=1")
        assert replaced.status_code == 418 and replaced.text == "short and stout"
        for query in ("raise=before", "raise=after", "fail=1"):
            failed = await client.get(f"{base}/hello?{query}")
            assert failed.status_code == 500, query
        assert (await client.get(f"{base}/healthz")).status_code == 200
