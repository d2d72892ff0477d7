"""RabbitMQ adapter (aio-pika): durable queues, confirmed republishes, TTL delay queues.

| outcome            | rabbitmq                                                                 |
|--------------------|--------------------------------------------------------------------------|
| Ack                | `basic.ack`, coalesced per loop iteration: one `basic.ack(multiple=True)` for the acked tags below the oldest unsettled delivery, single acks above it |
| Nack requeue       | classic: republish a copy to the source with attempt+1 (confirmed), then `basic.ack`; quorum: `basic.reject(requeue=True)` (the queue counts it in `x-delivery-count`) |
| Nack no requeue    | publish to the `spec.dead_letter` queue (confirmed), then `basic.ack`    |
| Retry(after)       | publish with attempt+1 to `<source>.delay.<ms>` (confirmed), then `basic.ack`; that queue's `x-message-ttl` dead-letters it back to the source through the default exchange |
| delivery_count     | `x-svcgen-attempt` header (1 when absent), plus `x-delivery-count` on quorum queues |
| crash mid-handler  | the channel closes, the broker requeues every unacked delivery (`redelivered` is set; a classic queue does not count it, a quorum queue does) |
| reconnect          | plain connection: `fetch` raises `BrokerConnectionError`, the consume loop subscribes again on a new connection and channel; deliveries of the dead channel are never settled on the new one (their settle fails, the broker redelivers them); a consumer the broker cancels (queue deleted) subscribes again the same way |
| release            | `basic.cancel` of the consumer (no more pushes), then `basic.nack(requeue=True)` |

Topology. ``subscribe`` declares, idempotently, the durable queue ``spec.source``
(``spec.group`` is informational: replicas compete on that one queue) and the durable
queue ``spec.dead_letter``, both classic or both quorum (option ``quorum``).
``publish(target, ...)`` goes to the default exchange with routing key ``target``, so it
reaches the queue named ``target``; it declares nothing and is ``mandatory``: publishing
to a queue that does not exist yet raises ``BrokerError`` instead of dropping the message.

Retry delays. One durable classic queue per delay bucket, ``<source>.delay.<ms>``, with
``x-message-ttl=ms``, ``x-dead-letter-exchange=""`` and
``x-dead-letter-routing-key=<source>``: every message in a bucket has the same TTL, so
none waits behind a longer one (per-message TTL only expires at the head of a queue).
Delays round *up* to 100 ms below 10 s, to 500 ms below 60 s and to 1 s beyond, so a
retry is never early and at most that step late. ``x-expires`` removes buckets nobody
uses; publishers redeclare a bucket at least every 30 s, since publishing alone does not
count as use.

Options (``Consumer(options=...)``): ``quorum: bool`` (default false) declares the
source and its dead-letter queue with ``x-queue-type=quorum``; delivery_count then adds
the queue's ``x-delivery-count``. Measured on RabbitMQ 3.10.8: it is 0 on the first
delivery and counts every return (reject, nack, a closing channel). Since RabbitMQ 4.3
(rabbitmq-server#15387) only failure returns count: ``basic.reject(requeue=True)``
does, ``basic.nack(requeue=True)`` does not. So requeue uses ``basic.reject`` (a
failure) and release uses ``basic.nack`` (the consumer is stopping; not a failure).

Each subscription has its own channel with publisher confirms and
``basic.qos(prefetch_count=spec.concurrency)``; deliveries are pushed into a buffer
that ``fetch`` drains, so the prefetch bounds it. The ordering key travels in the
``x-svcgen-key`` header.

Not used: ``spec.ack_wait`` (RabbitMQ redelivers when the channel closes, not on a
timer). No ``x-delivery-limit`` either: the runtime's retry policy decides, and a queue
argument would turn every change of ``max_attempts`` into a PRECONDITION_FAILED. The server's ``consumer_timeout`` (30 min by default) closes a
channel whose delivery stays unacknowledged longer; AMQP cannot extend it, so
``heartbeat_interval`` is None and handler timeouts must stay below it.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import logging
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias
from urllib.parse import urlsplit

from ..cancel import cancel_and_wait
from ..errors import BrokerConnectionError, BrokerError, ConfigurationError, require

require("aio_pika", "rabbitmq")

import aio_pika  # noqa: E402
import aiormq  # noqa: E402
from aio_pika.abc import AbstractChannel, AbstractConnection  # noqa: E402
from aiormq.abc import DeliveredMessage  # noqa: E402
from pamqp.commands import Basic  # noqa: E402
from pamqp.common import FieldTable  # noqa: E402

from ..message import (  # noqa: E402
    DUE_HEADER,
    KEY_HEADER,
    InboundMessage,
    attempt_from_headers,
    due_header,
    safe_headers,
)
from ..retry import next_attempt_headers  # noqa: E402
from .base import SubscriptionSpec  # noqa: E402

log = logging.getLogger(__name__)

DELIVERY_COUNT_HEADER: Final = "x-delivery-count"
_BROKER_HEADERS: Final = ("x-death", "x-first-death-", "x-last-death-")
"""Headers RabbitMQ writes itself; never copied into a republished message."""
DELAY_REDECLARE: Final = 30.0
"""Seconds after which a delay bucket is declared again before a publish (x-expires)."""
CLOSE_TIMEOUT: Final = 5.0

_CONNECTION_ERRORS: Final = (
    aiormq.exceptions.AMQPError,
    # aio-pika/aiormq raise RuntimeError for "connection/channel closed".
    RuntimeError,
    ConnectionError,
    OSError,
    TimeoutError,
)


class UnroutableError(BrokerError):
    """A mandatory publish found no queue of that name."""


def delay_bucket_ms(after: float) -> int:
    """The delay queue TTL for ``after`` seconds: rounded up, never early."""
    ms = max(math.ceil(after * 1000.0), 1)
    step = 100 if ms <= 10_000 else 500 if ms <= 60_000 else 1000
    return -(-ms // step) * step


def _is_open(conn: AbstractConnection | None) -> bool:
    """aio-pika marks a connection closed a little after aiormq does: ask both."""
    if conn is None or conn.is_closed:
        return False
    transport = conn.transport
    return transport is not None and not transport.connection.is_closed


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}:{parts.port or 5672}{parts.path}"


def _queue_arguments(quorum: bool) -> dict[str, Any] | None:
    return {"x-queue-type": "quorum"} if quorum else None


def _str_headers(raw: FieldTable | None) -> tuple[dict[str, str], str | None, int]:
    """AMQP headers as str->str, the ordering key, and the quorum delivery count."""
    headers: dict[str, str] = {}
    key: str | None = None
    redeliveries = 0
    if not raw:
        return headers, key, redeliveries
    for name, value in raw.items():
        if name == KEY_HEADER:
            key = value.decode() if isinstance(value, bytes) else str(value)
        elif name == DELIVERY_COUNT_HEADER:
            if isinstance(value, int):
                redeliveries = value
        elif name.startswith(_BROKER_HEADERS):
            continue
        elif isinstance(value, bytes):
            headers[name] = value.decode("utf-8", "replace")
        elif isinstance(value, str | int | float | bool | datetime.datetime):
            headers[name] = str(value)
    return headers, key, redeliveries


def _message(
    body: bytes,
    *,
    key: str | None,
    headers: Mapping[str, str] | None,
    message_id: str | None = None,
) -> aio_pika.Message:
    # Field-table names are short strings (255 bytes) and the header frame has to
    # fit frame_max; safe_headers keeps both, and the text the other brokers get.
    amqp_headers: dict[str, Any] = dict(safe_headers(headers, (KEY_HEADER, key)))
    return aio_pika.Message(
        body,
        headers=amqp_headers,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id or uuid.uuid4().hex,
        timestamp=datetime.datetime.now(datetime.UTC),
    )


async def _publish(
    channel: AbstractChannel,
    broker: str,
    routing_key: str,
    message: aio_pika.Message,
    timeout: float,
) -> None:
    """Publish to the default exchange and wait for the broker's confirm."""
    try:
        await channel.default_exchange.publish(
            message, routing_key, mandatory=True, timeout=timeout
        )
    except aio_pika.exceptions.PublishError as exc:
        raise UnroutableError(
            f"rabbitmq broker {broker!r} could not route a message to queue "
            f"{routing_key!r} (it does not exist): start its consumer, which "
            "declares it, before publishing"
        ) from exc
    except aio_pika.exceptions.DeliveryError as exc:
        raise BrokerError(
            f"rabbitmq broker {broker!r} refused a message for queue "
            f"{routing_key!r} ({exc}): check the queue's length limits and the "
            "server's logs"
        ) from exc
    except TimeoutError as exc:
        raise BrokerConnectionError(
            f"rabbitmq broker {broker!r} got no publisher confirm for queue "
            f"{routing_key!r} within {timeout}s: check the server (memory or disk "
            "alarm?) or raise publish_timeout"
        ) from exc
    except _CONNECTION_ERRORS as exc:
        raise BrokerConnectionError(
            f"rabbitmq broker {broker!r} lost its channel while publishing to "
            f"{routing_key!r} ({type(exc).__name__}: {exc}); it reconnects on the "
            "next call"
        ) from exc


class RabbitMQBroker:
    """A connection to one RabbitMQ server.

    Args:
        name: the spec's broker name.
        url: ``amqp://user:password@host:port/vhost``.
        connection_name: shown by ``rabbitmqctl list_connections``; default
            ``svcgen:<name>``.
        connect_timeout: seconds one connection attempt may take.
        publish_timeout: seconds to wait for a publisher confirm.
    """

    kind = "rabbitmq"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        connection_name: str | None = None,
        connect_timeout: float = 10.0,
        publish_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.url = url
        self.connection_name = connection_name or f"svcgen:{name}"
        self.connect_timeout = connect_timeout
        self.publish_timeout = publish_timeout
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._lock = asyncio.Lock()
        self._channel_lock = asyncio.Lock()
        self._closed = False
        self._delay_declared: dict[tuple[str, int], float] = {}

    @property
    def connected(self) -> bool:
        return _is_open(self._connection)

    async def connect(self) -> None:
        self._closed = False
        await self._open_connection()

    async def close(self) -> None:
        self._closed = True
        conn, self._connection, self._channel = self._connection, None, None
        if conn is not None and not conn.is_closed:
            await _close_connection(conn)

    async def _open_connection(self) -> AbstractConnection:
        conn = self._connection
        if conn is not None and _is_open(conn):
            return conn
        if self._closed:
            raise BrokerConnectionError(
                f"rabbitmq broker {self.name!r} is closed: call connect() first"
            )
        async with self._lock:
            conn = self._connection
            if conn is not None and _is_open(conn):
                return conn
            if conn is not None and not conn.is_closed:
                await _close_connection(conn)  # dead underneath: free its tasks
            try:
                conn = await aio_pika.connect(
                    self.url,
                    timeout=self.connect_timeout,
                    client_properties={"connection_name": self.connection_name},
                )
            except _CONNECTION_ERRORS as exc:
                raise BrokerConnectionError(
                    f"rabbitmq broker {self.name!r} cannot connect to "
                    f"{_safe_url(self.url)} ({type(exc).__name__}: {exc}): check "
                    "the url, the credentials and that the server is running"
                ) from exc
            self._connection = conn
            self._channel = None
            log.info("rabbitmq %s connected to %s", self.name, _safe_url(self.url))
            return conn

    async def open_channel(self, prefetch: int | None = None) -> AbstractChannel:
        """A new confirming channel on the (re)opened connection."""
        conn = await self._open_connection()
        try:
            channel = await conn.channel(publisher_confirms=True, on_return_raises=True)
            if prefetch is not None:
                await channel.set_qos(prefetch_count=prefetch)
        except _CONNECTION_ERRORS as exc:
            raise BrokerConnectionError(
                f"rabbitmq broker {self.name!r} cannot open a channel "
                f"({type(exc).__name__}: {exc}); it reconnects on the next call"
            ) from exc
        return channel

    async def _publish_channel(self) -> AbstractChannel:
        channel = self._channel
        if channel is not None and not channel.is_closed and self.connected:
            return channel
        async with self._channel_lock:  # concurrent publishers open one channel
            channel = self._channel
            if channel is None or channel.is_closed or not self.connected:
                channel = self._channel = await self.open_channel()
            return channel

    async def publish(
        self,
        target: str,
        body: bytes,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish to the queue named ``target`` (default exchange); wait for the confirm."""
        channel = await self._publish_channel()
        await _publish(
            channel,
            self.name,
            target,
            _message(body, key=key, headers=headers),
            self.publish_timeout,
        )

    async def subscribe(self, spec: SubscriptionSpec) -> RabbitMQSubscription:
        quorum = bool(spec.options.get("quorum", False))
        channel = await self.open_channel(prefetch=spec.concurrency)
        try:
            await self.declare(channel, spec.source, quorum)
            if spec.dead_letter is not None:
                await self.declare(channel, spec.dead_letter, quorum)
            sub = RabbitMQSubscription(self, spec, channel, quorum=quorum)
            await sub.start()
        except BaseException:
            await _close_quietly(channel)
            raise
        return sub

    async def declare(self, channel: AbstractChannel, queue: str, quorum: bool) -> None:
        try:
            await channel.declare_queue(
                queue, durable=True, arguments=_queue_arguments(quorum)
            )
        except aiormq.exceptions.ChannelPreconditionFailed as exc:
            kind = "quorum" if quorum else "classic"
            raise ConfigurationError(
                f"rabbitmq queue {queue!r} already exists with other arguments than a "
                f"durable {kind} queue ({exc}): delete it, or set the consumer's "
                "options['quorum'] to match how it was declared"
            ) from exc
        except _CONNECTION_ERRORS as exc:
            raise BrokerConnectionError(
                f"rabbitmq broker {self.name!r} could not declare queue {queue!r} "
                f"({type(exc).__name__}: {exc}); it reconnects on the next call"
            ) from exc

    async def delay_queue(
        self,
        channel: AbstractChannel,
        source: str,
        after: float,
        *,
        force: bool = False,
    ) -> str:
        """Declare (at most every 30 s, or now with ``force``) the delay bucket for
        ``after``; return its name."""
        ms = delay_bucket_ms(after)
        name = f"{source}.delay.{ms}"
        now = time.monotonic()
        last = self._delay_declared.get((source, ms))
        if force or last is None or now - last > DELAY_REDECLARE:
            args: dict[str, Any] = {
                "x-message-ttl": ms,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": source,
                # Twice the TTL plus a minute: redeclared every 30 s while used, so a
                # bucket never expires with a message still waiting in it.
                "x-expires": 2 * ms + 60_000,
            }
            try:
                await channel.declare_queue(name, durable=True, arguments=args)
            except _CONNECTION_ERRORS as exc:
                raise BrokerConnectionError(
                    f"rabbitmq broker {self.name!r} could not declare delay queue "
                    f"{name!r} ({type(exc).__name__}: {exc}); the delivery is "
                    "redelivered"
                ) from exc
            self._delay_declared[(source, ms)] = now
        return name


async def _close_connection(conn: AbstractConnection) -> None:
    try:
        await asyncio.wait_for(conn.close(), CLOSE_TIMEOUT)
    except _CONNECTION_ERRORS:
        log.debug("rabbitmq: closing a connection failed", exc_info=True)


async def _close_quietly(channel: AbstractChannel) -> None:
    if channel.is_closed:
        return
    try:
        await asyncio.wait_for(channel.close(), CLOSE_TIMEOUT)
    except _CONNECTION_ERRORS:
        log.debug("rabbitmq: closing a channel failed", exc_info=True)


_Native: TypeAlias = tuple[aiormq.abc.AbstractChannel, int]
"""``InboundMessage.native``: the channel a delivery came on, and its delivery tag."""


class RabbitMQSubscription:
    """One consumer's channel: a push consumer feeding a buffer bounded by the prefetch."""

    heartbeat_interval: float | None = None

    def __init__(
        self,
        broker: RabbitMQBroker,
        spec: SubscriptionSpec,
        channel: AbstractChannel,
        *,
        quorum: bool,
    ) -> None:
        self._broker = broker
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
        except _CONNECTION_ERRORS as exc:
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
        headers, key, redeliveries = _str_headers(props.headers)
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
                except _CONNECTION_ERRORS as exc:
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
        copy = _message(msg.body, key=msg.key, headers=headers, message_id=msg.id)
        try:
            await _publish(self._channel, self._broker.name, queue, copy, self._timeout)
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
                await self._broker.declare(self._channel, queue, self._quorum)
            await _publish(self._channel, self._broker.name, queue, copy, self._timeout)
        await self.ack(msg)

    async def requeue(self, msg: InboundMessage) -> None:
        if self._quorum:
            raw, tag = self._owned(msg)
            try:
                # reject, not nack: RabbitMQ >= 4.3 counts only a reject as a failure.
                await raw.basic_reject(tag, requeue=True, wait=False)
            except _CONNECTION_ERRORS as exc:
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
        except _CONNECTION_ERRORS:
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
            except _CONNECTION_ERRORS:
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
        await _close_quietly(self._channel)
        self._buffer.clear()
