"""``MqttSubscription``: settling deliveries of one persistent MQTT session.

Ack is a PUBACK; a requeue or retry publishes a copy with attempt + 1 to the retry
topic and waits for the server's PUBACK of it before PUBACKing the original, a dead
letter likewise to ``dead_letter``. ``Retry(after)`` waits in an in-process timer
while the original stays un-PUBACKed; ``close`` parks still-waiting retries as copies
carrying their due time. Intake (buffer, fetch, release) is ``deliveries``'.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Final, NamedTuple

from ...errors import BrokerError
from ...message import DUE_HEADER, InboundMessage, due_header
from ...retry import next_attempt_headers
from ..base import SubscriptionSpec
from .client_ids import release_id, taken
from .deliveries import Deliveries, user_props
from .link import Link

log = logging.getLogger(__package__)  # the adapter's one logger, as before

PARK_TIMEOUT: Final = 5.0
NO_MATCHING_SUBSCRIBERS: Final = 16


class DelayedRetry(NamedTuple):
    """A ``Retry(after)`` waiting in this process: the delivery and when it is due."""

    msg: InboundMessage
    due: float


class MqttSubscription(Deliveries):
    """One consumer's persistent MQTT session, read through one connection."""

    heartbeat_interval: float | None = None

    def __init__(self, spec: SubscriptionSpec, *, retry_topic: str, bound: int) -> None:
        super().__init__(spec, bound=bound)
        self._retry_topic = retry_topic
        self._timers: dict[asyncio.Task[None], DelayedRetry] = {}

    def _on_lost(self) -> None:
        super()._on_lost()
        for task in list(self._timers):
            task.cancel()

    # -- settling --------------------------------------------------------------

    def _take(self, msg: InboundMessage) -> Link:
        link = self._check()
        if msg.native not in self._held:
            raise BrokerError(
                f"message {msg.id} is not held by this subscription (already settled, "
                "or its connection was lost)"
            )
        return link

    def _puback(self, link: Link, msg: InboundMessage) -> None:
        self._held.discard(msg.native)
        link.client.ack(msg.native, 1)

    async def ack(self, msg: InboundMessage) -> None:
        self._puback(self._take(msg), msg)

    async def _republish(self, msg: InboundMessage) -> None:
        link = self._take(msg)
        headers = next_attempt_headers(msg.headers, msg.delivery_count)
        await link.publish(self._retry_topic, msg.body, user_props(headers, msg.key))
        self._puback(self._take(msg), msg)

    async def requeue(self, msg: InboundMessage) -> None:
        await self._republish(msg)

    async def retry(self, msg: InboundMessage, after: float) -> None:
        self._take(msg)
        if after <= 0:
            await self._republish(msg)
            return
        task = asyncio.get_running_loop().create_task(self._retry_later(msg, after))
        self._timers[task] = DelayedRetry(msg, time.time() + after)
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
        rc = await link.publish(target, msg.body, user_props(headers, msg.key))
        if rc == NO_MATCHING_SUBSCRIBERS:
            log.warning(
                "consumer %s: dead letter %s published to %s, which no session "
                "subscribes to: it is not kept",
                self._spec.consumer,
                msg.id,
                target,
            )
        self._puback(self._take(msg), msg)

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
            release_id(link.client_id)
            if link.taken_over:
                taken.add(link.client_id)
            link.on_lost = None
            await link.close()
        self._buffer.clear()
        self._held.clear()

    async def _park(self, link: Link, delayed: list[DelayedRetry]) -> None:
        async def one(msg: InboundMessage, due: float) -> None:
            headers = next_attempt_headers(msg.headers, msg.delivery_count)
            headers[DUE_HEADER] = due_header(due, 0.0)
            props = user_props(headers, msg.key)
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
