"""The connection, its channels, and the topology: durable queues (classic or
quorum) and the retry delay buckets ``<source>.delay.<ms>``."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection

from ...errors import BrokerConnectionError, ConfigurationError
from .messages import CONNECTION_ERRORS, log

DELAY_REDECLARE: Final = 30.0
"""Seconds after which a delay bucket is declared again before a publish (x-expires)."""
CLOSE_TIMEOUT: Final = 5.0


def delay_bucket_ms(after: float) -> int:
    """The delay queue TTL for ``after`` seconds: rounded up, never early."""
    ms = max(math.ceil(after * 1000.0), 1)
    step = 100 if ms <= 10_000 else 500 if ms <= 60_000 else 1000
    return -(-ms // step) * step


def _is_open(conn: AbstractConnection | None) -> bool:
    """aio-pika marks a connection closed a little after aiormq does: ask both."""
    if conn is None or conn.is_closed:
        return False
    transport = conn.transport
    return transport is not None and not transport.connection.is_closed


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}:{parts.port or 5672}{parts.path}"


def _queue_arguments(
    quorum: bool, extra: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    arguments = {"x-queue-type": "quorum"} if quorum else {}
    arguments.update(extra or {})
    return arguments or None


class RabbitMQConnection:
    """The connection half of ``RabbitMQBroker`` (whose docstring names the
    arguments): the connection, channels, queue declarations."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        connection_name: str | None = None,
        connect_timeout: float = 10.0,
        publish_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.url = url
        self.connection_name = connection_name or f"svcgen:{name}"
        self.connect_timeout = connect_timeout
        self.publish_timeout = publish_timeout
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._lock = asyncio.Lock()
        self._channel_lock = asyncio.Lock()
        self._closed = False
        self._delay_declared: dict[tuple[str, int], float] = {}

    @property
    def connected(self) -> bool:
        return _is_open(self._connection)

    async def connect(self) -> None:
        self._closed = False
        await self._open_connection()

    async def close(self) -> None:
        self._closed = True
        conn, self._connection, self._channel = self._connection, None, None
        if conn is not None and not conn.is_closed:
            await close_connection(conn)

    async def _open_connection(self) -> AbstractConnection:
        conn = self._connection
        if conn is not None and _is_open(conn):
            return conn
        if self._closed:
            raise BrokerConnectionError(
                f"rabbitmq broker {self.name!r} is closed: call connect() first"
            )
        async with self._lock:
            conn = self._connection
            if conn is not None and _is_open(conn):
                return conn
            if conn is not None and not conn.is_closed:
                await close_connection(conn)  # dead underneath: free its tasks
            try:
                conn = await aio_pika.connect(
                    self.url,
                    timeout=self.connect_timeout,
                    client_properties={"connection_name": self.connection_name},
                )
            except CONNECTION_ERRORS as exc:
                raise BrokerConnectionError(
                    f"rabbitmq broker {self.name!r} cannot connect to "
                    f"{_safe_url(self.url)} ({type(exc).__name__}: {exc}): check "
                    "the url, the credentials and that the server is running"
                ) from exc
            self._connection = conn
            self._channel = None
            log.info("rabbitmq %s connected to %s", self.name, _safe_url(self.url))
            return conn

    async def open_channel(self, prefetch: int | None = None) -> AbstractChannel:
        """A new confirming channel on the (re)opened connection."""
        conn = await self._open_connection()
        try:
            channel = await conn.channel(publisher_confirms=True, on_return_raises=True)
            if prefetch is not None:
                await channel.set_qos(prefetch_count=prefetch)
        except CONNECTION_ERRORS as exc:
            raise BrokerConnectionError(
                f"rabbitmq broker {self.name!r} cannot open a channel "
                f"({type(exc).__name__}: {exc}); it reconnects on the next call"
            ) from exc
        return channel

    async def _publish_channel(self) -> AbstractChannel:
        channel = self._channel
        if channel is not None and not channel.is_closed and self.connected:
            return channel
        async with self._channel_lock:  # concurrent publishers open one channel
            channel = self._channel
            if channel is None or channel.is_closed or not self.connected:
                channel = self._channel = await self.open_channel()
            return channel

    async def declare(
        self,
        channel: AbstractChannel,
        queue: str,
        quorum: bool,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Declare ``queue`` durable, classic or quorum, with ``extra`` arguments."""
        try:
            await channel.declare_queue(
                queue, durable=True, arguments=_queue_arguments(quorum, extra)
            )
        except aiormq.exceptions.ChannelPreconditionFailed as exc:
            kind = "quorum" if quorum else "classic"
            raise ConfigurationError(
                f"rabbitmq queue {queue!r} already exists with other arguments than a "
                f"durable {kind} queue {dict(extra or {})} ({exc}): delete it, or set "
                "the consumer's queue_type and delivery_limit options to match how it "
                "was declared"
            ) from exc
        except CONNECTION_ERRORS as exc:
            raise BrokerConnectionError(
                f"rabbitmq broker {self.name!r} could not declare queue {queue!r} "
                f"({type(exc).__name__}: {exc}); it reconnects on the next call"
            ) from exc

    async def delay_queue(
        self,
        channel: AbstractChannel,
        source: str,
        after: float,
        *,
        force: bool = False,
    ) -> str:
        """Declare (at most every 30 s, or now with ``force``) the delay bucket for
        ``after``; return its name."""
        ms = delay_bucket_ms(after)
        name = f"{source}.delay.{ms}"
        now = time.monotonic()
        last = self._delay_declared.get((source, ms))
        if force or last is None or now - last > DELAY_REDECLARE:
            args: dict[str, Any] = {
                "x-message-ttl": ms,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": source,
                # Twice the TTL plus a minute: redeclared every 30 s while used, so a
                # bucket never expires with a message still waiting in it.
                "x-expires": 2 * ms + 60_000,
            }
            try:
                await channel.declare_queue(name, durable=True, arguments=args)
            except CONNECTION_ERRORS as exc:
                raise BrokerConnectionError(
                    f"rabbitmq broker {self.name!r} could not declare delay queue "
                    f"{name!r} ({type(exc).__name__}: {exc}); the delivery is "
                    "redelivered"
                ) from exc
            self._delay_declared[(source, ms)] = now
        return name


async def close_connection(conn: AbstractConnection) -> None:
    try:
        await asyncio.wait_for(conn.close(), CLOSE_TIMEOUT)
    except CONNECTION_ERRORS:
        log.debug("rabbitmq: closing a connection failed", exc_info=True)


async def close_quietly(channel: AbstractChannel) -> None:
    if channel.is_closed:
        return
    try:
        await asyncio.wait_for(channel.close(), CLOSE_TIMEOUT)
    except CONNECTION_ERRORS:
        log.debug("rabbitmq: closing a channel failed", exc_info=True)
