"""A real service process for the signal tests: memory broker, N messages, slow handlers.

Prints one JSON line per event on stdout: {"event": "ready", "port": …},
{"event": "all_started"}, and at exit {"event": "exit", "acked": …, "released": …,
"last_done": unix time}. ``--listener http|health`` adds an HttpServer (with a
``/work`` route) or a HealthServer on a free loopback port.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from svcgen_runtime import (
    Application,
    Consumer,
    HealthServer,
    InboundMessage,
    MemoryBroker,
)


def say(**event: object) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


async def main(args: argparse.Namespace) -> int:
    broker = MemoryBroker("local")
    started = 0
    last_done = 0.0

    async def handle(body: bytes, msg: InboundMessage) -> None:
        nonlocal started, last_done
        started += 1
        if started == args.messages:
            say(event="all_started")
        await asyncio.sleep(args.handler_seconds)
        last_done = time.time()

    consumer: Consumer[bytes] = Consumer(
        name="work",
        broker=broker,
        source="jobs",
        handler=handle,
        concurrency=args.concurrency,
        timeout=60,
    )
    listener: Any = None
    if args.listener == "http":
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse, Response
        from starlette.routing import Route

        from svcgen_runtime.http import HttpServer

        async def work(request: Request) -> Response:
            return PlainTextResponse("worked")

        listener = HttpServer(
            routes=[Route("/work", work, methods=["GET"])], host="127.0.0.1", port=0
        )
    elif args.listener == "health":
        listener = HealthServer(host="127.0.0.1", port=0)
    app = Application(
        name="signal-test",
        brokers=[broker],
        consumers=[consumer],
        http=listener,
        drain_timeout=args.drain_timeout,
    )
    for i in range(args.messages):
        await broker.publish("jobs", str(i).encode())

    async def announce() -> None:
        await app.wait_started()
        say(event="ready", port=None if listener is None else listener.bound_port)

    announcer = asyncio.create_task(announce())
    code = await app.serve()
    announcer.cancel()
    say(
        event="exit",
        acked=consumer.stats.acked,
        released=consumer.stats.released,
        last_done=last_done,
        code=code,
    )
    return code


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--handler-seconds", type=float, default=0.5)
    parser.add_argument("--drain-timeout", type=float, default=5.0)
    parser.add_argument("--listener", choices=["http", "health"], default=None)
    sys.exit(asyncio.run(main(parser.parse_args())))
