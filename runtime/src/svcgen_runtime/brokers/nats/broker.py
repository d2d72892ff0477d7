"""The adapter itself: ``NatsBroker``, subscribing a consumer (streams declared, the
durable pull consumer created or checked, then pulling)."""

from __future__ import annotations

from dataclasses import replace
from typing import Final

import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from ...errors import ConfigurationError
from ..base import SubscriptionSpec
from .connection import NatsConnection, replicas_option, storage_option
from .failures import translated
from .names import name_for
from .subscription import NatsSubscription

OPTIONS: Final = frozenset(
    {
        "stream",
        "dead_letter_stream",
        "max_ack_pending",
        "deliver_policy",
        "double_ack",
        "ack_wait",
        "max_deliver",
        "replicas",
        "storage",
    }
)


def _seconds(spec: SubscriptionSpec, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(
            f"consumer {spec.consumer!r}: ack_wait must be a positive number of "
            f"seconds, got {value!r}"
        )
    return float(value)


class NatsBroker(NatsConnection):
    """A connection to one NATS server (or cluster) with JetStream enabled.

    Args:
        name: the spec's broker name.
        url: ``nats://host:port``; several servers separated by commas.
        connect_timeout: seconds the first connection may take before ``connect`` fails.
        reconnect_wait: seconds between reconnection attempts (nats-py retries forever).
        request_timeout: seconds a JetStream API call or publish waits for its reply.
        storage: ``file`` or ``memory``, for streams this broker creates (a
            consumer's ``storage`` option overrides it for the streams it creates).
        max_age: seconds a stream this broker creates keeps messages (``None``: no limit).
        replicas: copies of each stream this broker creates (1 to 5; a consumer's
            ``replicas`` option overrides it).
    """

    kind = "nats"

    async def subscribe(self, spec: SubscriptionSpec) -> NatsSubscription:
        """Declare streams and the durable pull consumer, then start pulling."""
        spec.check_options(self.kind, OPTIONS)
        opts = spec.options
        if "ack_wait" in opts:  # the subscription's heartbeat reads spec.ack_wait
            spec = replace(spec, ack_wait=_seconds(spec, opts["ack_wait"]))
        max_deliver = opts.get("max_deliver", -1)
        if isinstance(max_deliver, bool) or not isinstance(max_deliver, int):
            raise ConfigurationError(
                f"consumer {spec.consumer!r}: max_deliver must be a whole number, "
                f"got {max_deliver!r}"
            )
        storage = storage_option(opts["storage"]) if "storage" in opts else None
        replicas = replicas_option(opts["replicas"]) if "replicas" in opts else None
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
            stream = await self._ensure_stream(
                js, spec.source, opts.get("stream"), storage=storage, replicas=replicas
            )
            if spec.dead_letter is not None:
                await self._ensure_stream(
                    js,
                    spec.dead_letter,
                    opts.get("dead_letter_stream"),
                    storage=storage,
                    replicas=replicas,
                )
            config = ConsumerConfig(
                durable_name=durable,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=spec.ack_wait,
                max_ack_pending=max_ack_pending,
                max_deliver=max_deliver,
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
