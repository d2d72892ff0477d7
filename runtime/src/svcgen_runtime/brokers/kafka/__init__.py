"""Kafka adapter (aiokafka): consumer groups with contiguous manual commits and a retry topic.

| outcome          | Kafka                                                                 |
|------------------|-----------------------------------------------------------------------|
| Ack              | mark the offset done; commit the highest contiguous done offset + 1   |
|                  | per partition (after ``COMMIT_BATCH`` done or ``commit_interval`` s,  |
|                  | whichever first, one commit in flight; on revoke, on close)           |
| Nack requeue     | produce to ``<source>.retry`` with attempt+1 (acked), then mark done  |
| Nack no requeue  | produce to the dead-letter topic (acked, ``acks=all``), then mark done|
| Retry(after)     | produce to ``<source>.retry`` with attempt+1 and ``x-svcgen-due``;    |
|                  | a not-yet-due record pauses its retry partition until due             |
| delivery_count   | the ``x-svcgen-attempt`` header, else 1 (Kafka does not count reads)  |
| release          | the offset stays undone (the commit point stays below it); after a    |
|                  | failed settle the delivery is kept and handed out by a later fetch,   |
|                  | while stopping the group re-reads it after the rebalance or restart   |
| crash mid-handler| nothing past an unfinished offset is committed: the group re-reads it |
| reconnect        | aiokafka reconnects by itself (a cut connection costs a retry); after |
|                  | a session without a group coordinator ``fetch`` raises, the loop      |
|                  | re-subscribes, and uncommitted offsets are read again                 |
| rebalance        | revoked partitions commit what is done first; the source group and   |
|                  | the retry group rebalance independently                               |

One subscription is two aiokafka consumers, both with ``enable_auto_commit=False``:
one in group ``spec.group`` reads the source, one in group ``spec.group + retry_suffix``
(``<group>.retry``) reads the retry topic, and each partition's offsets are committed
through the consumer, and so the group, that reads it. Two consumers because aiokafka
keeps one fetch in flight per broker and consumer: with one consumer for both topics,
the long poll of the mostly empty retry topic, sent while the source's records were
still buffered, held up the source's next fetch (measured: about half the throughput
at ``fetch_max_wait_ms=500``). Two groups rather than one so that a retry consumer
joining or leaving never stops the source consumers of the group, and the reverse.

Handlers finish out of order, so each partition keeps the offsets it handed out in
order and commits only up to the first one not yet done: a crash never skips an
unfinished message, at the price of redelivering finished ones behind it
(at-least-once). ``release`` leaves a delivery undone, so the commit point stays below
it. While stopping, it is read again after the next rebalance or restart of the group
member. After a failed settle (``stopping=False``) the subscription keeps the delivery
and the next ``fetch`` hands it out again before anything new (the consume loop backs
off first); it is not sought back to, since a seek would also re-read, and with a
bounded fetch keep re-reading, the records behind it. A revoked partition's kept
deliveries are dropped (the group re-reads them). ``fetch(n)`` first takes what the two
consumers have already buffered (retry topic first, ``getmany(max_records=...)``, at
most ``n`` in all), and otherwise waits on both at once and takes from whichever
answers. The source's records are taken from aiokafka all at once and held by the
subscription (``prefetch``): aiokafka fetches a partition again only once its buffer
for it is empty, so handing them out of aiokafka one ``fetch(1)`` at a time made every
fetch wait for the whole batch to be handled (``benchmarks/latency.py`` at the 500 ms
default: runtime p99 +12.5 ms over a raw loop before, +2.8 ms after). Records taken but
not handed out go back to that hold (the source's) or are given back by a seek (the
retry topic's). What is prefetched is bounded in bytes by ``max_partition_fetch_bytes``
per partition, twice: the records held and aiokafka's next fetch.

Retry records wait in the retry topic: a record not yet due is not handed out; its
partition is paused and rewound to it, and resumed by a timer at the due time. The
retry topic is first in, first out per partition, so a long delay holds back shorter
ones queued behind it in the same partition.

Options (``KafkaBroker`` keywords, overridable per consumer in ``options``):
``session_timeout_ms`` (10000), ``heartbeat_interval_ms`` (a third of it),
``max_poll_interval_ms`` (300000), ``commit_interval`` seconds (0.5),
``auto_offset_reset`` (``earliest``), ``max_partition_fetch_bytes`` (16 KiB per unit
of concurrency, 64 KiB to 1 MiB), ``fetch_max_wait_ms`` (500, aiokafka's default; the
retry consumer always uses ``RETRY_FETCH_MAX_WAIT_MS``, 500: a resumed retry partition
waits for the poll in flight, so a due retry is read at most that late, and a shorter
empty poll of the retry topic costs the source's latency), ``partitions`` and
``replication_factor`` (1 and 1) of the topics it creates: the source, the retry topic
and the dead-letter topic (a source or retry topic that exists with fewer partitions
than asked for makes
``subscribe`` raise ``ConfigurationError`` naming the fix; topics are never altered);
as the broker's keywords, also of topics a publish creates; ``membership``
(``dynamic``; ``static`` joins both groups under an instance id the replica keeps
across restarts, see ``membership``). Broker-only:
``client_id``, ``retry_suffix`` (``.retry``, also the retry group's suffix),
``request_timeout_ms`` (40000).

Upgrading from the one-consumer layout: retry-topic offsets committed under
``spec.group`` are not read by ``<group>.retry``, which starts at ``auto_offset_reset``
(at-least-once: finished retries may run once more).

The package: ``broker`` (``KafkaBroker``, ``subscribe``), ``clients`` (the aiokafka
clients' lifecycle), ``publish`` (producing, topic creation), ``subscription``
(fetching and settling), ``membership`` (static members' instance ids and their
leave), ``tracker`` (offsets handed out and done, the commit point,
released deliveries) and ``commits`` (when and through which consumer they commit).
"""

from __future__ import annotations

from ...errors import require

require("aiokafka", "kafka")

from .broker import OPTIONS, RETRY_FETCH_MAX_WAIT_MS, KafkaBroker  # noqa: E402
from .clients import ABANDONED_STOP_TIMEOUT  # noqa: E402
from .commits import CLOSE_COMMIT_TIMEOUT  # noqa: E402
from .publish import TOPIC_ALREADY_EXISTS  # noqa: E402
from .subscription import KafkaSubscription  # noqa: E402
from .tracker import COMMIT_BATCH  # noqa: E402

__all__ = [
    "ABANDONED_STOP_TIMEOUT",
    "CLOSE_COMMIT_TIMEOUT",
    "COMMIT_BATCH",
    "OPTIONS",
    "RETRY_FETCH_MAX_WAIT_MS",
    "TOPIC_ALREADY_EXISTS",
    "KafkaBroker",
    "KafkaSubscription",
]
