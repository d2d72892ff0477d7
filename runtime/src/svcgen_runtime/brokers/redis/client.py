"""Publishing, and the connections a broker and its subscriptions share: one client
for commands (retried after a reconnect) and one for blocking reads (never retried)."""

from __future__ import annotations

from collections.abc import Mapping

from redis import exceptions as rexc
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff

from ...errors import BrokerConnectionError, BrokerError, ConfigurationError
from .entries import CONNECTION_ERRORS, command, encode_fields


class RedisConnection:
    """The connection half of ``RedisBroker`` (whose docstring names the arguments):
    connect, close, publish."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        client_name: str | None = None,
        socket_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        retries: int = 2,
        maxlen: int | None = None,
    ) -> None:
        if maxlen is not None and (
            isinstance(maxlen, bool) or not isinstance(maxlen, int) or maxlen < 1
        ):
            raise ConfigurationError(
                f"redis broker {name!r}: maxlen must be a whole number >= 1 or None, "
                f"got {maxlen!r}"
            )
        if socket_timeout <= 1.0:
            raise ConfigurationError(
                f"redis broker {name!r}: socket_timeout must exceed 1 second, "
                f"got {socket_timeout}"
            )
        self.name = name
        self.url = url
        self.client_name = client_name or f"svcgen:{name}"
        self.socket_timeout = socket_timeout
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.maxlen = maxlen
        self._client: Redis | None = None
        self._reader: Redis | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None

    def _make(self, retries: int) -> Redis:
        retry = (
            Retry(ExponentialBackoff(cap=0.5, base=0.05), retries)
            if retries > 0
            else Retry(NoBackoff(), 0)
        )
        return Redis.from_url(
            self.url,
            client_name=self.client_name,
            socket_timeout=self.socket_timeout,
            socket_connect_timeout=self.connect_timeout,
            retry=retry,
            decode_responses=False,
            protocol=2,
        )

    async def connect(self) -> None:
        if self._client is None:
            # Commands retry after a reconnect; blocking reads never do, so a read
            # cut in flight is noticed and its entries recovered.
            self._client = self._make(self.retries)
            self._reader = self._make(0)
        try:
            await self._client.ping()
        except CONNECTION_ERRORS as exc:
            raise BrokerConnectionError(
                f"redis broker {self.name!r} cannot reach {self.url}: {exc}; check "
                "that the server runs and the url is right"
            ) from exc

    async def close(self) -> None:
        client, reader = self._client, self._reader
        self._client = self._reader = None
        for c in (client, reader):
            if c is not None:
                await c.aclose()

    async def _clients(self) -> tuple[Redis, Redis]:
        if self._client is None or self._reader is None:
            await self.connect()
        assert self._client is not None and self._reader is not None
        return self._client, self._reader

    async def publish(
        self,
        target: str,
        body: bytes,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        client, _ = await self._clients()
        try:
            trim = () if self.maxlen is None else ("MAXLEN", "~", self.maxlen)
            await command(
                client, "XADD", target, *trim, "*", *encode_fields(body, key, headers)
            )
        except CONNECTION_ERRORS as exc:
            raise BrokerConnectionError(
                f"redis broker {self.name!r} lost its connection publishing to "
                f"{target!r}: {exc}"
            ) from exc
        except rexc.ResponseError as exc:
            raise BrokerError(
                f"redis broker {self.name!r} cannot publish to {target!r}: {exc}; "
                "the key must be a stream"
            ) from exc
