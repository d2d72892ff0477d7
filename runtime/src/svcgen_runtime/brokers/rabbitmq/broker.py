"""The adapter itself: ``RabbitMQBroker``, publishing to a queue through the default
exchange, and subscribing (queues declared, then a consuming channel)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ...errors import ConfigurationError
from ..base import SubscriptionSpec
from .connection import RabbitMQConnection, close_quietly
from .consume import RabbitMQSubscription
from .messages import amqp_message, publish_confirmed

OPTIONS: Final = frozenset({"queue_type", "delivery_limit", "quorum"})
"""The subscription options this adapter reads (others are ignored)."""


def queue_arguments(spec: SubscriptionSpec) -> tuple[bool, dict[str, dict[str, Any]]]:
    """Whether the subscription's queues are quorum queues, and the arguments beyond
    ``x-queue-type`` of each (the source's delivery limit, dead-lettering to
    ``spec.dead_letter``)."""
    opts = spec.options
    queue_type = opts.get("queue_type") or (
        "quorum" if opts.get("quorum") else "classic"
    )
    if queue_type not in ("classic", "quorum"):
        raise ConfigurationError(
            f"consumer {spec.consumer!r}: queue_type must be 'classic' or 'quorum', "
            f"got {queue_type!r}"
        )
    limit = opts.get("delivery_limit")
    if limit is None:
        return queue_type == "quorum", {}
    if (
        queue_type != "quorum"
        or isinstance(limit, bool)
        or not isinstance(limit, int)
        or limit < 1
    ):
        raise ConfigurationError(
            f"consumer {spec.consumer!r}: delivery_limit takes a whole number >= 1 "
            f"on a quorum queue, got {limit!r} on a {queue_type} one; set "
            "queue_type to 'quorum' or drop delivery_limit"
        )
    extra: dict[str, Any] = {"x-delivery-limit": limit}
    if spec.dead_letter is not None:
        # past the limit the server dead-letters the message instead of dropping it
        extra["x-dead-letter-exchange"] = ""
        extra["x-dead-letter-routing-key"] = spec.dead_letter
    return True, {spec.source: extra}


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
        quorum, queue_args = queue_arguments(spec)
        channel = await self.open_channel(prefetch=spec.concurrency)
        try:
            await self.declare(
                channel, spec.source, quorum, queue_args.get(spec.source)
            )
            if spec.dead_letter is not None:
                await self.declare(channel, spec.dead_letter, quorum)
            sub = RabbitMQSubscription(
                self, spec, channel, quorum=quorum, queue_args=queue_args
            )
            await sub.start()
        except BaseException:
            await close_quietly(channel)
            raise
        return sub
