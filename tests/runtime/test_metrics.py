"""``/metrics``: every consumer's counters, in-flight gauge and handler-time histogram,
in Prometheus' text format, from the health listener and from the HTTP server."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from prometheus_client import REGISTRY, Counter
from prometheus_client.parser import text_string_to_metric_families

from svcgen_runtime import (
    Application,
    Consumer,
    HealthServer,
    InboundMessage,
    MemoryBroker,
    Nack,
    Outcome,
    Retry,
    RetryPolicy,
)
from svcgen_runtime.consumer import HANDLER_BUCKETS
from svcgen_runtime.http import HttpServer
from svcgen_runtime.metrics import _escaped
from svcgen_runtime.testing import run_service
from tests.support import until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def _handle(body: bytes, msg: InboundMessage) -> Outcome | None:
    if body == b"slow":
        await asyncio.sleep(0.03)
    if body == b"refuse":
        return Nack(requeue=False)
    if body == b"later" and msg.delivery_count == 1:
        return Retry(after=0.01)
    if body == b"boom":
        raise RuntimeError("boom")
    return None


def _app(http: HealthServer | HttpServer) -> tuple[Application, Consumer[bytes]]:
    broker = MemoryBroker("events")
    consumer: Consumer[bytes] = Consumer(
        name="orders",
        broker=broker,
        source="orders.created",
        handler=_handle,
        concurrency=4,
        retry=RetryPolicy(max_attempts=2, initial=0.01, jitter=False),
    )
    app = Application(
        name="shop",
        brokers=[broker],
        consumers=[consumer],
        http=http,
        handle_signals=False,
    )
    return app, consumer


@asynccontextmanager
async def _served(
    http: HealthServer | HttpServer,
) -> AsyncIterator[tuple[Application, Consumer[bytes]]]:
    app, consumer = _app(http)
    async with run_service(app) as svc:
        for body in [b"ok", b"ok", b"slow", b"refuse", b"later", b"boom"]:
            await svc.publish("events", "orders.created", body)
        # ok, ok, slow, later (after one retry) acked; refuse and boom dead-lettered
        await until(
            lambda: consumer.stats.acked == 4 and consumer.stats.dead_lettered == 2,
            what="every message settled",
        )
        yield app, consumer


async def _scrape(port: int) -> tuple[str, str]:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert answer.status_code == 200
    return answer.headers["content-type"], answer.text


def _samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    key = {"service": "shop", "consumer": "orders", "broker": "events", **labels}
    return samples[(name, frozenset(key.items()))]


@pytest.mark.parametrize("server", ["health listener", "http server"])
async def test_metrics_count_what_the_consumer_did(server: str) -> None:
    if server == "health listener":
        http: HealthServer | HttpServer = HealthServer(host="127.0.0.1", port=0)
    else:
        http = HttpServer(host="127.0.0.1", port=0)
    async with _served(http) as (_, consumer):
        kind, text = await _scrape(http.bound_port)
        stats = consumer.stats
    assert kind == "text/plain; version=0.0.4; charset=utf-8"
    samples = _samples(text)
    assert samples[("svcgen_ready", frozenset({("service", "shop")}))] == 1
    received = _value(samples, "svcgen_consumer_received_total")
    assert received == stats.received == 8  # 6 sent; later and boom came back once
    outcomes = "svcgen_consumer_outcomes_total"
    assert _value(samples, outcomes, outcome="ack") == 4
    assert _value(samples, outcomes, outcome="retry") == 2  # later, boom's first
    assert _value(samples, outcomes, outcome="dead_letter") == 2
    assert _value(samples, outcomes, outcome="nack") == 0
    assert _value(samples, "svcgen_consumer_handler_errors_total") == 2
    assert _value(samples, "svcgen_consumer_in_flight") == 0
    assert _value(samples, "svcgen_consumer_concurrency") == 4
    assert _value(samples, "svcgen_consumer_lag") == 0  # the memory broker tells

    hist = "svcgen_consumer_handler_seconds"
    count = _value(samples, f"{hist}_count")
    assert count == stats.handled == 8  # every delivery ran the handler once
    buckets = [_value(samples, f"{hist}_bucket", le=str(b)) for b in HANDLER_BUCKETS]
    assert buckets == sorted(buckets)  # cumulative
    assert _value(samples, f"{hist}_bucket", le="+Inf") == count
    # "slow" slept 30 ms: above the 25 ms bound, within 50 ms (unless the machine
    # stalled), so the 25 ms bucket holds at most the seven quick runs
    assert buckets[HANDLER_BUCKETS.index(0.025)] <= count - 1
    assert _value(samples, f"{hist}_sum") >= 0.03


async def test_readiness_and_in_flight_while_draining() -> None:
    release = asyncio.Event()

    async def hold(body: bytes, msg: InboundMessage) -> None:
        await release.wait()

    broker = MemoryBroker("events")
    consumer: Consumer[bytes] = Consumer(
        name="orders", broker=broker, source="orders.created", handler=hold
    )
    health = HealthServer(host="127.0.0.1", port=0)
    app = Application(
        name="shop", brokers=[broker], consumers=[consumer], http=health,
        handle_signals=False, drain_timeout=10,
    )  # fmt: skip
    async with run_service(app) as svc:
        await svc.publish("events", "orders.created", b"x")
        await until(lambda: consumer.stats.in_flight == 1, what="the handler")
        app.shutdown()
        await until(lambda: not app.ready, what="the drain")
        _, text = await _scrape(health.bound_port)
        release.set()
    samples = _samples(text)
    assert samples[("svcgen_ready", frozenset({("service", "shop")}))] == 0
    assert _value(samples, "svcgen_consumer_in_flight") == 1


async def test_the_prometheus_client_registry_follows() -> None:
    name = f"svcgen_test_{secrets.token_hex(4)}"
    mine = Counter(name, "A metric the service registers itself.")
    mine.inc(3)
    try:
        health = HealthServer(host="127.0.0.1", port=0)
        app, _ = _app(health)
        async with run_service(app):
            _, text = await _scrape(health.bound_port)
    finally:
        REGISTRY.unregister(mine)
    samples = _samples(text)
    assert samples[(f"{name}_total", frozenset())] == 3
    assert ("svcgen_consumer_received_total", frozenset()) not in samples


def test_label_values_are_escaped() -> None:
    assert _escaped('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
