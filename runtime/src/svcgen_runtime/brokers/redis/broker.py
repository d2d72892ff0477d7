"""The adapter itself: ``RedisBroker`` (subscribe: group, delayed set and dead-letter
stream checked or created) and ``RedisSubscription``, assembled from the consuming
and the settling halves, with its start, lag and close."""

from __future__ import annotations

import asyncio

from redis import exceptions as rexc
from redis.asyncio import Redis

from ...cancel import cancel_and_wait
from ...errors import BrokerConnectionError, BrokerError, ConfigurationError
from ..base import SubscriptionSpec
from .client import RedisConnection
from .consume import StreamConsumer
from .entries import CONNECTION_ERRORS, DELAYED_SUFFIX, log
from .settle import Settler
from .state import OPTIONS


class RedisSubscription(StreamConsumer, Settler):
    """One consumer's reading of one stream through one consumer group."""

    heartbeat_interval: float | None = None
    """Idle times are reset by the housekeeping task, not per message."""

    def start(self) -> None:
        self._housekeeper = asyncio.create_task(
            self._housekeep(), name=f"redis-{self._source}-housekeeping"
        )

    # -- closing ---------------------------------------------------------------

    async def lag(self) -> int | None:
        """Entries of the stream not yet delivered to the group (XINFO GROUPS'
        ``lag``, Redis 7), plus retries waiting for their due time."""
        groups = await self._client.xinfo_groups(self._source)
        for group in groups:
            name = group.get("name")
            if name in (self._group, self._group_b):
                waiting = group.get("lag")
                if waiting is None:
                    return None  # Redis could not tell (before 7, or a trimmed stream)
                delayed = await self._client.zcard(self._delayed)
                return int(waiting) + int(delayed)
        return None

    async def close(self) -> None:
        """Flush acks; unsettled entries stay pending and are reclaimed after idle."""
        self._closed = True
        if self._housekeeper is not None:
            await cancel_and_wait([self._housekeeper], what="redis housekeeping task")
        await self._flush()
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)
        try:
            await self._forget_script(
                keys=[self._source],
                args=[self._group, self.consumer_name],
                client=self._client,
            )
        except Exception as exc:
            log.debug("redis %s: forgetting consumer failed: %s", self._source, exc)


class RedisBroker(RedisConnection):
    """A named connection to one Redis server, publishing to and reading streams.

    Args:
        name: the spec's broker name.
        url: ``redis://[user:password@]host:port/db`` (or ``rediss://``, ``unix://``).
        client_name: ``CLIENT SETNAME`` of every connection (default ``svcgen:<name>``).
        socket_timeout: seconds a reply may take; blocking reads stay below it.
        connect_timeout: seconds a connection attempt may take.
        retries: reconnect-and-retry attempts of a publish, ack or settle command.
        maxlen: keep streams at about this many entries: every publish appends with
            ``MAXLEN ~ maxlen``, and it is the default of a consumer's ``maxlen``
            option (which trims its source); None (the default): no trimming.
    """

    kind = "redis"

    async def subscribe(self, spec: SubscriptionSpec) -> RedisSubscription:
        spec.check_options(self.kind, OPTIONS)
        client, reader = await self._clients()
        delayed = spec.source + DELAYED_SUFFIX
        try:
            try:
                await client.xgroup_create(spec.source, spec.group, "0", mkstream=True)
            except rexc.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise BrokerError(
                        f"consumer {spec.consumer!r}: cannot create group "
                        f"{spec.group!r} on {spec.source!r}: {exc}; the key must be "
                        "a stream"
                    ) from exc
            await self._expect_type(client, delayed, b"zset")
            if spec.dead_letter is not None:
                await self._expect_type(client, spec.dead_letter, b"stream")
        except CONNECTION_ERRORS as exc:
            raise BrokerConnectionError(
                f"redis broker {self.name!r} lost its connection subscribing to "
                f"{spec.source!r}: {exc}"
            ) from exc
        sub = RedisSubscription(self, spec, client, reader)
        sub.start()
        return sub

    async def _expect_type(self, client: Redis, key: str, kind: bytes) -> None:
        found = await client.type(key)
        if isinstance(found, str):
            found = found.encode()
        if found not in (b"none", kind):
            raise ConfigurationError(
                f"redis key {key!r} is a {found.decode()}, not a {kind.decode()}; "
                "delete it or choose another name"
            )
