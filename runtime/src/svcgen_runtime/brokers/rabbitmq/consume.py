"""One subscription's channel: the push consumer feeding a buffer bounded by the
prefetch, ``fetch``, coalesced acks, settling by confirmed republish (or a reject on
a quorum queue), release, close."""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import aiormq
from aio_pika.abc import AbstractChannel
from aiormq.abc import DeliveredMessage
from pamqp.commands import Basic

from ...cancel import cancel_and_wait
from ...errors import BrokerConnectionError, ConfigurationError
from ...message import DUE_HEADER, InboundMessage, attempt_from_headers, due_header
from ...retry import next_attempt_headers
from ..base import SubscriptionSpec
from .connection import CLOSE_TIMEOUT, RabbitMQConnection, close_quietly
from .messages import (
    CONNECTION_ERRORS,
    UnroutableError,
    amqp_message,
    log,
    publish_confirmed,
    str_headers,
)

_Native: TypeAlias = tuple[aiormq.abc.AbstractChannel, int]
"""``InboundMessage.native``: the channel a delivery came on, and its delivery tag."""


class RabbitMQSubscription:
    """One consumer's channel: a push consumer feeding a buffer bounded by the prefetch."""

    heartbeat_interval: float | None = None

    def __init__(
        self,
        broker: RabbitMQConnection,
        spec: SubscriptionSpec,
        channel: AbstractChannel,
        *,
        quorum: bool,
        queue_args: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self._broker = broker
        self._queue_args = dict(queue_args or {})
        self._spec = spec
        self._channel = channel
        self._raw: aiormq.abc.AbstractChannel | None = None
        self._quorum = quorum
        self._buffer: collections.deque[DeliveredMessage] = collections.deque()
        self._wake = asyncio.Event()
        self._consumer_tag: str | None = None
        self._cancel_lock = asyncio.Lock()
        self._closing = False
        self._timeout = broker.publish_timeout
        # Ack coalescing: tags delivered and not yet settled, tags acked since the
        # acker's last pass.
        self._unsettled: set[int] = set()
        self._ack_pending: list[int] = []
        self._ack_wake = asyncio.Event()
        self._acker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        raw = self._raw = await self._channel.get_underlay_channel()
        self._channel.close_callbacks.add(self._on_close)
        raw.on_consumer_cancel_callbacks.add(self._on_cancelled)
        try:
            ok = await raw.basic_consume(
                self._spec.source,
                self._on_deliver,
                consumer_tag=f"{self._spec.consumer}.{uuid.uuid4().hex[:12]}",
            )
        except CONNECTION_ERRORS as exc:
            raise BrokerConnectionError(
                f"rabbitmq broker {self._broker.name!r} could not consume from "
                f"{self._spec.source!r} ({type(exc).__name__}: {exc}); it retries"
            ) from exc
        self._consumer_tag = ok.consumer_tag
        self._acker = asyncio.create_task(
            self._ack_loop(), name=f"{self._spec.consumer}-rabbitmq-acks"
        )

    async def _on_deliver(self, message: DeliveredMessage) -> None:
        # aiormq runs this once per delivery; keep it to an append and a wake-up.
        delivery = message.delivery
        assert isinstance(delivery, Basic.Deliver)
        self._unsettled.add(delivery.delivery_tag or 0)
        self._buffer.append(message)
        self._wake.set()

    def _on_close(self, *_: Any) -> None:
        self._wake.set()

    def _on_cancelled(self, frame: Basic.Cancel) -> None:
        """The broker cancelled the consumer (its queue was deleted): fetch raises,
        and the consume loop subscribes again, declaring the queue anew."""
        if frame.consumer_tag == self._consumer_tag:
            log.warning(
                "rabbitmq %s: the broker cancelled the consumer of %r (queue "
                "deleted?); subscribing again",
                self._broker.name,
                self._spec.source,
            )
            self._consumer_tag = None
            self._wake.set()

    def _check_open(self) -> aiormq.abc.AbstractChannel:
        raw = self._raw
        if raw is None or raw.is_closed or self._closing or self._consumer_tag is None:
            # Unsettled deliveries of a closed channel are requeued by the broker.
            self._buffer.clear()
            raise BrokerConnectionError(
                f"rabbitmq broker {self._broker.name!r}: the channel consuming "
                f"{self._spec.source!r} is closed; the consumer subscribes again"
            )
        return raw

    async def fetch(
        self, max_messages: int, timeout: float
    ) -> Sequence[InboundMessage]:
        buffer = self._buffer
        if not buffer:
            self._check_open()
            self._wake.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                return []
        self._check_open()
        out: list[InboundMessage] = []
        convert = self._convert
        while buffer and len(out) < max_messages:
            out.append(convert(buffer.popleft()))
        return out

    def _convert(self, message: DeliveredMessage) -> InboundMessage:
        props = message.header.properties
        headers, key, redeliveries = str_headers(props.headers)
        delivery = message.delivery
        assert isinstance(delivery, Basic.Deliver)
        tag = delivery.delivery_tag or 0
        attempt = attempt_from_headers(headers)
        if self._quorum:
            attempt += max(redeliveries, 0)
        stamp = props.timestamp
        return InboundMessage(
            id=props.message_id or f"{self._spec.source}:{tag}",
            source=self._spec.source,
            body=message.body,
            key=key,
            headers=headers,
            delivery_count=attempt,
            timestamp=stamp.timestamp() if stamp is not None else None,
            position={"delivery_tag": tag, "redelivered": bool(delivery.redelivered)},
            native=(message.channel, tag),
        )

    def _owned(self, msg: InboundMessage) -> tuple[aiormq.abc.AbstractChannel, int]:
        channel, tag = msg.native
        raw = self._raw
        if channel is not raw or raw is None or raw.is_closed:
            raise BrokerConnectionError(
                f"message {msg.id} came on a rabbitmq channel that is closed; the "
                "broker redelivers it"
            )
        return raw, tag

    async def ack(self, msg: InboundMessage) -> None:
        """``basic.ack``, coalesced: the acks of one loop iteration go out together.

        Like ``basic.ack`` itself (the broker never answers it), this returns once
        the ack is queued: the acker task writes it within this loop iteration, and
        ``close`` writes what is left before the channel closes. Should the channel
        die first, the broker redelivers the message (at least once, never lost).
        """
        _, tag = self._owned(msg)
        self._unsettled.discard(tag)
        self._ack_pending.append(tag)
        self._ack_wake.set()

    async def _ack_loop(self) -> None:
        """Write the acks gathered since the last pass; end once closing and idle."""
        while True:
            await self._ack_wake.wait()
            self._ack_wake.clear()
            tags, self._ack_pending = self._ack_pending, []
            if tags:
                try:
                    await self._send_acks(tags)
                except CONNECTION_ERRORS as exc:
                    log.warning(
                        "rabbitmq %s: %d ack(s) on %r were lost with the channel "
                        "(%s); the broker redelivers those messages",
                        self._broker.name,
                        len(tags),
                        self._spec.source,
                        type(exc).__name__,
                    )
            if self._closing and not self._ack_pending:
                return

    async def _send_acks(self, tags: list[int]) -> None:
        """One ``multiple`` ack for the tags below every unsettled one, the rest singly.

        ``basic.ack(multiple=True)`` acknowledges every outstanding tag up to its own,
        so it may only cover tags at or below which nothing is left unsettled: the
        meaning stays one ack per handled message.
        """
        raw = self._raw
        if raw is None:
            raise RuntimeError("the channel is not open")
        floor = min(self._unsettled, default=None)
        below = [t for t in tags if floor is None or t < floor]
        if below:
            await raw.basic_ack(max(below), multiple=len(below) > 1, wait=False)
        if len(below) < len(tags):
            for t in tags:
                if floor is not None and t > floor:
                    await raw.basic_ack(t, wait=False)

    async def _republish_then_ack(
        self,
        msg: InboundMessage,
        queue: str,
        headers: Mapping[str, str],
        after: float | None = None,
    ) -> None:
        """Publish a copy (confirmed), then ack; ``after`` names a delay bucket."""
        self._owned(msg)
        copy = amqp_message(msg.body, key=msg.key, headers=headers, message_id=msg.id)
        try:
            await publish_confirmed(
                self._channel, self._broker.name, queue, copy, self._timeout
            )
        except UnroutableError:
            # Someone deleted the queue since it was declared: declare it again.
            log.warning(
                "rabbitmq %s: queue %r is gone; declaring it again",
                self._broker.name,
                queue,
            )
            if after is not None:
                await self._broker.delay_queue(
                    self._channel, self._spec.source, after, force=True
                )
            else:
                await self._broker.declare(
                    self._channel, queue, self._quorum, self._queue_args.get(queue)
                )
            await publish_confirmed(
                self._channel, self._broker.name, queue, copy, self._timeout
            )
        await self.ack(msg)

    async def requeue(self, msg: InboundMessage) -> None:
        if self._quorum:
            raw, tag = self._owned(msg)
            try:
                # reject, not nack: RabbitMQ >= 4.3 counts only a reject as a failure.
                await raw.basic_reject(tag, requeue=True, wait=False)
            except CONNECTION_ERRORS as exc:
                raise BrokerConnectionError(
                    f"rabbitmq could not requeue message {msg.id} "
                    f"({type(exc).__name__}); the broker redelivers it"
                ) from exc
            # Only now: until its reject is queued, no multiple ack may cover the tag.
            self._unsettled.discard(tag)
            return
        headers = next_attempt_headers(msg.headers, msg.delivery_count)
        await self._republish_then_ack(msg, self._spec.source, headers)

    async def retry(self, msg: InboundMessage, after: float) -> None:
        headers = next_attempt_headers(msg.headers, msg.delivery_count)
        headers[DUE_HEADER] = due_header(time.time(), after)
        if after <= 0:
            await self._republish_then_ack(msg, self._spec.source, headers)
            return
        self._owned(msg)
        target = await self._broker.delay_queue(self._channel, self._spec.source, after)
        await self._republish_then_ack(msg, target, headers, after)

    async def dead_letter(
        self, msg: InboundMessage, headers: Mapping[str, str]
    ) -> None:
        if self._spec.dead_letter is None:
            raise ConfigurationError(
                f"consumer {self._spec.consumer!r} has no dead-letter queue: set "
                "dead_letter, or ack instead"
            )
        await self._republish_then_ack(msg, self._spec.dead_letter, headers)

    async def release(self, msg: InboundMessage, *, stopping: bool = True) -> None:
        """Stop intake when ``stopping``, then ``basic.nack(requeue=True)``.

        A stopping consumer cancels first, which keeps the broker from pushing the
        message straight back into this channel (on a quorum queue that would count
        a delivery nobody handled); after a failed settle it is wanted back.
        """
        native: _Native = msg.native
        channel, tag = native
        raw = self._raw
        if channel is not raw or raw is None or raw.is_closed:
            return  # the broker requeued it when the channel closed
        if stopping:
            await self._stop_consuming()
        try:
            await raw.basic_nack(tag, requeue=True, wait=False)
        except CONNECTION_ERRORS:
            log.debug(
                "rabbitmq: release of %s failed; channel close requeues it", msg.id
            )
        else:
            self._unsettled.discard(tag)

    async def in_progress(self, msg: InboundMessage) -> None:
        return None

    async def _stop_consuming(self) -> None:
        """``basic.cancel`` once: the broker pushes nothing more to this channel."""
        async with self._cancel_lock:
            raw, tag = self._raw, self._consumer_tag
            self._consumer_tag = None
            self._wake.set()
            if raw is None or raw.is_closed or tag is None:
                return
            try:
                await asyncio.wait_for(raw.basic_cancel(tag), CLOSE_TIMEOUT)
            except CONNECTION_ERRORS:
                log.debug("rabbitmq: cancelling the consumer failed", exc_info=True)

    async def lag(self) -> int | None:
        """Messages ready in the queue (a passive declare's ``message_count``; those
        delivered and not yet acknowledged are not counted)."""
        raw = self._raw
        if raw is None:
            return None
        ok = await raw.queue_declare(self._spec.source, passive=True)
        return int(ok.message_count or 0)

    async def close(self) -> None:
        """Stop the consumer and close the channel; unacked deliveries are requeued."""
        if self._closing:
            return
        self._closing = True
        await self._stop_consuming()
        acker = self._acker
        if acker is not None:
            # The acker flushes what is pending, sees the subscription closing, ends.
            self._ack_wake.set()
            done, _ = await asyncio.wait({acker}, timeout=CLOSE_TIMEOUT)
            if not done:
                await cancel_and_wait([acker], what="rabbitmq acker")
        # Acks were queued before Channel.Close on the same connection: they go first.
        await close_quietly(self._channel)
        self._buffer.clear()
