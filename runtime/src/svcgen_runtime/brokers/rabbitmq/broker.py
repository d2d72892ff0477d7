"""The adapter itself: ``RabbitMQBroker``, publishing to a queue through the default
exchange, and subscribing (queues declared, then a consuming channel)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ..base import SubscriptionSpec
from .connection import RabbitMQConnection, close_quietly
from .consume import RabbitMQSubscription
from .messages import amqp_message, publish_confirmed

OPTIONS: Final = frozenset({"quorum"})
"""The subscription options this adapter reads (others are ignored)."""


class RabbitMQBroker(RabbitMQConnection):
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
        await publish_confirmed(
            channel,
            self.name,
            target,
            amqp_message(body, key=key, headers=headers),
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
            await close_quietly(channel)
            raise
        return sub
