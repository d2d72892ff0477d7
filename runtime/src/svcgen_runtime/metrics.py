"""Prometheus metrics of an Application, served at ``/metrics`` by its HTTP server or
health listener.

Every consumer (task workers included) is counted from its ``ConsumerStats``, so
the numbers are the ones the shutdown summary and tests read, and the hot path
pays for a clock read and a bisect per message, nothing more. The text is
Prometheus' exposition format 0.0.4, written here without a dependency; when
``prometheus_client`` is installed (the ``prometheus`` extra), its default
registry follows, with the process metrics and whatever the service registers
there itself.

Labels: ``service``, ``consumer``, ``broker`` (the connection's name in the spec).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any, Final, NamedTuple

from .consumer import HANDLER_BUCKETS, Consumer, ConsumerStats
from .effects import Effects, OutboxRelay
from .types import Exposition as Exposition  # its import path before types held it
from .types import Service


class Settled(NamedTuple):
    """One outcome label of ``svcgen_consumer_outcomes_total`` and its counter."""

    outcome: str
    count: Callable[[ConsumerStats], int]


class PerConsumer(NamedTuple):
    """A metric with one sample per consumer."""

    name: str
    kind: str
    help: str
    value: Callable[[Consumer[Any]], int]


OUTCOMES: Final[Sequence[Settled]] = (
    Settled("ack", lambda s: s.acked),
    Settled("nack", lambda s: s.requeued),
    Settled("retry", lambda s: s.retried),
    Settled("dead_letter", lambda s: s.dead_lettered),
    Settled("released", lambda s: s.released),
)
"""How deliveries were settled: the outcome vocabulary, plus ``released`` (given
back unsettled when a forced shutdown cancelled the handler)."""


PER_CONSUMER: Final[Sequence[PerConsumer]] = (
    PerConsumer("svcgen_consumer_received_total", "counter",
     "Messages a consumer fetched from its broker.", lambda c: c.stats.received),
    PerConsumer("svcgen_consumer_handler_errors_total", "counter",
     "Handler runs that raised (retried or dead-lettered per the retry policy).",
     lambda c: c.stats.errors),
    PerConsumer("svcgen_consumer_handler_timeouts_total", "counter",
     "Handler runs cancelled at the consumer's timeout.", lambda c: c.stats.timeouts),
    PerConsumer("svcgen_consumer_settle_failures_total", "counter",
     "Deliveries whose ack, retry republish or dead-letter publish failed; each was "
     "given back for redelivery and delayed the next fetch.",
     lambda c: c.stats.settle_failures),
    PerConsumer("svcgen_consumer_in_flight", "gauge",
     "Handlers running now.", lambda c: c.stats.in_flight),
    PerConsumer("svcgen_consumer_concurrency", "gauge",
     "The most handlers a consumer runs at once.", lambda c: c.concurrency),
)  # fmt: skip
"""The metrics with one sample per consumer."""


async def exposition(app: Service) -> bytes:
    """``app``'s metrics in the text format, then prometheus_client's if present."""
    consumers = [c for c in app.consumers if isinstance(c, Consumer)]
    lags = await asyncio.gather(*(c.lag() for c in consumers))
    text = "".join(_lines(app, dict(zip(consumers, lags, strict=True)))).encode()
    client = _prometheus_client()
    if client is None:
        return text
    registry: bytes = client.generate_latest(client.REGISTRY)
    return text + registry


@functools.cache
def _prometheus_client() -> ModuleType | None:
    """The prometheus_client module, or None: looked for once (a failed import
    searches sys.path again each time, and a scrape comes every few seconds)."""
    try:
        import prometheus_client
    except ImportError:
        return None
    return prometheus_client


def _lines(app: Service, lags: dict[Consumer[Any], int | None]) -> Iterable[str]:
    consumers = [(c, _labels(app.name, c)) for c in lags]
    yield from _family(
        "svcgen_ready", "gauge", "1 when the service is ready (as /readyz says).",
        [(_labels(app.name), int(app.ready))],
    )  # fmt: skip
    for metric in PER_CONSUMER:
        samples = [(labels, metric.value(c)) for c, labels in consumers]
        yield from _family(metric.name, metric.kind, metric.help, samples)
    yield from _family(
        "svcgen_consumer_outcomes_total", "counter",
        "Deliveries settled, by outcome (ack, nack, retry, dead_letter, released).",
        [
            (f'{labels},outcome="{outcome}"', count(c.stats))
            for c, labels in consumers
            for outcome, count in OUTCOMES
        ],
    )  # fmt: skip
    yield from _family(
        "svcgen_consumer_lag", "gauge",
        "Messages waiting in the broker for a consumer, where the broker tells "
        "(Kafka: past the group's commit point; others: not yet delivered).",
        [(labels, lag) for c, labels in consumers if (lag := lags[c]) is not None],
    )  # fmt: skip
    yield from _effects(app)
    yield "# HELP svcgen_consumer_handler_seconds Handler run time.\n"
    yield "# TYPE svcgen_consumer_handler_seconds histogram\n"
    for c, labels in consumers:
        yield from _histogram("svcgen_consumer_handler_seconds", labels, c.stats)


def _effects(app: Service) -> Iterable[str]:
    """The dedupe and outbox counters, when the service has ``Effects`` (a resource)
    or an ``OutboxRelay`` (a component); nothing otherwise."""
    service = _labels(app.name)
    effects = [r for r in getattr(app, "resources", ()) if isinstance(r, Effects)]
    relays = [c for c in getattr(app, "components", ()) if isinstance(c, OutboxRelay)]
    skipped = [
        (f'{service},consumer="{_escaped(name)}"', count)
        for e in effects
        for name, count in sorted(e.skipped.items())
    ]
    if skipped:
        yield from _family(
            "svcgen_dedupe_skipped_total", "counter",
            "Deliveries a dedupe consumer acked without running its handler: their "
            "key was already recorded (a duplicate).",
            skipped,
        )  # fmt: skip
    if not relays:
        return
    yield from _family(
        "svcgen_outbox_published_total", "counter",
        "Outbox rows this replica's relay published (broker-confirmed) and marked sent.",
        [
            (f'{service},publisher="{_escaped(name)}"', count)
            for r in relays
            for name, count in sorted(r.published.items())
        ],
    )  # fmt: skip
    yield from _family(
        "svcgen_outbox_pending", "gauge",
        "Outbox rows of the service not yet sent, as this replica's relay last counted "
        "them (the sending replica counts at least every poll interval).",
        [(service, r.pending) for r in relays if r.pending is not None],
    )  # fmt: skip


def _family(
    name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]
) -> Iterable[str]:
    yield f"# HELP {name} {help_text}\n"
    yield f"# TYPE {name} {kind}\n"
    for labels, value in samples:
        yield f"{name}{{{labels}}} {_number(value)}\n"


def _histogram(name: str, labels: str, stats: ConsumerStats) -> Iterable[str]:
    running = 0
    for bound, count in zip(HANDLER_BUCKETS, stats.handler_buckets, strict=False):
        running += count
        yield f'{name}_bucket{{{labels},le="{_number(bound)}"}} {running}\n'
    yield f'{name}_bucket{{{labels},le="+Inf"}} {stats.handled}\n'
    yield f"{name}_sum{{{labels}}} {_number(stats.handler_seconds)}\n"
    yield f"{name}_count{{{labels}}} {stats.handled}\n"


def _labels(service: str, consumer: Consumer[Any] | None = None) -> str:
    pairs = [("service", service)]
    if consumer is not None:
        pairs += [("consumer", consumer.name), ("broker", consumer.broker.name)]
    return ",".join(f'{key}="{_escaped(value)}"' for key, value in pairs)


def _escaped(value: str) -> str:
    """A label value as the format wants it: backslash, quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)
