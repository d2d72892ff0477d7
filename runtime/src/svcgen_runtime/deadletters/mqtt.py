"""MQTT dead letters: the persistent session the runtime keeps them in.

MQTT stores nothing for a topic by itself: a message is kept only for the sessions
subscribed to it. So the runtime's MQTT adapter, when a consumer has a dead-letter
topic, declares a persistent session for it (``declare_dead_letter``, on by default):
client id ``svcgen-dlq/<group>/<dead_letter>``, ``clean_start=False``, the consumer's
Session Expiry Interval (``session_expiry``, 7 days by default, renewed by every
start of the consumer and every run of this tool, so dead letters outlive a weekend
with everything stopped), a plain QoS 1 subscription to the dead-letter topic. The
server queues every dead letter for that session; this module resumes it.

* ``list`` connects with that client id and ``clean_start=False`` and a Receive
  Maximum of 65535 (so the server hands out everything without a PUBACK), collects
  until nothing new came for ``QUIET`` seconds, and PUBACKs nothing: on the next
  connection the server hands the same messages out again.
* ``replay`` publishes each to its source (QoS 1, PUBACK awaited), then PUBACKs the
  dead letter, which removes it from the session. A publish no session subscribes
  to (reason "no matching subscribers") would be lost, so it stops the replay before
  the dead letter is removed: start the consumer once (its session then keeps what
  is sent to the source) and replay again. Interrupted, the dead letter is handed
  out again on the next connection: at most the one message in flight arrives twice.
* ``purge`` PUBACKs the selected ones.

Ids are the ``x-svcgen-dead-letter-id`` the runtime stamps (else the message's
``x-svcgen-id``): MQTT has no position of its own. Messages of other consumers of the
group that share the topic stay in the session untouched.

Limits: the server caps each session's queue (Mosquitto's ``max_queued_messages``,
1,000 by default, counting the messages not yet handed out): dead letters beyond it
are dropped by the server. Only one reader of the session at a time (a second one
takes the session over; this tool refuses to start twice on one host), and a
consumer process of the group that starts meanwhile takes it over for a moment when
it declares the session again: the tool then stops with an error; run it again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Collection
from typing import Final

from ..errors import BrokerError, require

require("paho", "mqtt")

import paho.mqtt.client as paho  # noqa: E402

from ..brokers.mqtt.broker import SESSION_EXPIRY  # noqa: E402
from ..brokers.mqtt.client_ids import claim_id, in_use, release_id, sessions  # noqa: E402
from ..brokers.mqtt.deliveries import ID_PROPERTY, read_props, user_props  # noqa: E402
from ..brokers.mqtt.link import Link, Server  # noqa: E402
from ..brokers.mqtt.subscription import NO_MATCHING_SUBSCRIBERS  # noqa: E402
from ..brokers.mqtt.topics import dead_letter_session  # noqa: E402
from ..message import DLQ_ID  # noqa: E402
from . import DeadLetter, DeadLetterPlace, replay_headers  # noqa: E402
from .shared import belongs, check_targets, chosen, replay_each  # noqa: E402

QUIET: Final = 0.5
"""Seconds without a new message after which the session has handed out what it
holds (the server sends a resumed session's messages at once)."""
RECEIVE_MAXIMUM: Final = 65535
CONNECT_TIMEOUT: Final = 10.0


class MqttDeadLetters:
    """One consumer's dead letters in the group's dead-letter session (see the module)."""

    def __init__(self, place: DeadLetterPlace) -> None:
        self._place = place
        self._held: list[tuple[DeadLetter, int]] = []
        self._arrived = asyncio.Event()
        self.link: Link | None = None

    def _on_message(self, message: paho.MQTTMessage) -> None:
        headers, key = read_props(message)
        if belongs(headers, self._place):
            letter = DeadLetter(
                _id(message, headers), bytes(message.payload), headers, key
            )
            self._held.append((letter, message.mid))
        self._arrived.set()

    def _on_lost(self) -> None:
        self._arrived.set()

    async def list(self, limit: int | None = None) -> list[DeadLetter]:
        await self._collect(limit)
        letters = [letter for letter, _ in self._held]
        return letters if limit is None else letters[:limit]

    async def replay(
        self,
        ids: Collection[str] | None,
        *,
        rate: float | None = None,
        sent: Callable[[DeadLetter], None] | None = None,
    ) -> int:
        link = await self._collect(None)
        entries = chosen(self._held, ids, self._place.dead_letter)
        check_targets((letter for letter, _ in entries), self._place, _wildcard)

        async def send(letter: DeadLetter, mid: int) -> None:
            headers = replay_headers(letter, group=self._place.group)
            headers.setdefault(ID_PROPERTY, letter.id)
            target = letter.target(self._place)
            props = user_props(headers, letter.key)
            if (
                await link.publish(target, letter.body, props)
                == NO_MATCHING_SUBSCRIBERS
            ):
                raise BrokerError(
                    f"no session subscribes to {target!r}, so the server did not keep "
                    f"dead letter {letter.id} sent there (it is still a dead letter): "
                    "start the consumer once, so its session keeps its source's "
                    "messages, and replay again"
                )

        async def remove(letter: DeadLetter, mid: int) -> None:
            self._puback(link, mid)

        return await replay_each(
            entries, rate=rate, send=send, remove=remove, sent=sent
        )

    async def purge(self, ids: Collection[str] | None) -> int:
        link = await self._collect(None)
        entries = chosen(self._held, ids, self._place.dead_letter)
        for _, mid in entries:
            self._puback(link, mid)
        return len(entries)

    async def close(self) -> None:
        link, self.link = self.link, None
        if link is not None:
            release_id(link.client_id)
            link.on_lost = None
            await link.close()  # sends the queued PUBACKs first

    # -- the session ---------------------------------------------------------------

    def _puback(self, link: Link, mid: int) -> None:
        link.check()
        link.client.ack(mid, 1)
        self._held = [(letter, m) for letter, m in self._held if m != mid]

    async def _collect(self, limit: int | None) -> Link:
        """Wait until the session handed out what it holds (or ``limit`` of this
        consumer's): nothing new for ``QUIET`` seconds."""
        link = self.link
        assert link is not None
        while limit is None or len(self._held) < limit:
            link.check()
            self._arrived.clear()
            try:
                async with asyncio.timeout(QUIET):
                    await self._arrived.wait()
            except TimeoutError:
                break
        link.check()
        return link


def _id(message: paho.MQTTMessage, headers: dict[str, str]) -> str:
    """The runtime's dead-letter id, else the message id, else a digest of the
    message (the same on every delivery)."""
    found = headers.get(DLQ_ID) or headers.get(ID_PROPERTY)
    if found:
        return found
    digest = hashlib.sha256(message.topic.encode() + b"\0" + bytes(message.payload))
    for name, value in sorted(headers.items()):
        digest.update(f"\0{name}\0{value}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:24]


def _wildcard(topic: str) -> bool:
    return "+" in topic or "#" in topic


async def open_queue(url: str, place: DeadLetterPlace) -> MqttDeadLetters:
    """Resume the dead-letter session of ``place``'s group on the server at ``url``
    (created and subscribed when the server has none yet)."""
    server = Server.parse(url)
    cid = dead_letter_session(place.group, place.dead_letter)
    if cid in in_use or not claim_id(cid):
        raise BrokerError(
            f"another svcgen dlq on this host is reading the dead-letter session "
            f"{cid!r}; wait until it is done"
        )
    queue = MqttDeadLetters(place)
    link = Link(server, cid, manual_ack=True, on_message=queue._on_message)
    link.on_lost = queue._on_lost
    try:
        sessions.add(cid)
        present = await link.open(
            clean_start=False,
            session_expiry=int(place.options.get("session_expiry", SESSION_EXPIRY)),
            receive_maximum=RECEIVE_MAXIMUM,
            timeout=CONNECT_TIMEOUT,
        )
        if not present:
            # No consumer declared it (or it expired): from now on it keeps them.
            await link.subscribe([place.dead_letter])
    except BaseException:
        release_id(cid)
        link.abort()
        raise
    queue.link = link
    return queue


__all__ = ["QUIET", "MqttDeadLetters", "open_queue"]
