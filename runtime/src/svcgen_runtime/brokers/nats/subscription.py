"""One consumer's pull subscription on a durable JetStream consumer: pull requests
kept outstanding for the loop's free permits, the buffer they fill, settling each
delivery through its ack subject, and the message built from that subject."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import random
import time
from collections.abc import Mapping, Sequence
from typing import Final

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as CoreSubscription
from nats.js.errors import NotFoundError

from ...errors import BrokerConnectionError, ConfigurationError
from ...message import DEFERRED_HEADER, KEY_HEADER, InboundMessage
from ..base import SubscriptionSpec
from .connection import NatsConnection
from .failures import log, translated

PULL_EXPIRES: Final = 30.0
"""How long a pull request waits on the server at most (each one 80–100 % of this,
drawn at random). A request is asked again only when the loop has permits to fill,
not every fetch: the connection dropping or the consumer going away already end
the subscription, and a 408/409 status ends the credit.

Long and random on purpose: nats-server before 2.10.14 (nats-io/nats-server#5305)
mishandles a redelivery that comes due in the instant the only waiting pull
request expires: it drops the redelivery until ``ack_wait`` has passed again and
delivers the consumer's newest message a second time. With requests renewed every
fetch wait (1 s), a ``Retry(after=1.0)`` or a one-second task delay kept landing
on that instant; now an idle subscription's request expires every 24-30 s at a
phase nothing else is tied to."""

PULL_HEARTBEAT: Final = 2.0
"""Seconds between the server's idle heartbeats on a waiting pull request. Two
missed in a row while requests are outstanding mean they are gone: a request that
reaches the server just after its consumer was deleted is never answered (no 409,
no 503; seen on nats-server 2.9), so without them the subscription would wait out
``PULL_EXPIRES`` before it noticed the consumer had gone."""


class NatsSubscription:
    """One consumer's pull subscription on a durable JetStream consumer."""

    def __init__(
        self,
        broker: NatsConnection,
        spec: SubscriptionSpec,
        nc: Client,
        *,
        stream: str,
        durable: str,
        max_batch: int,
        double_ack: bool,
    ) -> None:
        self.heartbeat_interval: float | None = spec.ack_wait / 2
        self.stream = stream
        self.durable = durable
        self._broker = broker
        self._spec = spec
        self._nc = nc
        self._max_batch = max_batch
        self._double_ack = double_ack
        self._next = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._pulling = f"pulling from {stream}/{durable}"
        self._inbox = nc.new_inbox()
        self._core: CoreSubscription | None = None
        self._buffer: collections.deque[Msg] = collections.deque()
        self._arrived = asyncio.Event()
        self._credit = 0  # messages asked for and not yet delivered or expired
        self._credit_until = 0.0  # monotonic time when every pull request has expired
        self._heard = 0.0  # monotonic time of the last pull or word from the server
        self._failure: str | None = None
        self._closed = False

    async def _start(self) -> None:
        self._core = await self._nc.subscribe(self._inbox, cb=self._on_msg)

    def _broken(self, reason: str) -> None:
        if self._failure is None:
            self._failure = reason
        self._arrived.set()

    async def _on_msg(self, msg: Msg) -> None:
        self._heard = time.monotonic()
        if msg.reply:
            self._buffer.append(msg)
            if self._credit > 0:
                self._credit -= 1
            self._arrived.set()
        elif self._on_status(msg.headers or {}):
            self._arrived.set()

    def _on_status(self, headers: Mapping[str, str]) -> bool:
        """Account for a pull request that ended; True when a fetch may pull again now."""
        status = headers.get("Status", "")
        if status == "100":
            return False  # idle heartbeat / flow control: not asked for, nothing to do
        pending = headers.get("Nats-Pending-Messages")
        if pending is not None and pending.isdigit():
            self._credit = max(0, self._credit - int(pending))
        else:
            self._credit = 0  # a request ended without saying how much was left
        if status in ("404", "408"):
            return True  # expired or empty: the normal end of a pull request
        description = headers.get("Description", "")
        if status == "503" or (status == "409" and "Deleted" in description):
            self._broken(
                f"consumer {self.stream}/{self.durable} is gone ({status} "
                f"{description or 'no responders'})"
            )
            return True
        # Anything else (409 Exceeded MaxWaiting …): pull again on the next fetch,
        # not at once, so a refusing server is not asked in a tight loop.
        log.debug(
            "nats pull request for %s ended: %s %s", self.durable, status, description
        )
        return False

    # -- fetching --------------------------------------------------------------

    def _check(self) -> None:
        if self._closed:
            raise BrokerConnectionError(
                f"the nats subscription of {self._spec.consumer!r} is closed"
            )
        if self._failure is not None:
            raise BrokerConnectionError(
                f"nats subscription of {self._spec.consumer!r} on {self._spec.source!r} "
                f"broke: {self._failure}; the consumer subscribes again"
            )
        if not self._nc.is_connected:
            raise BrokerConnectionError(
                f"nats broker {self._broker.name!r} is not connected; the consumer "
                "subscribes again once it is"
            )

    async def fetch(
        self, max_messages: int, timeout: float
    ) -> Sequence[InboundMessage]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._arrived.clear()
            self._check()
            await self._top_up(max_messages)
            if self._buffer:
                return self._take(max_messages)
            left = deadline - loop.time()
            if left <= 0:
                return []
            try:
                async with asyncio.timeout(left):
                    await self._arrived.wait()
            except TimeoutError:
                pass

    async def _top_up(self, wanted: int) -> None:
        """Keep pull requests outstanding for ``wanted`` messages (the free permits)."""
        now = time.monotonic()
        if self._credit and now > self._credit_until:
            self._credit = 0  # every request expired, whether or not its 408 arrived
        elif self._credit and now - self._heard > 2 * PULL_HEARTBEAT:
            await self._unheard()
            if self._failure is not None:
                return
        need = min(wanted, self._max_batch) - len(self._buffer) - self._credit
        # Small top-ups wait until half a batch is missing: fewer requests, same flow.
        if need <= 0 or (self._credit and need * 2 < self._max_batch):
            return
        expires = PULL_EXPIRES * random.uniform(0.8, 1.0)
        request = json.dumps(
            {
                "batch": need,
                "expires": int(expires * 1e9),
                "idle_heartbeat": int(PULL_HEARTBEAT * 1e9),
            }
        ).encode()
        self._credit += need
        self._credit_until = max(self._credit_until, now + expires + 0.5)
        self._heard = now
        try:
            with translated(self._pulling):
                await self._nc.publish(self._next, request, reply=self._inbox)
        except BaseException:
            self._credit = max(0, self._credit - need)
            raise

    async def _unheard(self) -> None:
        """Pull requests are outstanding and two heartbeats went missing: ask whether
        the consumer still exists. Gone: the subscription is broken (the loop declares
        it again). There: the requests were lost some other way, and the next top-up
        asks again, unless the server spoke while the answer was on its way (a
        stalled event loop had not read its heartbeats yet)."""
        asked = time.monotonic()
        _, js = await self._broker._ready()
        with translated(f"looking up consumer {self.stream}/{self.durable}"):
            try:
                await js.consumer_info(self.stream, self.durable)
            except NotFoundError:
                gone = True
            else:
                gone = False
        if gone:
            self._broken(
                f"consumer {self.stream}/{self.durable} is gone (its pull requests "
                "went unanswered and the server no longer knows it)"
            )
            return
        if self._heard < asked:
            log.info(
                "nats pull requests for %s went unanswered for %.0fs; asking again",
                self.durable,
                asked - self._heard,
            )
            self._credit = 0

    def _take(self, n: int) -> list[InboundMessage]:
        buffer = self._buffer
        source = self._spec.source
        out: list[InboundMessage] = []
        while buffer and len(out) < n:
            out.append(_inbound(buffer.popleft(), source))
        return out

    # -- settling --------------------------------------------------------------

    async def ack(self, msg: InboundMessage) -> None:
        native: Msg = msg.native
        with translated("ack", msg.id):
            if self._double_ack:
                await native.ack_sync(timeout=self._broker.request_timeout)
            else:
                await native.ack()

    async def requeue(self, msg: InboundMessage) -> None:
        native: Msg = msg.native
        with translated("nak", msg.id):
            await native.nak()

    async def retry(self, msg: InboundMessage, after: float) -> None:
        native: Msg = msg.native
        original = native.headers or {}
        if DEFERRED_HEADER in msg.headers and DEFERRED_HEADER not in original:
            await self._first_deferral(msg, native)
            return
        with translated("delayed nak", msg.id):
            await native.nak(delay=after if after > 0 else None)

    async def _first_deferral(self, msg: InboundMessage, native: Msg) -> None:
        """A message not due yet is handed back with a deferral count in its headers.

        A nak cannot change headers and every nak'ed delivery counts in
        ``num_delivered``, so the count would be lost and the wait would cost the
        handler an attempt. The first deferral therefore stores a copy that carries
        the count (confirmed), then terminates the original. The copy comes back at
        once, is deferred again with a plain delayed nak, and arrives when due with
        ``num_delivered == 2`` and one counted deferral: attempt 1.
        """
        headers = {
            k: v for k, v in msg.headers.items() if not k.lower().startswith("nats-")
        }
        # Named after the stored original: if the +TERM is lost and the original
        # comes back, the stream drops its second copy as a duplicate.
        headers["Nats-Msg-Id"] = f"svcgen-defer:{msg.id}:{msg.timestamp!r}"
        await self._broker._publish(native.subject, msg.body, headers)
        with translated("term", msg.id):
            await native.term()

    async def dead_letter(
        self, msg: InboundMessage, headers: Mapping[str, str]
    ) -> None:
        target = self._spec.dead_letter
        if target is None:
            raise ConfigurationError(
                f"consumer {self._spec.consumer!r} has no dead-letter subject; set "
                "dead_letter or let the runtime drop the message"
            )
        hdrs = dict(headers)
        # The same delivery dead-lettered twice (its +TERM lost) is stored once:
        # stream, sequence and store time name one stored message.
        hdrs["Nats-Msg-Id"] = f"svcgen-dlq:{msg.id}:{msg.timestamp!r}"
        await self._broker._publish(target, msg.body, hdrs)
        native: Msg = msg.native
        with translated("term", msg.id):
            await native.term()

    async def release(self, msg: InboundMessage, *, stopping: bool = True) -> None:
        native: Msg = msg.native
        with translated("nak", msg.id):
            await native.nak()

    async def in_progress(self, msg: InboundMessage) -> None:
        native: Msg = msg.native
        with translated("in-progress ack", msg.id):
            await native.in_progress()

    async def lag(self) -> int | None:
        """Messages of the stream not yet delivered to the durable consumer
        (``num_pending``)."""
        _, js = await self._broker._ready()
        info = await js.consumer_info(self.stream, self.durable)
        return int(info.num_pending or 0)

    async def close(self) -> None:
        """Stop pulling, give buffered deliveries back, flush acks."""
        if self._closed:
            return
        self._closed = True
        self._broker._subs.discard(self)
        self._arrived.set()
        core, self._core = self._core, None
        if core is not None:
            with contextlib.suppress(Exception):
                await core.unsubscribe()
        # Taken from the server but never handed to the loop: redeliver them now
        # rather than after ack_wait.
        while self._buffer:
            try:
                await self._buffer.popleft().nak()
            except Exception:
                break
        if self._nc.is_connected:
            try:
                await self._nc.flush(
                    timeout=max(1, round(self._broker.request_timeout))
                )
            except Exception as exc:
                log.warning(
                    "nats subscription %s: flushing acks failed (%s); unflushed acks "
                    "come back as redeliveries",
                    self.durable,
                    exc,
                )


def _inbound(msg: Msg, source: str) -> InboundMessage:
    """Build the runtime's message from a delivery; metadata comes from the ack subject."""
    # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending> (v1) or
    # $JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>...
    tokens = msg.reply.split(".")
    at = 2 if len(tokens) == 9 else 4
    stream = tokens[at]
    stream_seq = int(tokens[at + 3])
    headers: dict[str, str] = msg.headers or {}
    return InboundMessage(
        id=f"{stream}:{stream_seq}",
        source=source,
        body=msg.data,
        key=headers.get(KEY_HEADER),
        headers=headers,
        delivery_count=int(tokens[at + 2]),
        timestamp=int(tokens[at + 5]) / 1e9,
        position={
            "stream": stream,
            "stream_seq": stream_seq,
            "consumer_seq": int(tokens[at + 4]),
            "subject": msg.subject,
        },
        native=msg,
    )
