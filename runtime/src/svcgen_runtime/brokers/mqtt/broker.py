"""``MqttBroker``, the adapter: its publisher link, and ``subscribe``, which ties the parts.

A subscription is one ``Link`` with ``clean_start=False`` under a client id claimed in
``client_ids``, subscribed to the filters ``topics`` spells, feeding an
``MqttSubscription``; the dead-letter topic gets a persistent session of its own so
that dead letters are kept (see the package docstring).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from typing import Final

from ...errors import ConfigurationError
from ..base import SubscriptionSpec
from ..claims import lowest_free, replica_name
from .client_ids import claim_id, in_use, release_id, resumed, sessions, taken
from .deliveries import ID_PROPERTY, user_props
from .link import KEEPALIVE, Link, Server
from .subscription import MqttSubscription
from .topics import dead_letter_session, default_retry_topic, subscription_filter

log = logging.getLogger(__package__)  # the adapter's one logger, as before

SESSION_EXPIRY: Final = 7 * 24 * 3600
OPTIONS: Final = frozenset(
    {
        "shared",
        "client_id",
        "session_expiry",
        "receive_maximum",
        "buffer",
        "retry_topic",
        "declare_dead_letter",
    }
)


class MqttBroker:
    """A named connection to an MQTT 5 server (QoS 1, persistent sessions).

    Args:
        name: the spec's broker name.
        url: ``mqtt://[user:password@]host[:port]`` or ``mqtts://…`` for TLS.
        keepalive: seconds between keepalive pings.
        connect_timeout: seconds a connect may take.
        session_expiry: default Session Expiry Interval of consumer sessions (seconds).
        host_id: the host part of default client ids (default: this host's name).
    """

    kind = "mqtt"

    def __init__(
        self,
        name: str,
        url: str = "mqtt://127.0.0.1:1883",
        *,
        keepalive: int = KEEPALIVE,
        connect_timeout: float = 5.0,
        session_expiry: int = SESSION_EXPIRY,
        host_id: str | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self._server = Server.parse(url)
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self.session_expiry = session_expiry
        self.host_id = host_id or replica_name()
        self._publisher: Link | None = None
        self._connecting: asyncio.Lock | None = None
        self._declared: set[tuple[str, str]] = set()
        # Consumers subscribe concurrently: two of one group with one dead-letter
        # topic would each open the same session id, and the server would drop one.
        self._declaring = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._publisher is not None and self._publisher.alive

    async def connect(self) -> None:
        await self._ensure_publisher()

    async def close(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            await publisher.close()

    async def _ensure_publisher(self) -> Link:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            link = self._publisher
            if link is None or not link.alive:
                if link is not None:
                    link.abort()
                link = Link(
                    self._server,
                    f"svcgen-pub-{self.name}-{uuid.uuid4().hex[:12]}",
                    keepalive=self.keepalive,
                )
                await link.open(clean_start=True, timeout=self.connect_timeout)
                self._publisher = link
            return link

    async def publish(
        self,
        target: str,
        body: bytes,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish at QoS 1 and wait for the server's PUBACK."""
        hdrs = dict(headers or {})
        hdrs.setdefault(ID_PROPERTY, uuid.uuid4().hex)
        link = self._publisher
        if link is None or not link.alive:
            link = await self._ensure_publisher()
        await link.publish(target, body, user_props(hdrs, key))

    # -- subscriptions ---------------------------------------------------------

    def client_id(self, group: str, source: str, index: int = 0) -> str:
        """The default persistent client id of ``(group, source)`` on this host."""
        return f"svcgen/{group}/{source}/{self.host_id}/{index}"

    def _pick_client_id(self, group: str, source: str) -> str:
        """The lowest-numbered id no live process on this host holds, and claim it."""
        return lowest_free(
            lambda n: self.client_id(group, source, n), skip=taken.__contains__
        )

    async def subscribe(self, spec: SubscriptionSpec) -> MqttSubscription:
        opts = dict(spec.options)
        spec.check_options(self.kind, OPTIONS)
        shared = bool(opts.get("shared", True))
        expiry = int(opts.get("session_expiry", self.session_expiry))
        receive_max = int(opts.get("receive_maximum", spec.concurrency))
        bound = int(opts.get("buffer", max(2 * receive_max, 16)))
        retry_topic = str(
            opts.get("retry_topic", default_retry_topic(spec.group, spec.source))
        )
        explicit = opts.get("client_id")
        if explicit:
            cid = str(explicit)
            if cid in in_use:
                raise ConfigurationError(
                    f"consumer {spec.consumer!r}: mqtt client id {cid!r} is already used "
                    "in this process; give each consumer its own client_id"
                )
            if not claim_id(cid):
                # Held by another process here: the server arbitrates.
                in_use[cid] = None
        else:
            cid = self._pick_client_id(spec.group, spec.source)
        sub = MqttSubscription(spec, retry_topic=retry_topic, bound=bound)
        link = Link(
            self._server,
            cid,
            manual_ack=True,
            keepalive=self.keepalive,
            on_message=sub._on_message,
        )
        where = (self._server.host, self._server.port, cid)
        known = where in resumed
        sessions.add(cid)
        try:
            if spec.dead_letter is not None and opts.get("declare_dead_letter", True):
                await self._declare_dead_letter(spec.group, spec.dead_letter, expiry)
            present = await link.open(
                clean_start=False,
                session_expiry=expiry,
                receive_maximum=receive_max,
                timeout=self.connect_timeout,
            )
            if known and not present:
                log.warning(
                    "mqtt server %s:%d had no session for %s: what was queued for it "
                    "is lost (session expired, or the server restarted without "
                    "persistence)",
                    self._server.host,
                    self._server.port,
                    cid,
                )
            resumed.add(where)
            await link.subscribe(
                [
                    subscription_filter(spec.group, t, shared)
                    for t in (spec.source, retry_topic)
                ]
            )
        except BaseException:
            release_id(cid)
            link.abort()
            raise
        sub._attach(link)
        return sub

    def dead_letter_client_id(self, group: str, topic: str) -> str:
        """The session that keeps the dead letters ``group`` publishes to ``topic``."""
        return dead_letter_session(group, topic)

    async def _declare_dead_letter(self, group: str, topic: str, expiry: int) -> None:
        """Create (idempotently) the persistent session subscribed to ``topic``.

        Without a subscribed session, MQTT keeps nothing published to a topic. The
        subscription is a plain one: every replica declares the same session, and
        each dead letter is stored once in it.
        """
        async with self._declaring:
            await self._declare_once(group, topic, expiry)

    async def _declare_once(self, group: str, topic: str, expiry: int) -> None:
        cid = self.dead_letter_client_id(group, topic)
        if (group, topic) in self._declared or cid in in_use:
            return
        link = Link(self._server, cid, manual_ack=True, keepalive=self.keepalive)
        sessions.add(cid)
        try:
            await link.open(
                clean_start=False,
                session_expiry=expiry,
                receive_maximum=1,
                timeout=self.connect_timeout,
            )
            await link.subscribe([topic])
        finally:
            # Nothing read is PUBACKed: it stays in the session for the real reader.
            link.abort()
        self._declared.add((group, topic))
