"""The raw-client process of the footprint benchmark: 5 subscriptions and an HTTP server.

    python -m benchmarks.footprint_raw KIND PORT SOURCE [SOURCE ...]
    python -m benchmarks.footprint_raw --import-only KIND

What a person writes without svcgen to do what the generated service of
``benchmarks/footprint.py`` does: one consumer per source on the raw client library
(``benchmarks/latency_raw.py``: one message at a time, acked after its handler) and a
Starlette app on uvicorn (as the runtime serves HTTP) with the same three routes and
``/healthz`` and ``/readyz`` (200 once every subscription is up). SIGTERM stops it.
``--import-only`` imports what the process needs and builds its app and consumers
without connecting, then prints the seconds that took (the import-time column).
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import asyncio  # noqa: E402
import contextlib  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Generator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, PlainTextResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from benchmarks.latency_raw import RawSide  # noqa: E402

CLIENTS = {
    "redis": ("redis.asyncio",),
    "nats": ("nats", "nats.js.api"),
    "kafka": ("aiokafka", "aiokafka.admin"),
    "rabbitmq": ("aio_pika",),
    "mqtt": ("paho.mqtt.client", "benchmarks.bench_mqtt"),
}
"""The modules ``RawSide`` imports for each kind (it imports them on start)."""


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # SIGTERM is this script's: it closes the subscriptions too


def build(kind: str, port: int, ready: list[bool]) -> tuple[Starlette, uvicorn.Server]:
    """The HTTP app and its server, with the routes the generated service has."""
    for module in CLIENTS[kind]:
        __import__(module)

    async def item(request: Request) -> Response:
        return JSONResponse({"route": "get_item", "params": request.path_params})

    async def items(request: Request) -> Response:
        return JSONResponse({"route": "items"})

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        return PlainTextResponse("ok" if ready else "starting", 200 if ready else 503)

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/items", items, methods=["GET", "POST"]),
            Route("/items/{item_id}", item),
        ]
    )
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        access_log=False,
    )
    return app, _Server(config)


async def serve(kind: str, port: int, sources: list[str]) -> None:
    ready: list[bool] = []
    _, server = build(kind, port, ready)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    http = asyncio.create_task(server.serve())

    async def handle(body: bytes) -> None:
        return None

    sides = [RawSide(kind, handle) for _ in sources]
    await asyncio.gather(*(s.start(src) for s, src in zip(sides, sources, strict=True)))
    assert "svcgen_runtime" not in sys.modules or kind == "mqtt"
    ready.append(True)
    await stop.wait()
    server.should_exit = True
    await http
    await asyncio.gather(*(s.stop() for s in sides))


def main() -> None:
    args: list[Any] = sys.argv[1:]
    if args[0] == "--import-only":
        build(args[1], 0, [])
        print(f"{time.perf_counter() - STARTED:.4f}")
        return
    asyncio.run(serve(args[0], int(args[1]), args[2:]))


if __name__ == "__main__":
    main()
