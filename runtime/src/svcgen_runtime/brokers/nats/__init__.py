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
explicit acks, ``ack_wait = spec.ack_wait`` and no ``max_deliver`` unless the
``max_deliver`` option sets one (the runtime's retry policy decides).

Flow. The subscription keeps pull requests outstanding for as many messages as the
loop has free permits (``fetch(n)`` tops the outstanding credit up to ``n``), so the
next batch is already on its way while handlers run, and deliveries land in a local
buffer that never exceeds the free permits (in flight + buffered + requested <=
``concurrency``). That credit is the prefetch bound. A request waits on the server
for 24-30 s (drawn at random) and is asked again only when permits are free, not
every fetch: nats-server before 2.10.14 (#5305) drops a redelivery that comes due the
instant the only waiting request expires and delivers the newest message again, and
one-second renewals kept meeting one-second retry delays there. Each request asks
for the server's idle heartbeat every 2 s; two missed while requests are outstanding
make the subscription look the consumer up: gone (a request that reaches the server
just after the consumer was deleted is never answered, not even with a 409), the
subscription breaks and the loop declares it again; still there, it asks again.
``max_ack_pending`` is
left unlimited on purpose: a delivery nak'ed with a delay (``Retry(after)``, a task not due
yet) stays ack-pending on the server until it is redelivered, so a cap of
``concurrency`` would stall the whole consumer behind a single delayed retry (and the
cap is shared by every replica of the group). Set the ``max_ack_pending`` option to
have the server enforce a ceiling anyway.

``publish`` stores a key in the ``x-svcgen-key`` header (NATS has no message key).

Consumer options (``Consumer(options=...)``): ``ack_wait`` (seconds; replaces
``spec.ack_wait``), ``max_deliver`` (default -1, unlimited), ``replicas`` and
``storage`` (of the streams it creates; default the broker's), ``stream`` (stream for
``source``, created if missing), ``dead_letter_stream``, ``max_ack_pending`` (a
server-side ceiling on unacked deliveries of the group, delayed ones included),
``deliver_policy`` (``all`` or ``new``, for a new durable), ``double_ack`` (wait for
the server to confirm every ack: one round trip per message, fewer redeliveries after
a crash).

Modules: ``failures`` (nats-py's exceptions as the runtime's), ``names`` (stream
names, subject matching), ``connection`` (connection, publish, streams),
``subscription`` (``NatsSubscription``), ``broker`` (``NatsBroker``).
"""

from __future__ import annotations

from ...errors import require

require("nats", "nats")

from ...message import KEY_HEADER  # noqa: E402
from .broker import OPTIONS, NatsBroker  # noqa: E402
from .names import lost_create_race, name_for, subject_matches  # noqa: E402
from .subscription import NatsSubscription  # noqa: E402

__all__ = [
    "KEY_HEADER",
    "OPTIONS",
    "NatsBroker",
    "NatsSubscription",
    "lost_create_race",
    "name_for",
    "subject_matches",
]
