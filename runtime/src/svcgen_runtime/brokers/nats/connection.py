"""The connection (nats-py reconnects by itself), publishing through JetStream with
the PubAck awaited, and the stream topology: the stream that stores a subject, found
or created."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Mapping
from typing import Literal, Protocol

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js.api import StorageType, StreamConfig
from nats.js.client import JetStreamContext

from ...errors import BrokerConnectionError, BrokerError, ConfigurationError
from ...message import KEY_HEADER, safe_headers
from .failures import log, translated
from .names import lost_create_race, name_for, subject_matches


def storage_option(value: object) -> StorageType:
    if value not in ("file", "memory"):
        raise ConfigurationError(
            f"nats storage must be 'file' or 'memory', got {value!r}"
        )
    return StorageType.FILE if value == "file" else StorageType.MEMORY


def replicas_option(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ConfigurationError(
            f"nats replicas must be a whole number from 1 to 5, got {value!r}"
        )
    return value


class Breakable(Protocol):
    """A subscription, as the connection sees it: told when the connection drops."""

    def _broken(self, reason: str) -> None: ...


class NatsConnection:
    """The connection half of ``NatsBroker`` (whose docstring names the arguments):
    connect, close, publish, declare streams."""

    def __init__(
        self,
        name: str = "nats",
        url: str = "nats://127.0.0.1:4222",
        *,
        connect_timeout: float = 5.0,
        reconnect_wait: float = 0.5,
        request_timeout: float = 5.0,
        storage: Literal["file", "memory"] = "file",
        max_age: float | None = None,
        replicas: int = 1,
    ) -> None:
        self.name = name
        self.url = url
        self.connect_timeout = connect_timeout
        self.reconnect_wait = reconnect_wait
        self.request_timeout = request_timeout
        self.storage = storage_option(storage)
        self.replicas = replicas_option(replicas)
        self.max_age = max_age
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._subs: weakref.WeakSet[Breakable] = weakref.WeakSet()
        self._connecting = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    # -- connection ------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection; nats-py then reconnects by itself for as long as it runs."""
        async with self._connecting:  # one client, however many callers race here
            if self._nc is None or self._nc.is_closed:
                await self._open()

    async def _open(self) -> None:
        nc = Client()
        servers = [s.strip() for s in self.url.split(",") if s.strip()]
        try:
            async with asyncio.timeout(self.connect_timeout):
                await nc.connect(
                    servers=servers,
                    name=f"svcgen:{self.name}",
                    connect_timeout=max(1, round(self.connect_timeout)),
                    reconnect_time_wait=self.reconnect_wait,  # type: ignore[arg-type]
                    max_reconnect_attempts=-1,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    closed_cb=self._on_closed,
                )
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            raise BrokerConnectionError(
                f"nats broker {self.name!r} cannot connect to {self.url} "
                f"({type(exc).__name__}); check the url and that nats-server runs with -js"
            ) from exc
        self._nc = nc
        self._js = nc.jetstream(timeout=self.request_timeout)
        log.info("nats broker %s connected to %s", self.name, self.url)

    async def close(self) -> None:
        """Flush what was published (acks included) and close the connection."""
        nc, self._nc, self._js = self._nc, None, None
        if nc is None or nc.is_closed:
            return
        if nc.is_connected:
            try:
                await nc.flush(timeout=max(1, round(self.request_timeout)))
            except Exception as exc:
                log.warning("nats broker %s: final flush failed: %s", self.name, exc)
        await nc.close()

    async def _on_error(self, exc: Exception) -> None:
        log.debug("nats broker %s: %s: %s", self.name, type(exc).__name__, exc)

    async def _on_disconnected(self) -> None:
        if self._nc is None:
            return  # closing on purpose
        log.warning("nats broker %s lost its connection; reconnecting", self.name)
        for sub in list(self._subs):
            sub._broken("the nats connection dropped")

    async def _on_reconnected(self) -> None:
        log.info("nats broker %s reconnected to %s", self.name, self.url)

    async def _on_closed(self) -> None:
        for sub in list(self._subs):
            sub._broken("the nats connection is closed")

    async def _ready(
        self, *, reconnecting_ok: bool = False
    ) -> tuple[Client, JetStreamContext]:
        """The client, connecting first if needed; while it reconnects, raise unless
        ``reconnecting_ok`` (nats-py then buffers the request until it is back)."""
        if self._nc is None or self._nc.is_closed:
            await self.connect()
        nc, js = self._nc, self._js
        if nc is None or js is None:
            raise BrokerConnectionError(
                f"nats broker {self.name!r} is closed; connect it again"
            )
        if not nc.is_connected and not (reconnecting_ok and nc.is_reconnecting):
            raise BrokerConnectionError(
                f"nats broker {self.name!r} is not connected to {self.url}; it is "
                "retried once the client reconnects"
            )
        return nc, js

    # -- publishing ------------------------------------------------------------

    async def publish(
        self,
        target: str,
        body: bytes,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish through JetStream and wait for the stream's PubAck."""
        await self._publish(target, body, dict(headers) if headers else {}, key)

    async def _publish(
        self,
        target: str,
        body: bytes,
        headers: Mapping[str, str],
        key: str | None = None,
    ) -> None:
        # Headers are "Name: value" lines: a CR/LF in a value would end the block.
        headers = safe_headers(headers, (KEY_HEADER, key))
        # During a reconnect nats-py holds the publish and its PubAck wait (up to
        # request_timeout), so a short outage delays a publish instead of failing it.
        _, js = await self._ready(reconnecting_ok=True)
        try:
            with translated(f"publish to {target!r}"):
                await js.publish(target, body, headers=headers or None)
        except BrokerError as exc:
            if isinstance(exc.__cause__, nats.js.errors.NoStreamResponseError):
                raise BrokerError(
                    f"no JetStream stream stores subject {target!r}: start a consumer "
                    f"on it or call declare({target!r}) first"
                ) from exc.__cause__
            raise

    # -- topology --------------------------------------------------------------

    async def declare(self, subject: str, *, stream: str | None = None) -> str:
        """Make sure a stream stores ``subject``; return the stream's name."""
        _, js = await self._ready()
        with translated(f"declaring a stream for {subject!r}"):
            return await self._ensure_stream(js, subject, stream)

    async def _ensure_stream(
        self,
        js: JetStreamContext,
        subject: str,
        stream: str | None,
        *,
        storage: StorageType | None = None,
        replicas: int | None = None,
    ) -> str:
        """The stream storing ``subject``; created if none does, with ``storage``
        and ``replicas`` (default: the broker's). An existing one is kept as is."""
        existing = await self._existing_stream(js, subject, stream)
        if existing is not None:
            return existing
        name = stream or name_for(subject)
        config = StreamConfig(
            name=name,
            subjects=[subject],
            storage=storage or self.storage,
            num_replicas=replicas or self.replicas,
            max_age=self.max_age,
        )
        try:
            await js.add_stream(config)
        except nats.js.errors.APIError as exc:
            if not lost_create_race(exc):
                raise
            # Replicas starting together race to create the stream: the loser
            # finds the winner's, which stores the subject all the same.
            existing = await self._existing_stream(js, subject, stream)
            if existing is not None:
                return existing
            raise ConfigurationError(
                f"cannot create stream {name!r} for subject {subject!r} "
                f"({exc.description}): name an existing stream with the stream option"
            ) from exc
        log.info("nats broker %s created stream %s for %s", self.name, name, subject)
        return name

    async def _existing_stream(
        self, js: JetStreamContext, subject: str, stream: str | None
    ) -> str | None:
        """The stream that stores ``subject``: ``stream`` when named (an error if
        it stores other subjects only), else any; None when there is none yet."""
        if stream is None:
            try:
                found: str = await js.find_stream_name_by_subject(subject)
            except nats.js.errors.NotFoundError:
                return None
            return found
        try:
            info = await js.stream_info(stream)
        except nats.js.errors.NotFoundError:
            return None
        if not any(subject_matches(s, subject) for s in info.config.subjects or []):
            raise ConfigurationError(
                f"stream {stream!r} does not store subject {subject!r}: add the "
                "subject to the stream or drop the stream option"
            )
        return stream
