"""Deliveries of one MQTT subscription: their wire form, the buffer and what is held.

A QoS 1 PUBLISH becomes an ``InboundMessage`` (key, id and headers travel as MQTT 5
user properties; ``user_props`` is the way back) and waits in the subscription's
buffer; reading the socket pauses while ``bound`` wait and resumes at half. ``fetch``
moves deliveries from the buffer to the held set, which settling takes them out of;
``release`` after a failed settle puts one back in the buffer, still un-PUBACKed. A
lost connection empties both: its deliveries come back on the session's next one.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Final

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ...errors import BrokerConnectionError
from ...message import InboundMessage, attempt_from_headers, safe_headers
from ..base import SubscriptionSpec
from .client_ids import taken
from .link import Link

KEY_PROPERTY: Final = "x-svcgen-key"
"""User property carrying the message key (MQTT has no key of its own)."""
ID_PROPERTY: Final = "x-svcgen-id"
"""User property carrying a message id that survives redelivery and republish."""


def user_props(headers: Mapping[str, str] | None, key: str | None) -> Properties | None:
    """The PUBLISH properties carrying ``headers`` and ``key``; None when empty."""
    if not headers and key is None:
        return None
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    # Mosquitto drops the connection on a user property with a control character
    # (a newline) or a non-character: the publish would fail and be redelivered.
    props.UserProperty = list(safe_headers(headers, (KEY_PROPERTY, key)).items())
    return props


def read_props(m: paho.MQTTMessage) -> tuple[dict[str, str], str | None]:
    """The headers and key a PUBLISH carries as user properties (``user_props``'s
    way back)."""
    user = getattr(m.properties, "UserProperty", None) if m.properties else None
    headers = dict(user) if user else {}
    return headers, headers.pop(KEY_PROPERTY, None)


class Deliveries:
    """The intake side of an MQTT subscription: buffer, fetch, held, release."""

    def __init__(self, spec: SubscriptionSpec, *, bound: int) -> None:
        self._spec = spec
        self._bound = max(bound, 1)
        self._resume_at = self._bound // 2
        self._buffer: collections.deque[InboundMessage] = collections.deque()
        self._arrived = asyncio.Event()
        self._held: set[int] = set()
        self._link: Link | None = None
        self._closed = False

    def _attach(self, link: Link) -> None:
        self._link = link
        link.on_lost = self._on_lost

    @property
    def client_id(self) -> str:
        return self._link.client_id if self._link is not None else ""

    def _on_message(self, m: paho.MQTTMessage) -> None:
        headers, key = read_props(m)
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
        self._arrived.set()

    def _check(self) -> Link:
        link = self._link
        if link is None or self._closed:
            raise BrokerConnectionError(
                f"the mqtt subscription of consumer {self._spec.consumer!r} is closed"
            )
        if link.taken_over:
            taken.add(link.client_id)
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
