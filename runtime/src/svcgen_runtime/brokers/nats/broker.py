"""The adapter itself: ``NatsBroker``, subscribing a consumer (streams declared, the
durable pull consumer created or checked, then pulling)."""

from __future__ import annotations

from typing import Final

import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from ...errors import ConfigurationError
from ..base import SubscriptionSpec
from .connection import NatsConnection
from .failures import translated
from .names import name_for
from .subscription import NatsSubscription

OPTIONS: Final = frozenset(
    {"stream", "dead_letter_stream", "max_ack_pending", "deliver_policy", "double_ack"}
)


class NatsBroker(NatsConnection):
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

    async def subscribe(self, spec: SubscriptionSpec) -> NatsSubscription:
        """Declare streams and the durable pull consumer, then start pulling."""
        spec.check_options(self.kind, OPTIONS)
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
        with translated(f"subscribing {spec.consumer!r} to {spec.source!r}"):
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
