"""NATS JetStream adapter: durable pull consumers on streams declared from subjects.

| outcome           | NATS JetStream (nats-py)                                                     |
|-------------------|------------------------------------------------------------------------------|
| Ack               | `+ACK` published without waiting for the server's reply (flushed on close); a lost ack is a redelivery |
| Nack requeue      | `-NAK`: redelivered at once with `num_delivered + 1`                          |
| Nack no requeue   | publish to `dead_letter` through JetStream (PubAck awaited), then `+TERM`     |
| Retry(after)      | `-NAK {"delay": after}`: the server holds it back for `after` seconds; a task's first deferral (not due yet) stores a copy carrying the deferral count, then `+TERM`, so the wait costs no attempt |
| delivery_count    | `num_delivered` from the delivery's ack subject                               |
| crash mid-handler | redelivered after `ack_wait`; a running handler sends `+WPI` every `ack_wait / 2` |
| reconnect         | nats-py reconnects by itself; `fetch` raises `BrokerConnectionError` once the link drops and the loop subscribes again (pull requests die with a connection); a publish during the outage waits for the reconnect (up to `request_timeout`); deliveries whose acks were lost come back after `ack_wait` |

Topology. ``source`` is a subject. ``subscribe`` uses the stream that already stores
the subject, or creates one named after it (characters NATS forbids in names become
``_``: ``orders.created`` → ``orders_created``); the same for ``dead_letter``. The
consumer is a durable pull consumer named after ``group`` (same character rule) with
explicit acks, ``ack_wait = spec.ack_wait`` and no ``max_deliver`` (the runtime's
retry policy decides).

Flow. The subscription keeps pull requests outstanding for as many messages as the
loop has free permits (``fetch(n)`` tops the outstanding credit up to ``n``), so the
next batch is already on its way while handlers run, and deliveries land in a local
buffer that never exceeds the free permits (in flight + buffered + requested <=
``concurrency``). That credit is the prefetch bound. ``max_ack_pending`` is left
unlimited on purpose: a delivery nak'ed with a delay (``Retry(after)``, a task not due
yet) stays ack-pending on the server until it is redelivered, so a cap of
``concurrency`` would stall the whole consumer behind a single delayed retry (and the
cap is shared by every replica of the group). Set the ``max_ack_pending`` option to
have the server enforce a ceiling anyway.

``publish`` stores a key in the ``x-svcgen-key`` header (NATS has no message key).

Consumer options (``Consumer(options=...)``): ``stream`` (stream for ``source``,
created if missing), ``dead_letter_stream``, ``max_ack_pending`` (a server-side
ceiling on unacked deliveries of the group, delayed ones included), ``deliver_policy``
(``all`` or ``new``, for a new durable), ``double_ack`` (wait for the server to
confirm every ack: one round trip per message, fewer redeliveries after a crash).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import re
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Final, Literal

from ..errors import (
    BrokerConnectionError,
    BrokerError,
    ConfigurationError,
    require,
)
from ..message import DEFERRED_HEADER, KEY_HEADER, InboundMessage, safe_headers
from .base import SubscriptionSpec

require("nats", "nats")

import nats.errors  # noqa: E402
import nats.js.errors  # noqa: E402
from nats.aio.client import Client  # noqa: E402
from nats.aio.msg import Msg  # noqa: E402
from nats.aio.subscription import Subscription as CoreSubscription  # noqa: E402
from nats.js.api import (  # noqa: E402
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.client import JetStreamContext  # noqa: E402

log = logging.getLogger(__name__)

"""Header carrying ``publish(key=...)``: NATS messages have no key of their own."""

OPTIONS: Final = frozenset(
    {"stream", "dead_letter_stream", "max_ack_pending", "deliver_policy", "double_ack"}
)

_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_CONNECTION_ERRORS: Final = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    nats.errors.NoServersError,
    nats.errors.TimeoutError,
    nats.js.errors.ServiceUnavailableError,
    OSError,
)
_NAME_IN_USE: Final = 10058
_SUBJECTS_OVERLAP: Final = 10065


def lost_create_race(exc: nats.js.errors.APIError) -> bool:
    """True when creating a stream (a key-value bucket is one) failed because it
    exists already: another replica may have created it since this one looked."""
    return exc.err_code in (_NAME_IN_USE, _SUBJECTS_OVERLAP)


def name_for(subject: str) -> str:
    """A stream or consumer name derived from a subject or group (``a.b`` → ``a_b``)."""
    return _BAD_NAME_CHARS.sub("_", subject)


def subject_matches(pattern: str, subject: str) -> bool:
    """True when the stream subject ``pattern`` (``*``/``>`` wildcards) covers ``subject``."""
    want = pattern.split(".")
    have = subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


_NATIVE_ERRORS: Final = (nats.errors.Error, OSError)


def _failure(exc: BaseException, what: str) -> BrokerError:
    """The runtime's error for a nats-py failure: connection trouble vs. the rest."""
    if isinstance(exc, _CONNECTION_ERRORS):
        return BrokerConnectionError(
            f"{what} failed: the nats connection is down ({type(exc).__name__}); "
            "it is retried once the client reconnects"
        )
    return BrokerError(f"{what} failed: {exc}")


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turn nats-py's exceptions into the runtime's (for the cold paths)."""
    try:
        yield
    except _NATIVE_ERRORS as exc:
        raise _failure(exc, what) from exc


class NatsBroker:
    """A connection to one NATS server (or cluster) with JetStream enabled.

    Args:
        name: the spec's broker name.
        url: ``nats://host:port``; several servers separated by commas.
        connect_timeout: seconds the first connection may take before ``connect`` fails.
        reconnect_wait: seconds between reconnection attempts (nats-py retries forever).
        request_timeout: seconds a JetStream API call or publish waits for its reply.
        storage: ``file`` or ``memory``, for streams this broker creates.
        max_age: seconds a stream this broker creates keeps messages (``None``: no limit).
    """

    kind = "nats"

    def __init__(
        self,
        name: str = "nats",
        url: str = "nats://127.0.0.1:4222",
        *,
        connect_timeout: float = 5.0,
        reconnect_wait: float = 0.5,
        request_timeout: float = 5.0,
        storage: Literal["file", "memory"] = "file",
        max_age: float | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.connect_timeout = connect_timeout
        self.reconnect_wait = reconnect_wait
        self.request_timeout = request_timeout
        self.storage = StorageType.FILE if storage == "file" else StorageType.MEMORY
        self.max_age = max_age
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._subs: weakref.WeakSet[NatsSubscription] = weakref.WeakSet()
        self._connecting = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    # -- connection ------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection; nats-py then reconnects by itself for as long as it runs."""
        async with self._connecting:  # one client, however many callers race here
            if self._nc is None or self._nc.is_closed:
                await self._open()

    async def _open(self) -> None:
        nc = Client()
        servers = [s.strip() for s in self.url.split(",") if s.strip()]
        try:
            async with asyncio.timeout(self.connect_timeout):
                await nc.connect(
                    servers=servers,
                    name=f"svcgen:{self.name}",
                    connect_timeout=max(1, round(self.connect_timeout)),
                    reconnect_time_wait=self.reconnect_wait,  # type: ignore[arg-type]
                    max_reconnect_attempts=-1,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    closed_cb=self._on_closed,
                )
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            raise BrokerConnectionError(
                f"nats broker {self.name!r} cannot connect to {self.url} "
                f"({type(exc).__name__}); check the url and that nats-server runs with -js"
            ) from exc
        self._nc = nc
        self._js = nc.jetstream(timeout=self.request_timeout)
        log.info("nats broker %s connected to %s", self.name, self.url)

    async def close(self) -> None:
        """Flush what was published (acks included) and close the connection."""
        nc, self._nc, self._js = self._nc, None, None
        if nc is None or nc.is_closed:
            return
        if nc.is_connected:
            try:
                await nc.flush(timeout=max(1, round(self.request_timeout)))
            except Exception as exc:
                log.warning("nats broker %s: final flush failed: %s", self.name, exc)
        await nc.close()

    async def _on_error(self, exc: Exception) -> None:
        log.debug("nats broker %s: %s: %s", self.name, type(exc).__name__, exc)

    async def _on_disconnected(self) -> None:
        if self._nc is None:
            return  # closing on purpose
        log.warning("nats broker %s lost its connection; reconnecting", self.name)
        for sub in list(self._subs):
            sub._broken("the nats connection dropped")

    async def _on_reconnected(self) -> None:
        log.info("nats broker %s reconnected to %s", self.name, self.url)

    async def _on_closed(self) -> None:
        for sub in list(self._subs):
            sub._broken("the nats connection is closed")

    async def _ready(
        self, *, reconnecting_ok: bool = False
    ) -> tuple[Client, JetStreamContext]:
        """The client, connecting first if needed; while it reconnects, raise unless
        ``reconnecting_ok`` (nats-py then buffers the request until it is back)."""
        if self._nc is None or self._nc.is_closed:
            await self.connect()
        nc, js = self._nc, self._js
        if nc is None or js is None:
            raise BrokerConnectionError(
                f"nats broker {self.name!r} is closed; connect it again"
            )
        if not nc.is_connected and not (reconnecting_ok and nc.is_reconnecting):
            raise BrokerConnectionError(
                f"nats broker {self.name!r} is not connected to {self.url}; it is "
                "retried once the client reconnects"
            )
        return nc, js

    # -- publishing ------------------------------------------------------------

    async def publish(
        self,
        target: str,
        body: bytes,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish through JetStream and wait for the stream's PubAck."""
        await self._publish(target, body, dict(headers) if headers else {}, key)

    async def _publish(
        self,
        target: str,
        body: bytes,
        headers: Mapping[str, str],
        key: str | None = None,
    ) -> None:
        # Headers are "Name: value" lines: a CR/LF in a value would end the block.
        headers = safe_headers(headers, (KEY_HEADER, key))
        # During a reconnect nats-py holds the publish and its PubAck wait (up to
        # request_timeout), so a short outage delays a publish instead of failing it.
        _, js = await self._ready(reconnecting_ok=True)
        try:
            with _translated(f"publish to {target!r}"):
                await js.publish(target, body, headers=headers or None)
        except BrokerError as exc:
            if isinstance(exc.__cause__, nats.js.errors.NoStreamResponseError):
                raise BrokerError(
                    f"no JetStream stream stores subject {target!r}: start a consumer "
                    f"on it or call declare({target!r}) first"
                ) from exc.__cause__
            raise

    # -- topology --------------------------------------------------------------

    async def declare(self, subject: str, *, stream: str | None = None) -> str:
        """Make sure a stream stores ``subject``; return the stream's name."""
        _, js = await self._ready()
        with _translated(f"declaring a stream for {subject!r}"):
            return await self._ensure_stream(js, subject, stream)

    async def _ensure_stream(
        self, js: JetStreamContext, subject: str, stream: str | None
    ) -> str:
        existing = await self._existing_stream(js, subject, stream)
        if existing is not None:
            return existing
        name = stream or name_for(subject)
        config = StreamConfig(
            name=name,
            subjects=[subject],
            storage=self.storage,
            max_age=self.max_age,
        )
        try:
            await js.add_stream(config)
        except nats.js.errors.APIError as exc:
            if not lost_create_race(exc):
                raise
            # Replicas starting together race to create the stream: the loser
            # finds the winner's, which stores the subject all the same.
            existing = await self._existing_stream(js, subject, stream)
            if existing is not None:
                return existing
            raise ConfigurationError(
                f"cannot create stream {name!r} for subject {subject!r} "
                f"({exc.description}): name an existing stream with the stream option"
            ) from exc
        log.info("nats broker %s created stream %s for %s", self.name, name, subject)
        return name

    async def _existing_stream(
        self, js: JetStreamContext, subject: str, stream: str | None
    ) -> str | None:
        """The stream that stores ``subject``: ``stream`` when named (an error if
        it stores other subjects only), else any; None when there is none yet."""
        if stream is None:
            try:
                found: str = await js.find_stream_name_by_subject(subject)
            except nats.js.errors.NotFoundError:
                return None
            return found
        try:
            info = await js.stream_info(stream)
        except nats.js.errors.NotFoundError:
            return None
        if not any(subject_matches(s, subject) for s in info.config.subjects or []):
            raise ConfigurationError(
                f"stream {stream!r} does not store subject {subject!r}: add the "
                "subject to the stream or drop the stream option"
            )
        return stream

    async def subscribe(self, spec: SubscriptionSpec) -> NatsSubscription:
        """Declare streams and the durable pull consumer, then start pulling."""
        unknown = sorted(set(spec.options) - OPTIONS)
        if unknown:
            raise ConfigurationError(
                f"consumer {spec.consumer!r}: unknown nats option(s) {', '.join(unknown)}; "
                f"use {', '.join(sorted(OPTIONS))}"
            )
        opts = spec.options
        max_ack_pending = int(opts.get("max_ack_pending", -1))
        deliver = str(opts.get("deliver_policy", "all"))
        if deliver not in ("all", "new"):
            raise ConfigurationError(
                f"consumer {spec.consumer!r}: deliver_policy must be 'all' or 'new', "
                f"got {deliver!r}"
            )
        nc, js = await self._ready()
        durable = name_for(spec.group)
        with _translated(f"subscribing {spec.consumer!r} to {spec.source!r}"):
            stream = await self._ensure_stream(js, spec.source, opts.get("stream"))
            if spec.dead_letter is not None:
                await self._ensure_stream(
                    js, spec.dead_letter, opts.get("dead_letter_stream")
                )
            config = ConsumerConfig(
                durable_name=durable,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=spec.ack_wait,
                max_ack_pending=max_ack_pending,
                max_deliver=-1,
                filter_subject=spec.source,
                deliver_policy=DeliverPolicy.ALL
                if deliver == "all"
                else DeliverPolicy.NEW,
            )
            try:
                await js.add_consumer(stream, config)
            except nats.js.errors.BadRequestError as exc:
                raise ConfigurationError(
                    f"consumer {durable!r} on stream {stream!r} cannot take the settings "
                    f"of {spec.consumer!r} ({exc.description}): delete it or use "
                    "another group"
                ) from exc
            sub = NatsSubscription(
                self,
                spec,
                nc,
                stream=stream,
                durable=durable,
                max_batch=spec.concurrency
                if max_ack_pending <= 0
                else max(1, min(spec.concurrency, max_ack_pending)),
                double_ack=bool(opts.get("double_ack", False)),
            )
            await sub._start()
        self._subs.add(sub)
        return sub


class NatsSubscription:
    """One consumer's pull subscription on a durable JetStream consumer."""

    def __init__(
        self,
        broker: NatsBroker,
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
        self._inbox = nc.new_inbox()
        self._core: CoreSubscription | None = None
        self._buffer: collections.deque[Msg] = collections.deque()
        self._arrived = asyncio.Event()
        self._credit = 0  # messages asked for and not yet delivered or expired
        self._credit_until = 0.0  # monotonic time when every pull request has expired
        self._failure: str | None = None
        self._closed = False

    async def _start(self) -> None:
        self._core = await self._nc.subscribe(self._inbox, cb=self._on_msg)

    def _broken(self, reason: str) -> None:
        if self._failure is None:
            self._failure = reason
        self._arrived.set()

    async def _on_msg(self, msg: Msg) -> None:
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
            await self._top_up(max_messages, timeout)
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

    async def _top_up(self, wanted: int, expires: float) -> None:
        """Keep pull requests outstanding for ``wanted`` messages (the free permits)."""
        now = time.monotonic()
        if self._credit and now > self._credit_until:
            self._credit = 0  # every request expired, whether or not its 408 arrived
        need = min(wanted, self._max_batch) - len(self._buffer) - self._credit
        # Small top-ups wait until half a batch is missing: fewer requests, same flow.
        if need <= 0 or (self._credit and need * 2 < self._max_batch):
            return
        request = json.dumps(
            {"batch": need, "expires": max(int(expires * 1e9) - 1_000_000, 1_000_000)}
        ).encode()
        self._credit += need
        self._credit_until = max(self._credit_until, now + expires + 0.5)
        try:
            with _translated(f"pulling from {self.stream}/{self.durable}"):
                await self._nc.publish(self._next, request, reply=self._inbox)
        except BaseException:
            self._credit = max(0, self._credit - need)
            raise

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
        try:
            if self._double_ack:
                await native.ack_sync(timeout=self._broker.request_timeout)
            else:
                await native.ack()
        except _NATIVE_ERRORS as exc:
            raise _failure(exc, f"ack of {msg.id}") from exc

    async def requeue(self, msg: InboundMessage) -> None:
        native: Msg = msg.native
        try:
            await native.nak()
        except _NATIVE_ERRORS as exc:
            raise _failure(exc, f"nak of {msg.id}") from exc

    async def retry(self, msg: InboundMessage, after: float) -> None:
        native: Msg = msg.native
        original = native.headers or {}
        if DEFERRED_HEADER in msg.headers and DEFERRED_HEADER not in original:
            await self._first_deferral(msg, native)
            return
        try:
            await native.nak(delay=after if after > 0 else None)
        except _NATIVE_ERRORS as exc:
            raise _failure(exc, f"delayed nak of {msg.id}") from exc

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
        try:
            await native.term()
        except _NATIVE_ERRORS as exc:
            raise _failure(exc, f"term of {msg.id}") from exc

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
        with _translated(f"term of {msg.id}"):
            await native.term()

    async def release(self, msg: InboundMessage, *, stopping: bool = True) -> None:
        native: Msg = msg.native
        try:
            await native.nak()
        except _NATIVE_ERRORS as exc:
            raise _failure(exc, f"nak of {msg.id}") from exc

    async def in_progress(self, msg: InboundMessage) -> None:
        native: Msg = msg.native
        try:
            await native.in_progress()
        except _NATIVE_ERRORS as exc:
            raise _failure(exc, f"in-progress ack of {msg.id}") from exc

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


__all__ = [
    "KEY_HEADER",
    "NatsBroker",
    "NatsSubscription",
    "name_for",
    "subject_matches",
]
