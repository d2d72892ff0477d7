"""The link: one paho-mqtt client driven by the running asyncio loop.

paho's socket callbacks become ``add_reader``/``add_writer`` on the loop (only the
blocking TCP connect runs in an executor thread), ``loop_misc`` runs once a second for
keepalive; ``open`` waits for CONNACK, ``publish`` and ``subscribe`` for the server's
answer; a lost connection fails what waits and calls ``on_lost``. A link is never
reconnected in place (packet ids belong to one connection): the subscription makes a
new one. PUBACK control: reading pauses when the buffer is full (TCP back-pressure) and
resumes at half; queued PUBACKs of one loop turn go out in one ``send``.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ...errors import BrokerConnectionError, BrokerError, ConfigurationError

log = logging.getLogger(__package__)  # the adapter's one logger, as before

KEEPALIVE: Final = 30
READ_BATCH: Final = 256
PUBACK_COMMAND: Final = 0x40
SESSION_TAKEN_OVER: Final = 142


@dataclass(frozen=True, slots=True)
class Server:
    """Where an ``mqtt://`` / ``mqtts://`` url points, with its credentials."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> Server:
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


class Link:
    """One paho client driven by the running asyncio loop (never reconnected)."""

    def __init__(
        self,
        server: Server,
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
        coalesce_pubacks(self.client)
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


def coalesce_pubacks(client: paho.Client) -> None:
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
