"""A RabbitMQ consumer's dead letters: the durable queue ``place.dead_letter``.

AMQP 0-9-1 cannot read a message without taking it, so every operation takes the
whole queue with ``basic.get`` (manual ack, in queue order), acts on what it
selected, and gives the rest back:

- a **classic** queue gets them back by closing the channel: the broker requeues
  every unacknowledged message at its old position (measured on 3.10.8: order kept,
  only the ``redelivered`` flag set, which nothing reads on a dead-letter queue);
- a **quorum** queue counts each such return in ``x-delivery-count`` (measured:
  every listing adds one), and RabbitMQ 4 quorum queues drop a message past their
  default delivery limit (20). So on a quorum queue the messages are given back by
  rotation instead: a copy of each (same body, properties and headers) is published
  to the queue's tail with a publisher confirm, and only then is the original
  acknowledged. Every message is taken, so the order stays; a dead letter that
  arrives meanwhile lands before the copies. A rotation killed halfway leaves
  copies of some messages beside their originals (duplicates, never a loss).

Ids: the runtime's ``x-svcgen-dead-letter-id``, else the AMQP ``message_id``, else
a digest of body and headers (stable across listings).

``replay`` publishes each selected dead letter to its source queue through the
default exchange, ``mandatory`` and confirmed (``publish_confirmed``, the adapter's
own), and acknowledges the dead letter only after the confirm. Killed between the two,
the connection's end requeues the dead letter: a second run sends it again (that one
message arrives twice; none is lost). ``purge`` of everything is ``queue.purge``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from typing import Any, Final

from ..errors import BrokerConnectionError, require

require("aio_pika", "rabbitmq")  # before aio_pika: a missing extra, named

import aio_pika  # noqa: E402
import aiormq  # noqa: E402
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage  # noqa: E402

from .. import message as m  # noqa: E402
from ..brokers.base import SubscriptionSpec  # noqa: E402
from ..brokers.rabbitmq import RabbitMQBroker  # noqa: E402
from ..brokers.rabbitmq.broker import queue_arguments  # noqa: E402
from ..brokers.rabbitmq.connection import close_quietly  # noqa: E402
from ..brokers.rabbitmq.messages import (  # noqa: E402
    CONNECTION_ERRORS,
    DELIVERY_COUNT_HEADER,
    amqp_message,
    publish_confirmed,
    str_headers,
)
from . import DeadLetter, DeadLetterPlace, replay_headers  # noqa: E402
from .shared import chosen, replay_each  # noqa: E402

Held = tuple[AbstractIncomingMessage, DeadLetter]
"""One message taken from the queue (unacknowledged) and its record."""
HeldList = list[Held]
Letters = list[DeadLetter]
"""(Aliases: inside the class, ``list`` is the method.)"""

PUBLISH_TIMEOUT: Final = 30.0


def letter_of(message: AbstractIncomingMessage) -> DeadLetter:
    """The record of one AMQP message: the adapter's headers, key and an id."""
    headers, key, _ = str_headers(message.headers)
    ident = headers.get(m.DLQ_ID) or message.message_id or _digest(message, headers)
    return DeadLetter(id=ident, body=message.body, headers=headers, key=key)


def _digest(message: AbstractIncomingMessage, headers: dict[str, str]) -> str:
    h = hashlib.sha256(message.body)
    for name in sorted(headers):
        h.update(f"\0{name}\0{headers[name]}".encode())
    return "sha256:" + h.hexdigest()[:24]


class RabbitMQDeadLetters:
    """``DeadLetterQueue`` on one RabbitMQ dead-letter queue (see the module)."""

    def __init__(self, broker: RabbitMQBroker, place: DeadLetterPlace) -> None:
        self._broker = broker
        self._place = place
        spec = SubscriptionSpec(
            consumer=place.consumer,
            source=place.source,
            group=place.group,
            dead_letter=place.dead_letter,
            options=place.options,
        )
        self.quorum, _ = queue_arguments(spec)

    async def list(self, limit: int | None = None) -> Letters:
        # A quorum queue is rotated whole (else the order would change), so it is
        # read whole; a classic one only as far as asked.
        return await self._session(
            lambda held: [letter for _, letter in held][:limit],
            limit=None if self.quorum else limit,
        )

    async def replay(
        self,
        ids: Collection[str] | None,
        *,
        rate: float | None = None,
        sent: Callable[[DeadLetter], None] | None = None,
    ) -> int:
        count = 0

        async def act(channel: AbstractChannel, held: HeldList) -> HeldList:
            nonlocal count
            picked, rest = _select(held, ids, self._place.dead_letter)

            async def send(letter: DeadLetter, _: AbstractIncomingMessage) -> None:
                copy = amqp_message(
                    letter.body,
                    key=letter.key,
                    headers=replay_headers(letter, group=self._place.group),
                )
                await publish_confirmed(
                    channel,
                    self._broker.name,
                    letter.target(self._place),
                    copy,
                    PUBLISH_TIMEOUT,
                )

            async def remove(_: DeadLetter, message: AbstractIncomingMessage) -> None:
                await message.ack()

            count = await replay_each(
                [(letter, message) for message, letter in picked],
                rate=rate,
                send=send,
                remove=remove,
                sent=sent,
            )
            return rest

        await self._acting(act)
        return count

    async def purge(self, ids: Collection[str] | None) -> int:
        if ids is None:
            channel = await self._broker.open_channel()
            try:
                queue = await self._queue(channel)
                if queue is None:
                    return 0
                ok = await queue.purge()
                return int(ok.message_count or 0)
            finally:
                await close_quietly(channel)
        count = 0

        async def act(channel: AbstractChannel, held: HeldList) -> HeldList:
            nonlocal count
            picked, rest = _select(held, ids, self._place.dead_letter)
            for message, _ in picked:
                await message.ack()
                count += 1
            return rest

        await self._acting(act)
        return count

    async def close(self) -> None:
        await self._broker.close()

    # -- taking the queue and giving it back ----------------------------------------

    async def _session(
        self, read: Callable[[HeldList], Letters], limit: int | None
    ) -> Letters:
        out: Letters = []

        async def act(channel: AbstractChannel, held: HeldList) -> HeldList:
            out.extend(read(held))
            return held

        await self._acting(act, limit)
        return out

    async def _acting(
        self,
        act: Callable[[AbstractChannel, HeldList], Any],
        limit: int | None = None,
    ) -> None:
        """Take the queue (up to ``limit``), let ``act`` settle some, give the
        ones it returns back (see the module), close the channel."""
        channel = await self._broker.open_channel()
        try:
            held = await self._take(channel, limit)
            rest: HeldList = await act(channel, held)
            if self.quorum:
                await self._rotate(channel, rest)
        except CONNECTION_ERRORS as exc:
            if isinstance(exc, BrokerConnectionError):
                raise
            raise BrokerConnectionError(
                f"rabbitmq broker {self._broker.name!r} lost its channel on queue "
                f"{self._place.dead_letter!r} ({type(exc).__name__}: {exc}); "
                "nothing unconfirmed was removed, run the command again"
            ) from exc
        finally:
            # Classic: closing requeues what is unacknowledged, in its old place.
            await close_quietly(channel)

    async def _queue(
        self, channel: AbstractChannel
    ) -> aio_pika.abc.AbstractQueue | None:
        """The dead-letter queue, or None when it was never declared (no dead
        letter yet: its consumer declares it on start)."""
        try:
            return await channel.declare_queue(self._place.dead_letter, passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity:
            return None

    async def _take(self, channel: AbstractChannel, limit: int | None) -> HeldList:
        probe = await self._broker.open_channel()
        try:
            exists = await self._queue(probe) is not None
        finally:
            await close_quietly(probe)
        if not exists:
            return []
        queue = await channel.declare_queue(self._place.dead_letter, passive=True)
        held: HeldList = []
        while limit is None or len(held) < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            held.append((message, letter_of(message)))
        return held

    async def _rotate(self, channel: AbstractChannel, rest: Sequence[Held]) -> None:
        """A quorum queue: each message to the tail (confirmed), then the original
        acknowledged, so no return counts against a delivery limit."""
        for message, _ in rest:
            headers = {
                k: v
                for k, v in (message.headers or {}).items()
                if k != DELIVERY_COUNT_HEADER
            }
            copy = aio_pika.Message(
                message.body,
                headers=headers,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                priority=message.priority,
                correlation_id=message.correlation_id,
                message_id=message.message_id,
                timestamp=message.timestamp,
                type=message.type,
                app_id=message.app_id,
            )
            await publish_confirmed(
                channel,
                self._broker.name,
                self._place.dead_letter,
                copy,
                PUBLISH_TIMEOUT,
            )
            await message.ack()


def _select(
    held: list[Held], ids: Collection[str] | None, queue: str
) -> tuple[list[Held], list[Held]]:
    """The held messages with these ids (None: all) and the others; an id not held
    raises ``DeadLetterNotFound`` (before anything is done)."""
    picked = chosen([(letter, message) for message, letter in held], ids, queue)
    taken = {id(message) for _, message in picked}
    return (
        [(message, letter) for letter, message in picked],
        [h for h in held if id(h[0]) not in taken],
    )


async def open_queue(url: str, place: DeadLetterPlace) -> RabbitMQDeadLetters:
    """Connect to the RabbitMQ server at ``url`` and open ``place``'s dead letters."""
    broker = RabbitMQBroker(
        "dlq",
        url,
        connection_name=f"svcgen-dlq:{place.consumer}",
        publish_timeout=PUBLISH_TIMEOUT,
    )
    queue = RabbitMQDeadLetters(broker, place)  # checks the options first
    await broker.connect()
    return queue
