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

Options (``Consumer(options=...)``): ``queue_type`` (``classic``, the default, or
``quorum``; the older ``quorum: bool`` means the same) declares the source and its
dead-letter queue with that ``x-queue-type``; ``delivery_limit`` (quorum only) adds
``x-delivery-limit`` to the source, dead-lettering to ``spec.dead_letter`` through the
default exchange once a message has come back that many times. On quorum queues
delivery_count adds the queue's ``x-delivery-count``. Measured on RabbitMQ 3.10.8: it
is 0 on the first delivery and counts every return (reject, nack, a closing channel).
Since RabbitMQ 4.3 (rabbitmq-server#15387) only failure returns count:
``basic.reject(requeue=True)`` does, ``basic.nack(requeue=True)`` does not. So requeue
uses ``basic.reject`` (a failure) and release uses ``basic.nack`` (the consumer is
stopping; not a failure).

Each subscription has its own channel with publisher confirms and
``basic.qos(prefetch_count=spec.concurrency)``; deliveries are pushed into a buffer
that ``fetch`` drains, so the prefetch bounds it. The ordering key travels in the
``x-svcgen-key`` header.

Not used: ``spec.ack_wait`` (RabbitMQ redelivers when the channel closes, not on a
timer). No ``x-delivery-limit`` unless asked for: the runtime's retry policy decides
(its retries go through delay queues and do not count), and the argument cannot change
on an existing queue (PRECONDITION_FAILED). The server's ``consumer_timeout`` (30 min
by default) closes a channel whose delivery stays unacknowledged longer; AMQP cannot
extend it, so ``heartbeat_interval`` is None and handler timeouts must stay below it.

Modules: ``messages`` (AMQP messages in and out, the confirmed publish),
``connection`` (connection, channels, queue and delay-bucket declarations),
``consume`` (``RabbitMQSubscription``), ``broker`` (``RabbitMQBroker``).
"""

from __future__ import annotations

from ...errors import require

require("aio_pika", "rabbitmq")

from .broker import OPTIONS, RabbitMQBroker  # noqa: E402
from .connection import CLOSE_TIMEOUT, DELAY_REDECLARE, delay_bucket_ms  # noqa: E402
from .consume import RabbitMQSubscription  # noqa: E402
from .messages import DELIVERY_COUNT_HEADER, UnroutableError  # noqa: E402

__all__ = [
    "CLOSE_TIMEOUT",
    "DELAY_REDECLARE",
    "DELIVERY_COUNT_HEADER",
    "OPTIONS",
    "RabbitMQBroker",
    "RabbitMQSubscription",
    "UnroutableError",
    "delay_bucket_ms",
]
