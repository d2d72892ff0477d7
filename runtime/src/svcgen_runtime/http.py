"""The HTTP component: a starlette app on uvicorn, inside the Application's lifecycle.

Requires the ``http`` extra. uvicorn's own signal handling is off: the Application
owns SIGINT/SIGTERM. During the drain the listener stays open, so a liveness probe
never finds the port closed: ``/healthz`` says 200, ``/readyz`` 503, ``/metrics``
answers as usual, requests already in flight finish (within the same drain budget as
consumers), and any other new request gets 503 with ``Connection: close``. The
listener closes when the Application closes the server, after the drain.

``route_chain`` puts the service's HTTP middleware around one route: a chain of
``async def mw(request, ctx, call_next) -> Response`` around the endpoint, rather
than Starlette (ASGI) middleware, because it sees the handler context like the
consumer chain does (``svcgen_runtime.middleware``), runs for the service's own
routes only (never for the probes and ``/metrics``, which must answer whatever a
middleware does), runs inside the drain's in-flight count and the 503 until
started, and an exception in it is what a route's exception is: a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Generator, Sequence
from typing import Any, Final, TypeAlias, TypeVar

from .errors import require
from .health import CONTENT_TYPE, HEALTHZ, METRICS, READYZ, probe
from .types import Exposition, Readiness, Reason, Started
from .workers import in_worker, shared_listener

require("starlette", "http")
require("uvicorn", "http")

import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import BaseRoute, Route  # noqa: E402
from starlette.types import Receive, Scope, Send  # noqa: E402

log = logging.getLogger(__name__)

_PROBES: Final = frozenset({HEALTHZ, READYZ, METRICS})
_DRAINING: Final = b'{"status":"draining"}'
_STARTING: Final = b'{"status":"starting"}'
RETRY_AFTER: Final = 1
"""Seconds a request that arrives during start-up is told to wait (``Retry-After``)."""


C = TypeVar("C")
Endpoint: TypeAlias = Callable[[Request], Awaitable[Response]]
"""A route's handler with its context bound, and ``call_next`` of a middleware."""
RouteMiddleware: TypeAlias = Callable[[Request, C, Endpoint], Awaitable[Response]]
"""``async def mw(request, ctx, call_next) -> Response``."""


def route_chain(
    endpoint: Endpoint, middleware: Sequence[RouteMiddleware[C]], *, ctx: C
) -> Endpoint:
    """``endpoint`` inside ``middleware``, the first listed outermost: each gets the
    request and returns the response, the route's own or one it made instead."""
    if not middleware:
        return endpoint
    call = endpoint
    for mw in reversed(middleware):
        call = functools.partial(_link, mw, ctx, call)

    async def chained(request: Request) -> Response:
        return await call(request)

    return chained


async def _link(
    mw: RouteMiddleware[C], ctx: C, call_next: Endpoint, request: Request
) -> Response:
    return await mw(request, ctx, call_next)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The Application owns the process's signal handlers.
        yield


class HttpServer:
    """Serves ``routes`` plus ``/healthz``, ``/readyz`` and ``/metrics`` on ``host:port``.

    Args:
        routes: starlette routes (``Route(path, endpoint, methods=[...])``).
        host: interface to bind.
        port: TCP port; 0 picks a free one (see ``bound_port``).
        log_level: uvicorn's log level.
    """

    name = "http"

    def __init__(
        self,
        *,
        routes: Sequence[BaseRoute] = (),
        host: str = "0.0.0.0",
        port: int = 8000,
        log_level: str = "warning",
    ) -> None:
        self.host = host
        self.port = port
        self._readiness: Readiness = lambda: False
        self._reason: Reason | None = None
        self._started: Started = lambda: True
        self._metrics: Exposition | None = None
        probes: list[BaseRoute] = [
            Route(HEALTHZ, self._probe, methods=["GET"]),
            Route(READYZ, self._probe, methods=["GET"]),
            Route(METRICS, self._serve_metrics, methods=["GET"]),
        ]
        self.app = Starlette(routes=[*probes, *routes])
        self._draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._config = uvicorn.Config(
            self._serve,
            interface="asgi3",
            host=host,
            port=port,
            lifespan="off",
            log_level=log_level,
            access_log=False,
        )
        self._server = _Server(self._config)
        self._task: asyncio.Task[None] | None = None

    def bind(
        self,
        readiness: Readiness,
        metrics: Exposition,
        *,
        reason: Reason | None = None,
        started: Started | None = None,
    ) -> None:
        """Answer ``/readyz`` from ``readiness`` (503 bodies say ``reason``) and
        ``/metrics`` with what ``metrics`` returns; until ``started()`` is true,
        requests to the routes get 503 with ``Retry-After``."""
        self._readiness = readiness
        self._reason = reason
        self._metrics = metrics
        if started is not None:
            self._started = started

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry: probes always pass; other requests count as in flight,
        and once the drain has begun new ones are turned away."""
        if scope["type"] != "http" or scope["path"] in _PROBES:
            await self.app(scope, receive, send)
            return
        if self._draining:
            await _unavailable(send, _DRAINING, (b"connection", b"close"))
            return
        if not self._started():
            retry = (b"retry-after", str(RETRY_AFTER).encode())
            await _unavailable(send, _STARTING, retry)
            return
        self._in_flight += 1
        self._idle.clear()
        try:
            await self.app(scope, receive, send)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    async def _serve_metrics(self, request: Request) -> Response:
        if self._metrics is None:
            return Response(b"", status_code=404)
        return Response(await self._metrics(), headers={"content-type": CONTENT_TYPE})

    async def _probe(self, request: Request) -> Response:
        answer = probe(request.url.path, self._readiness, self._reason)
        assert answer is not None
        return Response(
            answer.body, status_code=answer.status, media_type="application/json"
        )

    @property
    def ready(self) -> bool:
        return self._server.started and not self._draining

    @property
    def bound_port(self) -> int:
        servers: list[Any] = getattr(self._server, "servers", [])
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self.port

    async def start(self) -> None:
        # one of several workers: every worker listens on the one port
        sockets = [shared_listener(self.host, self.port)] if in_worker() else None
        self._task = asyncio.create_task(self._server.serve(sockets), name="http")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the bind error
                raise RuntimeError(
                    f"the HTTP server on {self.host}:{self.port} did not start"
                )
            await asyncio.sleep(0.01)
        log.info("http listening on %s:%d", self.host, self.bound_port)

    def stop_intake(self) -> None:
        """New requests other than probes get 503; the listener stays open."""
        self._draining = True

    async def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the requests in flight to finish."""
        self.stop_intake()
        try:
            async with asyncio.timeout(max(timeout, 0.0)):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def force(self) -> None:
        self._server.force_exit = True

    async def close(self) -> None:
        if self._task is not None:
            self._draining = True
            # Drained already (or forced): what is still in flight is not waited for.
            self._config.timeout_graceful_shutdown = 1
            self._server.should_exit = True
            self._server.force_exit = self._server.force_exit or False
            with contextlib.suppress(asyncio.CancelledError, SystemExit):
                try:
                    async with asyncio.timeout(5):
                        await self._task
                except TimeoutError:
                    self._task.cancel()
            self._task = None


async def _unavailable(send: Send, body: bytes, header: tuple[bytes, bytes]) -> None:
    """Answer 503 with a JSON ``body`` and one more ``header``."""
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                header,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
