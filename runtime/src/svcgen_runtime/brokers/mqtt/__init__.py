"""MQTT adapter: QoS 1 consumers on persistent MQTT 5 sessions, PUBACK after the handler.

| outcome          | MQTT 5, QoS 1 (paho-mqtt 2, ``manual_ack=True``)                          |
|------------------|---------------------------------------------------------------------------|
| Ack              | PUBACK (``client.ack(mid, 1)``) once the handler finished                  |
| Nack requeue     | publish a copy with ``x-svcgen-attempt`` + 1 to the group's retry topic,   |
|                  | wait for the server's PUBACK of the copy, then PUBACK the original         |
| Nack no requeue  | publish to ``dead_letter``, wait for its PUBACK, then PUBACK the original  |
| Retry(after)     | in-process timer; when due, republish as for requeue, then PUBACK. Not     |
|                  | durable: a crash of the consumer redelivers the original early; a         |
|                  | graceful close republishes it at once with its due time (``x-svcgen-due``) |
| delivery_count   | ``x-svcgen-attempt`` user property (1 when absent); DUP gives no count     |
| release          | no PUBACK. Stopping: the persistent session redelivers it on the next      |
|                  | connection. After a failed settle: put back in the adapter's buffer and    |
|                  | handed out by a later fetch, still un-PUBACKed (a crash: the session      |
|                  | redelivers it)                                                            |
| crash mid-handler| nothing PUBACKed: redelivered when the same client id reconnects           |
| reconnect        | a lost connection fails ``fetch``; the loop subscribes again on a new      |
|                  | connection that resumes the session (``clean_start=False``)                |

Sessions and replicas. Each subscription is one MQTT 5 connection with
``clean_start=False`` and a Session Expiry Interval, so the server keeps its
subscriptions and unacknowledged/queued QoS 1 messages while it is away. The client id
is stable: ``svcgen/<group>/<source>/<host>/<n>``, ``<host>`` the replica's name
(``SVCGEN_REPLICA_NAME``, else the host name) and ``n`` the lowest number no live
process on this host holds (a ``flock`` in the temp dir, dropped by the kernel when
the process dies), so a restarted process resumes the session of its predecessor and
two live processes never share an id.
With ``shared`` (the default) it subscribes ``$share/<group>/<source>``: replicas, which
must have distinct client ids (different hosts, or an explicit ``client_id``), compete
for messages. A client whose session is taken over by another connection with the same
id (DISCONNECT reason 0x8E; Mosquitto 2.0.11 closes the connection without saying
why) moves to the next ``n`` when it subscribes again. Where host
names change on every start (a Kubernetes Deployment), set ``SVCGEN_REPLICA_NAME`` or
``client_id`` from something stable (a StatefulSet ordinal): a new name means a new session, and the old one keeps
its messages until it expires. MQTT 5 is required (user properties, Session Expiry,
shared subscriptions).

Options (``Consumer(options=...)``): ``shared`` (bool, default true), ``client_id``
(exact id of the session), ``session_expiry`` (seconds, default 7 days),
``receive_maximum`` (default ``concurrency``), ``buffer`` (messages held in process
before reading pauses, default ``max(2 * receive_maximum, 16)``), ``retry_topic``
(default ``svcgen/retry/<group>/<source>``, a wildcard spelled ``%2B`` / ``%23``), ``declare_dead_letter`` (bool, default
true: keep every dead letter in the persistent session
``svcgen-dlq/<group>/<dead_letter>``, a plain subscription, the same for every replica;
read them with ``options={"client_id": broker.dead_letter_client_id(group, topic),
"shared": False}``. A reader connected with that id is disconnected for a moment
whenever a process of the group starts and declares it again).

Flow control. The Receive Maximum sent in CONNECT is ``receive_maximum``; Mosquitto
honours it for the first window but (seen with 2.0.11) sends its whole queue after the
first PUBACKs, so the adapter also bounds its own buffer and stops reading the socket
when ``buffer`` messages wait (TCP back-pressure), resuming at half. Server defaults
that matter: Mosquitto keeps 20 unacknowledged QoS 1 messages in flight per client
(``max_inflight_messages``, for clients that send no Receive Maximum) and drops QoS 1
messages once 1,000 are queued for one session (``max_queued_messages``), online or
offline; raise it for consumers that fall behind. PUBACKs are sent in completion order,
not receipt order (MQTT 5 §4.6 asks for receipt order; Mosquitto accepts either, and
waiting for a slow head message would stall every other handler).

What MQTT cannot do durably:

* No durable delay: ``Retry(after)`` waits in this process while the original stays
  un-PUBACKed; a crash redelivers the original before ``after`` elapsed (with its old
  attempt count) when the session reconnects. (A graceful close parks waiting
  retries as copies carrying their due time, which the next consumer defers.) A
  waiting retry also holds one Receive Maximum slot until it is republished.
* A dead-letter "queue" is just a topic: a dead letter is kept only by sessions
  subscribed to it (the adapter declares one, see ``declare_dead_letter``) or as the
  topic's one retained message. Messages published to a topic nobody subscribes to
  are gone.
* The server bounds every session's queue (``max_queued_messages``) and drops the
  excess; a session expires after ``session_expiry`` with everything in it.
* Mosquitto hands shared-subscription messages round-robin to *offline* sessions of
  the group too: a replica that never comes back (new host name, scaled down) holds
  its share until its session expires, then it is lost. Give replicas stable ids.
* Mosquitto (2.0.11, measured) does not restore the *shared* subscriptions of offline
  sessions from its persistence file: after a server restart, messages published
  before the consumer reconnects are not kept for a ``$share`` session (in-flight
  ones are; plain subscriptions keep everything). A single-replica consumer that
  must not lose them sets ``shared: false``.
* A session only outlives a server restart with ``persistence true``; Mosquitto
  writes it on shutdown and every ``autosave_interval`` (a crash loses the rest).
* Delivery counts exist only as the attempt user property (MQTT 5); MQTT 3.1.1 has no
  user properties, and the DUP flag only says "maybe seen before", without a count.

Client library and event loop. paho-mqtt 2 is used because it can withhold PUBACK
until the application calls ``client.ack`` (``manual_ack=True``, see paho's
``_handle_publish``: no PUBACK is sent for QoS 1 when it is set); aiomqtt acknowledges
QoS 1 on receipt. Two things paho does not do are added here: reading more than one
packet per readable event, and joining the queued PUBACKs of one loop turn into one
``send`` (through paho's private output queue, skipped if its shape ever changes).
paho keeps at most 20 own publishes in flight and ignores the server's Receive
Maximum (Mosquitto's is 20). paho runs inside the asyncio loop through its socket callbacks
(``on_socket_open``/``on_socket_register_write`` → ``loop.add_reader``/``add_writer``,
``loop_misc`` once a second for keepalive), not in its own thread: one thread means no
locks, no hop per message, and no GIL contention with the handlers, and a lost
connection surfaces as a callback in the loop. Only the blocking TCP connect runs in
an executor thread. A connection is never reconnected in place: packet ids belong to
one connection, so a PUBACK for a delivery of a dead connection is never sent on a new
one (the session redelivers that message instead).

The package: ``broker`` (``MqttBroker``, ``subscribe``), ``link`` (the paho client in
the asyncio loop, flow and PUBACK control), ``deliveries`` (user properties, the
buffer, fetch and release), ``subscription`` (settling, delayed retries, close),
``client_ids`` (host-wide client-id claims, sessions) and ``topics`` (retry topic,
subscription filter and dead-letter session names).
"""

from __future__ import annotations

from ...errors import require

require("paho", "mqtt")

from .broker import OPTIONS, SESSION_EXPIRY, MqttBroker  # noqa: E402
from .client_ids import clear_session, sessions  # noqa: E402
from .deliveries import ID_PROPERTY, KEY_PROPERTY  # noqa: E402
from .link import KEEPALIVE, PUBACK_COMMAND, READ_BATCH, SESSION_TAKEN_OVER  # noqa: E402
from .subscription import (  # noqa: E402
    NO_MATCHING_SUBSCRIBERS,
    PARK_TIMEOUT,
    MqttSubscription,
)

__all__ = [
    "ID_PROPERTY",
    "KEEPALIVE",
    "KEY_PROPERTY",
    "NO_MATCHING_SUBSCRIBERS",
    "OPTIONS",
    "PARK_TIMEOUT",
    "PUBACK_COMMAND",
    "READ_BATCH",
    "SESSION_EXPIRY",
    "SESSION_TAKEN_OVER",
    "MqttBroker",
    "MqttSubscription",
    "clear_session",
    "sessions",
]
