"""Liveness and readiness probes, and a small stdlib listener for services without routes."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Final, NamedTuple

from .types import Exposition, Readiness, Reason, Started
from .workers import in_worker

log = logging.getLogger(__name__)

HEALTHZ = "/healthz"
READYZ = "/readyz"
METRICS: Final = "/metrics"
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""Of ``/metrics``: Prometheus' text format (``svcgen_runtime.metrics``)."""


class Answer(NamedTuple):
    """An HTTP answer of the probes: its status and its JSON body."""

    status: int
    body: bytes


def probe(
    path: str, readiness: Readiness, reason: Reason | None = None
) -> Answer | None:
    """Status and body for a probe path, or None when the path is not a probe.

    ``/healthz`` is 200 whenever the process answers at all (from the first second
    of start-up to the end of the drain); ``/readyz`` is 200 once every consumer is
    consuming, else 503 with ``reason`` (what it waits for, or ``draining``).
    """
    if path == HEALTHZ:
        return Answer(200, b'{"status":"ok"}')
    if path == READYZ:
        if readiness():
            return Answer(200, b'{"status":"ready"}')
        body: dict[str, str] = {"status": "not ready"}
        if reason is not None:
            body["reason"] = reason()
        return Answer(503, json.dumps(body, separators=(",", ":")).encode())
    return None


class HealthServer:
    """Serves ``/healthz``, ``/readyz`` and ``/metrics`` over plain HTTP/1.1 with
    asyncio streams.

    For services that have no HTTP routes (no starlette, no uvicorn needed). It keeps
    answering until the Application closes it, so probes see readiness fail during
    the drain.
    """

    name = "health"

    def __init__(self, *, host: str = "0.0.0.0", port: int = 8080) -> None:
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._readiness: Readiness = lambda: False
        self._reason: Reason | None = None
        self._metrics: Exposition | None = None

    def bind(
        self,
        readiness: Readiness,
        metrics: Exposition,
        *,
        reason: Reason | None = None,
        started: Started | None = None,
    ) -> None:
        """Answer ``/readyz`` from ``readiness`` (503 bodies say ``reason``) and
        ``/metrics`` with what ``metrics`` returns; ``started`` is not used (no
        routes to hold back)."""
        self._readiness = readiness
        self._reason = reason
        self._metrics = metrics

    @property
    def ready(self) -> bool:
        return self._server is not None

    @property
    def bound_port(self) -> int:
        """The port actually listened on (useful with ``port=0``)."""
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_port=in_worker()
        )
        log.info("health listener on %s:%d", self.host, self.bound_port)

    def stop_intake(self) -> None:
        """Probes keep answering during the drain (readyz says 503)."""

    async def drain(self, timeout: float) -> bool:
        return True

    async def force(self) -> None:
        return None

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            async with asyncio.timeout(5):
                request_line = await reader.readline()
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
            parts = request_line.decode("latin-1").split()
            path = parts[1].split("?", 1)[0] if len(parts) >= 2 else ""
            kind = "application/json"
            answer = probe(path, self._readiness, self._reason)
            if path == METRICS and self._metrics is not None:
                answer, kind = Answer(200, await self._metrics()), CONTENT_TYPE
            status, body = (
                answer if answer is not None else Answer(404, b'{"status":"not found"}')
            )
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\ncontent-type: {kind}\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
