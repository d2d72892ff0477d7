"""The Redis harness: streams on the loopback server, killed by client name, deleted after."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from redis.asyncio import Redis

from svcgen_runtime.brokers.base import Broker
from svcgen_runtime.brokers.redis import DELAYED_SUFFIX, RedisBroker

from .harness import unique

URL: Final = "redis://127.0.0.1:6379/0"
CLAIM_IDLE: Final = 1.0


class Harness:
    kind = "redis"
    supports_crash = True

    def __init__(self, url: str = URL) -> None:
        self.url = url
        # Every connection this harness's brokers open carries this CLIENT SETNAME,
        # so cut_connections kills exactly these, never another test's clients.
        self.client_name = unique("svcgen-test")
        self._sources: list[str] = []

    def broker(self, name: str = "test") -> Broker:
        return RedisBroker(name, self.url, client_name=self.client_name)

    def source(self, prefix: str) -> str:
        source = unique(f"svcgen-test.{prefix}")
        self._sources.append(source)
        return source

    def consumer_options(self) -> Mapping[str, Any]:
        return {"claim_idle": CLAIM_IDLE, "claim_interval": 0.2}

    def ack_wait(self) -> float:
        return CLAIM_IDLE

    def _admin(self) -> Redis:
        return Redis.from_url(self.url, client_name=unique("svcgen-test-admin"))

    async def cut_connections(self) -> None:
        admin = self._admin()
        try:
            killed = 0
            for client in await admin.client_list():
                if client.get("name") == self.client_name:
                    killed += await admin.client_kill_filter(_id=client["id"])
        finally:
            await admin.aclose()
        if not killed:
            raise AssertionError(f"no redis connection named {self.client_name} to cut")

    async def refuse_publishes(self, target: str) -> bool:
        # A string where the stream was: XADD answers WRONGTYPE.
        admin = self._admin()
        try:
            await admin.delete(target)
            await admin.set(target, "refuses XADD")
        finally:
            await admin.aclose()
        return True

    async def cleanup(self) -> None:
        admin = self._admin()
        try:
            for source in self._sources:
                # The source, its <source>.delayed set and any <source>* dead-letter
                # stream; unique() makes the prefix this test's own.
                keys = [source, source + DELAYED_SUFFIX]
                async for key in admin.scan_iter(match=_glob(source) + "*"):
                    keys.append(key.decode() if isinstance(key, bytes) else key)
                await admin.delete(*keys)
            self._sources.clear()
        finally:
            await admin.aclose()

    def broker_script(self) -> str:
        return (
            "from svcgen_runtime.brokers.redis import RedisBroker\n"
            f"RedisBroker({'test'!r}, {self.url!r}, client_name={self.client_name!r})"
        )


def _glob(text: str) -> str:
    """``text`` with glob metacharacters escaped, for SCAN MATCH."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
