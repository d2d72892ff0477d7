"""MQTT adapter: QoS 1 consumers on persistent MQTT 5 sessions, PUBACK after the handler.

| outcome          | MQTT 5, QoS 1 (paho-mqtt 2, ``manual_ack=True``)                          |
|------------------|---------------------------------------------------------------------------|
| Ack              | PUBACK (``client.ack(mid, 1)``) once the handler finished                  |
| Nack requeue     | publish a copy with ``x-svcgen-attempt`` + 1 to the group's retry topic,   |
|                  | wait for the server's PUBACK of the copy, then PUBACK the original         |
| Nack no requeue  | publish to ``dead_letter``, wait for its PUBACK, then PUBACK the original  |
| Retry(after)     | in-process timer; when due, republish as for requeue, then PUBACK. Not     |
|                  | durable: a crash of the consumer redelivers the original early; a         |
|                  | graceful close republishes it at once with its due time (``x-svcgen-due``) |
| delivery_count   | ``x-svcgen-attempt`` user property (1 when absent); DUP gives no count     |
| release          | no PUBACK. Stopping: the persistent session redelivers it on the next      |
|                  | connection. After a failed settle: put back in the adapter's buffer and    |
|                  | handed out by a later fetch, still un-PUBACKed (a crash: the session      |
|                  | redelivers it)                                                            |
| crash mid-handler| nothing PUBACKed: redelivered when the same client id reconnects           |
| reconnect        | a lost connection fails ``fetch``; the loop subscribes again on a new      |
|                  | connection that resumes the session (``clean_start=False``)                |

Sessions and replicas. Each subscription is one MQTT 5 connection with
``clean_start=False`` and a Session Expiry Interval, so the server keeps its
subscriptions and unacknowledged/queued QoS 1 messages while it is away. The client id
is stable: ``svcgen/<group>/<source>/<host>/<n>``, ``n`` the lowest number no live
process on this host holds (a ``flock`` in the temp dir, dropped by the kernel when
the process dies), so a restarted process resumes the session of its predecessor and
two live processes never share an id.
With ``shared`` (the default) it subscribes ``$share/<group>/<source>``: replicas, which
must have distinct client ids (different hosts, or an explicit ``client_id``), compete
for messages. A client whose session is taken over by another connection with the same
id (DISCONNECT reason 0x8E; Mosquitto 2.0.11 closes the connection without saying
why) moves to the next ``n`` when it subscribes again. Where host
names change on every start (a Kubernetes Deployment), set ``client_id`` from something
stable (a StatefulSet ordinal): a new name means a new session, and the old one keeps
its messages until it expires. MQTT 5 is required (user properties, Session Expiry,
shared subscriptions).

Options (``Consumer(options=...)``): ``shared`` (bool, default true), ``client_id``
(exact id of the session), ``session_expiry`` (seconds, default 7 days),
``receive_maximum`` (default ``concurrency``), ``buffer`` (messages held in process
before reading pauses, default ``max(2 * receive_maximum, 16)``), ``retry_topic``
(default ``svcgen/retry/<group>/<source>``, a wildcard spelled ``%2B`` / ``%23``), ``declare_dead_letter`` (bool, default
true: keep every dead letter in the persistent session
``svcgen-dlq/<group>/<dead_letter>``, a plain subscription, the same for every replica;
read them with ``options={"client_id": broker.dead_letter_client_id(group, topic),
"shared": False}``. A reader connected with that id is disconnected for a moment
whenever a process of the group starts and declares it again).

Flow control. The Receive Maximum sent in CONNECT is ``receive_maximum``; Mosquitto
honours it for the first window but (seen with 2.0.11) sends its whole queue after the
first PUBACKs, so the adapter also bounds its own buffer and stops reading the socket
when ``buffer`` messages wait (TCP back-pressure), resuming at half. Server defaults
that matter: Mosquitto keeps 20 unacknowledged QoS 1 messages in flight per client
(``max_inflight_messages``, for clients that send no Receive Maximum) and drops QoS 1
messages once 1,000 are queued for one session (``max_queued_messages``), online or
offline; raise it for consumers that fall behind. PUBACKs are sent in completion order,
not receipt order (MQTT 5 §4.6 asks for receipt order; Mosquitto accepts either, and
waiting for a slow head message would stall every other handler).

What MQTT cannot do durably:

* No durable delay: ``Retry(after)`` waits in this process while the original stays
  un-PUBACKed; a crash redelivers the original before ``after`` elapsed (with its old
  attempt count) when the session reconnects. (A graceful close parks waiting
  retries as copies carrying their due time, which the next consumer defers.) A
  waiting retry also holds one Receive Maximum slot until it is republished.
* A dead-letter "queue" is just a topic: a dead letter is kept only by sessions
  subscribed to it (the adapter declares one, see ``declare_dead_letter``) or as the
  topic's one retained message. Messages published to a topic nobody subscribes to
  are gone.
* The server bounds every session's queue (``max_queued_messages``) and drops the
  excess; a session expires after ``session_expiry`` with everything in it.
* Mosquitto hands shared-subscription messages round-robin to *offline* sessions of
  the group too: a replica that never comes back (new host name, scaled down) holds
  its share until its session expires, then it is lost. Give replicas stable ids.
* Mosquitto (2.0.11, measured) does not restore the *shared* subscriptions of offline
  sessions from its persistence file: after a server restart, messages published
  before the consumer reconnects are not kept for a ``$share`` session (in-flight
  ones are; plain subscriptions keep everything). A single-replica consumer that
  must not lose them sets ``shared: false``.
* A session only outlives a server restart with ``persistence true``; Mosquitto
  writes it on shutdown and every ``autosave_interval`` (a crash loses the rest).
* Delivery counts exist only as the attempt user property (MQTT 5); MQTT 3.1.1 has no
  user properties, and the DUP flag only says "maybe seen before", without a count.

Client library and event loop. paho-mqtt 2 is used because it can withhold PUBACK
until the application calls ``client.ack`` (``manual_ack=True``, see paho's
``_handle_publish``: no PUBACK is sent for QoS 1 when it is set); aiomqtt acknowledges
QoS 1 on receipt. Two things paho does not do are added here: reading more than one
packet per readable event, and joining the queued PUBACKs of one loop turn into one
``send`` (through paho's private output queue, skipped if its shape ever changes).
paho keeps at most 20 own publishes in flight and ignores the server's Receive
Maximum (Mosquitto's is 20). paho runs inside the asyncio loop through its socket callbacks
(``on_socket_open``/``on_socket_register_write`` → ``loop.add_reader``/``add_writer``,
``loop_misc`` once a second for keepalive), not in its own thread: one thread means no
locks, no hop per message, and no GIL contention with the handlers, and a lost
connection surfaces as a callback in the loop. Only the blocking TCP connect runs in
an executor thread. A connection is never reconnected in place: packet ids belong to
one connection, so a PUBACK for a delivery of a dead connection is never sent on a new
one (the session redelivers that message instead).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import hashlib
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from ..errors import BrokerConnectionError, BrokerError, ConfigurationError, require
from ..message import (
    DUE_HEADER,
    InboundMessage,
    attempt_from_headers,
    due_header,
    safe_headers,
)
from ..retry import next_attempt_headers
from .base import SubscriptionSpec

try:
    import fcntl
except ImportError:  # Windows: client ids are then unique per process only
    fcntl = None  # type: ignore[assignment]

require("paho", "mqtt")

import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402
from paho.mqtt.reasoncodes import ReasonCode  # noqa: E402
from paho.mqtt.subscribeoptions import SubscribeOptions  # noqa: E402

log = logging.getLogger(__name__)

KEY_PROPERTY: Final = "x-svcgen-key"
"""User property carrying the message key (MQTT has no key of its own)."""
ID_PROPERTY: Final = "x-svcgen-id"
"""User property carrying a message id that survives redelivery and republish."""
SESSION_EXPIRY: Final = 7 * 24 * 3600
KEEPALIVE: Final = 30
READ_BATCH: Final = 256
PARK_TIMEOUT: Final = 5.0
PUBACK_COMMAND: Final = 0x40
SESSION_TAKEN_OVER: Final = 142
NO_MATCHING_SUBSCRIBERS: Final = 16
_OPTIONS: Final = frozenset(
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

_in_use: dict[str, int | None] = {}
"""Client ids of live subscriptions in this process, with their host-wide lock."""
_taken: set[str] = set()
"""Client ids another connection took over; the next subscribe picks another."""
sessions: set[str] = set()
"""Every persistent session id this process created (tests clean them up)."""
_resumed: set[tuple[str, int, str]] = set()
"""(host, port, client id) of sessions this process already had on that server."""


@dataclass(frozen=True, slots=True)
class _Server:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> _Server:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ConfigurationError(
                f"mqtt url {url!r} has scheme {parts.scheme!r}; use mqtt://host:1883 "
                "or mqtts://host:8883"
            )
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class _Link:
    """One paho client driven by the running asyncio loop (never reconnected)."""

    def __init__(
        self,
        server: _Server,
        client_id: str,
        *,
        manual_ack: bool = False,
        keepalive: int = KEEPALIVE,
        on_message: Callable[[paho.MQTTMessage], None] | None = None,
    ) -> None:
        self.server = server
        self.client_id = client_id
        self.keepalive = keepalive
        self.alive = False
        self.lost: str | None = None
        self.taken_over = False
        self.on_lost: Callable[[], None] | None = None
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._connack: asyncio.Future[bool] = self._loop.create_future()
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self._sock: Any = None
        self._reading = False
        self._paused_at: float | None = None
        self._grace_until = 0.0
        self._misc: asyncio.Task[None] | None = None
        c = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5,
            reconnect_on_failure=False,
            manual_ack=manual_ack,
        )
        if server.username is not None:
            c.username_pw_set(server.username, server.password)
        if server.tls:
            c.tls_set()
        c.on_socket_open = self._sock_open
        c.on_socket_close = self._sock_close
        c.on_socket_register_write = self._want_write
        c.on_socket_unregister_write = self._done_writing
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_subscribe = self._on_subscribe
        self._received = 0
        if on_message is not None:

            def received(_c: paho.Client, _u: Any, m: paho.MQTTMessage) -> None:
                self._received += 1
                on_message(m)

            c.on_message = received
        self.client = c

    # -- socket callbacks (the connect runs in a thread; everything else here) --

    def _soon(self, fn: Callable[..., object], *args: Any) -> None:
        if threading.get_ident() == self._thread:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

    def _sock_open(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        self._soon(self._attach, sock)

    def _attach(self, sock: Any) -> None:
        if self._closed.done():
            # open() was abandoned while the connect ran in its thread.
            self.client._sock_close()
            return
        self._sock = sock
        self.resume_reading()

    def _sock_close(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        self._soon(self._detach, sock)

    def _detach(self, sock: Any) -> None:
        if self._reading:
            self._loop.remove_reader(sock)
        self._loop.remove_writer(sock)
        self._reading = False
        self._sock = None

    def _want_write(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        self._soon(self._add_writer, sock)

    def _add_writer(self, sock: Any) -> None:
        if self._sock is sock:
            self._loop.add_writer(sock, self._writable)

    def _readable(self) -> None:
        """Read up to ``READ_BATCH`` packets while PUBLISHes keep coming.

        paho's ``loop_read`` handles one packet per call when nothing is outgoing;
        one event-loop turn per message would cost more than the message.
        """
        client = self.client
        for _ in range(READ_BATCH):
            before = self._received
            if client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return
            if self._received == before or not self._reading:
                return
        # Batch cap reached: TLS may hold decrypted bytes the fd no longer signals.
        pending = getattr(self._sock, "pending", None)
        if pending is not None and pending() > 0:
            self._loop.call_soon(self._readable)

    def _writable(self) -> None:
        _coalesce_pubacks(self.client)
        self.client.loop_write()

    def _done_writing(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        self._soon(self._loop.remove_writer, sock)

    def pause_reading(self) -> None:
        """Stop reading the socket: the server's sends back up in TCP."""
        if self._reading and time.monotonic() >= self._grace_until:
            self._loop.remove_reader(self._sock)
            self._reading = False
            self._paused_at = time.monotonic()

    def resume_reading(self) -> None:
        if not self._reading and self._sock is not None:
            self._loop.add_reader(self._sock, self._readable)
            self._reading = True
            self._paused_at = None

    async def _misc_loop(self) -> None:
        """Keepalive pings; a reader paused too long reads again so pings get answers."""
        while True:
            await asyncio.sleep(1.0)
            if self.client.loop_misc() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return
            paused = self._paused_at
            if paused is not None and time.monotonic() - paused > self.keepalive / 2:
                self._grace_until = time.monotonic() + 2.0
                self.resume_reading()

    # -- protocol callbacks ----------------------------------------------------

    def _on_connect(
        self, _c: paho.Client, _u: Any, flags: Any, rc: ReasonCode, _p: Any
    ) -> None:
        if self._connack.done():
            return
        if rc.is_failure:
            self._connack.set_exception(
                BrokerConnectionError(
                    f"the MQTT server refused client {self.client_id!r} ({rc}); check "
                    "the url's credentials and the server's ACLs"
                )
            )
        else:
            self.alive = True
            self._connack.set_result(bool(flags.session_present))

    def _on_disconnect(
        self, _c: paho.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any
    ) -> None:
        self.alive = False
        self.taken_over = rc.value == SESSION_TAKEN_OVER
        self.lost = str(rc)
        err = BrokerConnectionError(
            f"the connection of MQTT client {self.client_id!r} to "
            f"{self.server.host}:{self.server.port} was lost ({rc})"
        )
        if not self._connack.done():
            self._connack.set_exception(err)
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(err)
        self._pending.clear()
        if self._misc is not None:
            self._misc.cancel()
        if not self._closed.done():
            self._closed.set_result(None)
        if self.on_lost is not None:
            self.on_lost()

    def _on_publish(
        self, _c: paho.Client, _u: Any, mid: int, rc: ReasonCode, _p: Any
    ) -> None:
        fut = self._pending.pop(mid, None)
        if fut is None or fut.done():
            return
        if rc.is_failure:
            fut.set_exception(BrokerError(f"the MQTT server rejected a publish ({rc})"))
        else:
            fut.set_result(rc.value)

    def _on_subscribe(
        self, _c: paho.Client, _u: Any, mid: int, rcs: list[ReasonCode], _p: Any
    ) -> None:
        fut = self._pending.pop(mid, None)
        if fut is not None and not fut.done():
            fut.set_result(rcs)

    # -- operations ------------------------------------------------------------

    async def open(
        self,
        *,
        clean_start: bool,
        session_expiry: int = 0,
        receive_maximum: int = 0,
        timeout: float = 5.0,
    ) -> bool:
        """Connect and wait for CONNACK; return whether the server had a session."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if session_expiry:
            props.SessionExpiryInterval = session_expiry
        if receive_maximum:
            props.ReceiveMaximum = min(receive_maximum, 65535)
        self.client.connect_timeout = timeout
        connect = functools.partial(
            self.client.connect,
            self.server.host,
            self.server.port,
            self.keepalive,
            clean_start=clean_start,
            properties=props,
        )
        try:
            async with asyncio.timeout(timeout):
                await self._loop.run_in_executor(None, connect)
                present = await self._connack
        except BrokerConnectionError:
            self.abort()
            raise
        except (OSError, TimeoutError) as exc:
            self.abort()
            raise BrokerConnectionError(
                f"cannot connect to the MQTT server at {self.server.host}:"
                f"{self.server.port} ({type(exc).__name__}: {exc}); check that it "
                "runs and that the url is right"
            ) from exc
        self._misc = self._loop.create_task(self._misc_loop())
        return present

    def _track(self, rc: MQTTErrorCode, mid: int | None) -> asyncio.Future[Any]:
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise BrokerConnectionError(
                f"MQTT client {self.client_id!r} cannot send ({paho.error_string(rc)}); "
                "it reconnects on the next attempt"
            )
        fut: asyncio.Future[Any] = self._loop.create_future()
        self._pending[mid] = fut
        return fut

    def check(self) -> None:
        if not self.alive:
            raise BrokerConnectionError(
                f"MQTT client {self.client_id!r} is not connected ({self.lost or 'closed'})"
                "; the consumer reconnects"
            )

    async def publish(
        self, topic: str, body: bytes, props: Properties | None = None
    ) -> int:
        """Publish at QoS 1 and wait for the server's PUBACK; return its reason code."""
        self.check()
        info = self.client.publish(topic, body, qos=1, properties=props)
        fut = self._track(info.rc, info.mid)
        try:
            result: int = await fut
        finally:
            self._pending.pop(info.mid, None)
        return result

    async def subscribe(self, filters: Sequence[str]) -> None:
        self.check()
        rc, mid = self.client.subscribe([(f, SubscribeOptions(qos=1)) for f in filters])
        codes: list[ReasonCode] = await self._track(rc, mid)
        bad = [
            f"{f} ({c})" for f, c in zip(filters, codes, strict=False) if c.is_failure
        ]
        if bad:
            raise BrokerError(
                f"the MQTT server refused the subscription(s) {', '.join(bad)}; check "
                "its ACLs and that it supports shared subscriptions (or set shared=false)"
            )

    async def close(self, timeout: float = 1.0) -> None:
        """Send what is queued (PUBACKs), DISCONNECT keeping the session, and wait."""
        if self.alive:
            self.client.loop_write()
            self.client.disconnect()
            self.client.loop_write()
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.shield(self._closed)
            except TimeoutError:
                log.debug("mqtt client %s did not close in time", self.client_id)
        self.abort()

    def abort(self) -> None:
        """Drop the socket without a DISCONNECT (the server keeps the session)."""
        if self._misc is not None:
            self._misc.cancel()
        sock = self.client.socket()
        if sock is not None:
            self._detach(sock)
            self.client.on_disconnect = None
            self.client._sock_close()  # paho has no public "drop the socket"
        self.alive = False
        if not self._closed.done():
            self._closed.set_result(None)


def _coalesce_pubacks(client: paho.Client) -> None:
    """Join queued, unsent PUBACK packets into one write (one syscall, not one each).

    Each PUBACK keeps its own packet id, so the meaning stays per message; only the
    number of ``send`` calls changes. This reads paho's private output queue (paho
    2.x) and does nothing if its shape is not the expected one.
    """
    out = getattr(client, "_out_packet", None)
    if not isinstance(out, collections.deque) or len(out) < 2:
        return
    joined: list[dict[str, Any]] = []
    while out:
        pkt = out[0]
        if not (
            isinstance(pkt, dict)
            and pkt.get("command") == PUBACK_COMMAND
            and pkt.get("pos") == 0
        ):
            break
        joined.append(out.popleft())
    if len(joined) == 1:
        out.appendleft(joined[0])
    elif joined:
        data = b"".join(bytes(p["packet"]) for p in joined)
        out.appendleft(
            {
                "command": PUBACK_COMMAND,
                "mid": joined[-1]["mid"],
                "qos": 0,
                "pos": 0,
                "to_process": len(data),
                "packet": data,
                "info": None,
            }
        )


def _user_props(
    headers: Mapping[str, str] | None, key: str | None
) -> Properties | None:
    if not headers and key is None:
        return None
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    # Mosquitto drops the connection on a user property with a control character
    # (a newline) or a non-character: the publish would fail and be redelivered.
    props.UserProperty = list(safe_headers(headers, (KEY_PROPERTY, key)).items())
    return props


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
        self._server = _Server.parse(url)
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self.session_expiry = session_expiry
        self.host_id = host_id or socket.gethostname()
        self._publisher: _Link | None = None
        self._connecting: asyncio.Lock | None = None
        self._declared: set[tuple[str, str]] = set()

    @property
    def connected(self) -> bool:
        return self._publisher is not None and self._publisher.alive

    async def connect(self) -> None:
        await self._ensure_publisher()

    async def close(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            await publisher.close()

    async def _ensure_publisher(self) -> _Link:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            link = self._publisher
            if link is None or not link.alive:
                if link is not None:
                    link.abort()
                link = _Link(
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
        await link.publish(target, body, _user_props(hdrs, key))

    # -- subscriptions ---------------------------------------------------------

    def client_id(self, group: str, source: str, index: int = 0) -> str:
        """The default persistent client id of ``(group, source)`` on this host."""
        return f"svcgen/{group}/{source}/{self.host_id}/{index}"

    def _pick_client_id(self, group: str, source: str) -> str:
        """The lowest-numbered id no live process on this host holds, and claim it."""
        index = 0
        while True:
            cid = self.client_id(group, source, index)
            if cid not in _in_use and cid not in _taken and _claim(cid):
                return cid
            index += 1

    async def subscribe(self, spec: SubscriptionSpec) -> MqttSubscription:
        opts = dict(spec.options)
        unknown = sorted(set(opts) - _OPTIONS)
        if unknown:
            raise ConfigurationError(
                f"consumer {spec.consumer!r}: unknown mqtt option(s) {', '.join(unknown)}"
                f"; use {', '.join(sorted(_OPTIONS))}"
            )
        shared = bool(opts.get("shared", True))
        expiry = int(opts.get("session_expiry", self.session_expiry))
        receive_max = int(opts.get("receive_maximum", spec.concurrency))
        bound = int(opts.get("buffer", max(2 * receive_max, 16)))
        # A wildcard source's retry topic spells its wildcards out: a message can
        # be sent to no topic name with '+' or '#' in it.
        retry_topic = str(
            opts.get(
                "retry_topic",
                f"svcgen/retry/{spec.group}/{spec.source}".replace("+", "%2B").replace(
                    "#", "%23"
                ),
            )
        )
        explicit = opts.get("client_id")
        if explicit:
            cid = str(explicit)
            if cid in _in_use:
                raise ConfigurationError(
                    f"consumer {spec.consumer!r}: mqtt client id {cid!r} is already used "
                    "in this process; give each consumer its own client_id"
                )
            if not _claim(cid):
                _in_use[cid] = (
                    None  # held by another process here: the server arbitrates
                )
        else:
            cid = self._pick_client_id(spec.group, spec.source)
        sub = MqttSubscription(spec, retry_topic=retry_topic, bound=bound)
        link = _Link(
            self._server,
            cid,
            manual_ack=True,
            keepalive=self.keepalive,
            on_message=sub._on_message,
        )
        where = (self._server.host, self._server.port, cid)
        known = where in _resumed
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
            _resumed.add(where)
            await link.subscribe(
                [_filter(spec.group, t, shared) for t in (spec.source, retry_topic)]
            )
        except BaseException:
            _release(cid)
            link.abort()
            raise
        sub._attach(link)
        return sub

    def dead_letter_client_id(self, group: str, topic: str) -> str:
        """The session that keeps the dead letters ``group`` publishes to ``topic``."""
        return f"svcgen-dlq/{group}/{topic}"

    async def _declare_dead_letter(self, group: str, topic: str, expiry: int) -> None:
        """Create (idempotently) the persistent session subscribed to ``topic``.

        Without a subscribed session, MQTT keeps nothing published to a topic. The
        subscription is a plain one: every replica declares the same session, and
        each dead letter is stored once in it.
        """
        cid = self.dead_letter_client_id(group, topic)
        if (group, topic) in self._declared or cid in _in_use:
            return
        link = _Link(self._server, cid, manual_ack=True, keepalive=self.keepalive)
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


def _claim(cid: str) -> bool:
    """Take the host-wide lock of ``cid``; False when another live process holds it.

    The lock is a ``flock`` on a file named after the id, so the kernel drops it when
    its process dies, SIGKILL included: a restarted process gets the lowest free id
    again and resumes its predecessor's session, while two live processes on one host
    never share an id (Mosquitto would disconnect one for the other, back and forth).
    """
    if fcntl is None:
        _in_use[cid] = None
        return True
    name = hashlib.sha256(cid.encode()).hexdigest()[:32]
    try:
        directory = os.path.join(tempfile.gettempdir(), "svcgen-mqtt")
        os.makedirs(directory, exist_ok=True)
        fd = os.open(os.path.join(directory, name), os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError:
        _in_use[cid] = None  # cannot coordinate through the disk: per process only
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _in_use[cid] = fd
    return True


def _release(cid: str) -> None:
    fd = _in_use.pop(cid, None)
    if fd is not None:
        os.close(fd)


def _filter(group: str, topic: str, shared: bool) -> str:
    return f"$share/{group}/{topic}" if shared else topic


class MqttSubscription:
    """One consumer's persistent MQTT session, read through one connection."""

    heartbeat_interval: float | None = None

    def __init__(self, spec: SubscriptionSpec, *, retry_topic: str, bound: int) -> None:
        self._spec = spec
        self._retry_topic = retry_topic
        self._bound = max(bound, 1)
        self._resume_at = self._bound // 2
        self._buffer: collections.deque[InboundMessage] = collections.deque()
        self._arrived = asyncio.Event()
        self._held: set[int] = set()
        self._timers: dict[asyncio.Task[None], tuple[InboundMessage, float]] = {}
        self._link: _Link | None = None
        self._closed = False

    def _attach(self, link: _Link) -> None:
        self._link = link
        link.on_lost = self._on_lost

    @property
    def client_id(self) -> str:
        return self._link.client_id if self._link is not None else ""

    # -- intake ----------------------------------------------------------------

    def _on_message(self, m: paho.MQTTMessage) -> None:
        user = getattr(m.properties, "UserProperty", None) if m.properties else None
        headers = dict(user) if user else {}
        key = headers.pop(KEY_PROPERTY, None)
        mid = m.mid
        link = self._link
        msg_id = headers.get(ID_PROPERTY) or f"{link.client_id if link else ''}#{mid}"
        self._buffer.append(
            InboundMessage(
                id=msg_id,
                source=self._spec.source,
                body=bytes(m.payload),
                key=key,
                headers=headers,
                delivery_count=attempt_from_headers(headers),
                timestamp=time.time(),
                position={"mid": mid, "topic": m.topic, "dup": bool(m.dup)},
                native=mid,
            )
        )
        if len(self._buffer) >= self._bound and link is not None:
            link.pause_reading()
        self._arrived.set()

    def _on_lost(self) -> None:
        # Unsettled deliveries of this connection come back on the next one.
        self._buffer.clear()
        self._held.clear()
        for task in list(self._timers):
            task.cancel()
        self._arrived.set()

    def _check(self) -> _Link:
        link = self._link
        if link is None or self._closed:
            raise BrokerConnectionError(
                f"the mqtt subscription of consumer {self._spec.consumer!r} is closed"
            )
        if link.taken_over:
            _taken.add(link.client_id)
        link.check()
        return link

    async def fetch(
        self, max_messages: int, timeout: float
    ) -> Sequence[InboundMessage]:
        link = self._check()
        buffer = self._buffer
        if not buffer:
            self._arrived.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._arrived.wait()
            except TimeoutError:
                return []
            link = self._check()
        out: list[InboundMessage] = []
        held = self._held
        while buffer and len(out) < max_messages:
            msg = buffer.popleft()
            held.add(msg.native)
            out.append(msg)
        if len(buffer) <= self._resume_at:
            link.resume_reading()
        return out

    # -- settling --------------------------------------------------------------

    def _take(self, msg: InboundMessage) -> _Link:
        link = self._check()
        if msg.native not in self._held:
            raise BrokerError(
                f"message {msg.id} is not held by this subscription (already settled, "
                "or its connection was lost)"
            )
        return link

    def _puback(self, link: _Link, msg: InboundMessage) -> None:
        self._held.discard(msg.native)
        link.client.ack(msg.native, 1)

    async def ack(self, msg: InboundMessage) -> None:
        self._puback(self._take(msg), msg)

    async def _republish(self, msg: InboundMessage) -> None:
        link = self._take(msg)
        headers = next_attempt_headers(msg.headers, msg.delivery_count)
        await link.publish(self._retry_topic, msg.body, _user_props(headers, msg.key))
        self._puback(self._take(msg), msg)

    async def requeue(self, msg: InboundMessage) -> None:
        await self._republish(msg)

    async def retry(self, msg: InboundMessage, after: float) -> None:
        self._take(msg)
        if after <= 0:
            await self._republish(msg)
            return
        task = asyncio.get_running_loop().create_task(self._retry_later(msg, after))
        self._timers[task] = (msg, time.time() + after)
        task.add_done_callback(self._forget_timer)

    def _forget_timer(self, task: asyncio.Task[None]) -> None:
        self._timers.pop(task, None)

    async def _retry_later(self, msg: InboundMessage, after: float) -> None:
        await asyncio.sleep(after)
        try:
            await self._republish(msg)
        except Exception as exc:
            log.warning(
                "consumer %s: delayed retry of message %s failed (%s); the session "
                "redelivers it",
                self._spec.consumer,
                msg.id,
                exc,
            )

    async def dead_letter(
        self, msg: InboundMessage, headers: Mapping[str, str]
    ) -> None:
        link = self._take(msg)
        target = self._spec.dead_letter
        assert target is not None
        rc = await link.publish(target, msg.body, _user_props(headers, msg.key))
        if rc == NO_MATCHING_SUBSCRIBERS:
            log.warning(
                "consumer %s: dead letter %s published to %s, which no session "
                "subscribes to: it is not kept",
                self._spec.consumer,
                msg.id,
                target,
            )
        self._puback(self._take(msg), msg)

    async def release(self, msg: InboundMessage, *, stopping: bool = True) -> None:
        """No PUBACK. MQTT has no negative acknowledgement: the server resends an
        un-PUBACKed message only on the session's next connection. So after a failed
        settle (not ``stopping``) the delivery goes back into this subscription's
        buffer and a later fetch hands it out again (the consume loop backs off);
        it stays un-PUBACKed, so a crash still leaves it to the session."""
        link = self._link
        if msg.native not in self._held:
            return  # settled, or its connection was lost (the session has it)
        self._held.discard(msg.native)
        if stopping or self._closed or link is None or not link.alive:
            return
        position = {**msg.position, "dup": True}
        self._buffer.append(dataclasses.replace(msg, position=position))
        if len(self._buffer) >= self._bound:
            link.pause_reading()
        self._arrived.set()

    async def in_progress(self, msg: InboundMessage) -> None:
        return None

    async def close(self) -> None:
        """Park pending retries, send queued PUBACKs and disconnect.

        The session keeps what is unsettled. A ``Retry(after)`` still waiting is
        republished now carrying its due time (``x-svcgen-due``) and attempt + 1,
        then PUBACKed: a graceful stop keeps both the delay and the count.
        """
        if self._closed:
            return
        delayed = list(self._timers.values())
        for task in list(self._timers):
            task.cancel()
        link = self._link
        if delayed and link is not None and link.alive:
            try:
                async with asyncio.timeout(PARK_TIMEOUT):
                    await self._park(link, delayed)
            except TimeoutError:
                log.warning(
                    "consumer %s: parking delayed retries timed out; the session "
                    "redelivers them early",
                    self._spec.consumer,
                )
        self._closed = True
        if link is not None:
            _release(link.client_id)
            if link.taken_over:
                _taken.add(link.client_id)
            link.on_lost = None
            await link.close()
        self._buffer.clear()
        self._held.clear()

    async def _park(
        self, link: _Link, delayed: list[tuple[InboundMessage, float]]
    ) -> None:
        async def one(msg: InboundMessage, due: float) -> None:
            headers = next_attempt_headers(msg.headers, msg.delivery_count)
            headers[DUE_HEADER] = due_header(due, 0.0)
            props = _user_props(headers, msg.key)
            await link.publish(self._retry_topic, msg.body, props)
            self._puback(link, msg)

        results = await asyncio.gather(
            *(one(msg, due) for msg, due in delayed), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            log.warning(
                "consumer %s: %d delayed retr(ies) could not be parked (%s); the "
                "session redelivers them early",
                self._spec.consumer,
                len(failed),
                failed[0],
            )


async def clear_session(url: str, client_id: str, timeout: float = 5.0) -> None:
    """Delete the server's session of ``client_id`` (connect clean, then disconnect)."""
    link = _Link(_Server.parse(url), client_id)
    await link.open(clean_start=True, timeout=timeout)
    await link.close()
    sessions.discard(client_id)
