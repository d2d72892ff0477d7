"""OpenTelemetry: a send's context travels in the headers to the handler's span, each
delivery's span says how it ended, and nothing is traced unless a provider is set."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from svcgen_runtime import (
    Application,
    Consumer,
    InboundMessage,
    MemoryBroker,
    Outcome,
    Publisher,
    RetryPolicy,
    tracing,
)
from svcgen_runtime.message import DUE_HEADER
from svcgen_runtime.tasks import Task
from svcgen_runtime.testing import run_service
from tests.support import until


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_provider(None)


def _by_name(exporter: InMemorySpanExporter) -> dict[str, list[ReadableSpan]]:
    found: dict[str, list[ReadableSpan]] = {}
    for span in exporter.get_finished_spans():
        found.setdefault(span.name, []).append(span)
    return found


def _service(
    handler: object, broker: MemoryBroker
) -> tuple[Application, Consumer[bytes], Publisher[bytes]]:
    consumer: Consumer[bytes] = Consumer(
        name="orders",
        broker=broker,
        source="orders.created",
        group="billing",
        handler=handler,  # type: ignore[arg-type]
        retry=RetryPolicy(max_attempts=2, initial=0.01, jitter=False),
    )
    publisher: Publisher[bytes] = Publisher(
        name="created", broker=broker, target="orders.created"
    )
    app = Application(
        name="shop", brokers=[broker], consumers=[consumer], handle_signals=False
    )
    return app, consumer, publisher


async def test_the_handler_span_continues_the_senders_trace(
    spans: InMemorySpanExporter,
) -> None:
    inside: list[trace.SpanContext] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        inside.append(trace.get_current_span().get_span_context())
        return None

    broker = MemoryBroker("events")
    app, consumer, publisher = _service(handle, broker)
    async with run_service(app):
        tracer = trace.get_tracer("test", tracer_provider=tracing._provider)
        with tracer.start_as_current_span("http request") as request:
            await publisher.publish(b"order-1")
        await until(lambda: consumer.stats.acked == 1, what="the ack")
    found = _by_name(spans)
    (send,) = found["send orders.created"]
    (process,) = found["process orders.created"]
    trace_id = request.get_span_context().trace_id
    assert send.context.trace_id == process.context.trace_id == trace_id
    assert (
        send.parent is not None
        and send.parent.span_id == request.get_span_context().span_id
    )
    assert process.parent is not None and process.parent.span_id == send.context.span_id
    assert send.kind is trace.SpanKind.PRODUCER
    assert process.kind is trace.SpanKind.CONSUMER
    assert inside == [process.context]  # current while the handler ran
    attributes = dict(process.attributes or {})
    assert attributes["messaging.system"] == "memory"
    assert attributes["messaging.destination.name"] == "orders.created"
    assert attributes["messaging.consumer.group.name"] == "billing"
    assert attributes["svcgen.consumer"] == "orders"
    assert attributes["svcgen.delivery_count"] == 1
    assert attributes["svcgen.outcome"] == "ack"


async def test_a_failing_handler_leaves_error_spans_and_the_outcomes(
    spans: InMemorySpanExporter,
) -> None:
    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        raise ValueError("no such order")

    broker = MemoryBroker("events")
    app, consumer, publisher = _service(handle, broker)
    async with run_service(app):
        await publisher.publish(b"order-2")
        await until(lambda: consumer.stats.dead_lettered == 1, what="the dead letter")
    runs = sorted(
        _by_name(spans)["process orders.created"],
        key=lambda s: int(str(dict(s.attributes or {})["svcgen.delivery_count"])),
    )
    assert [dict(s.attributes or {})["svcgen.outcome"] for s in runs] == [
        "retry",
        "dead_letter",
    ]
    for span in runs:
        assert span.status.status_code is trace.StatusCode.ERROR
        (event,) = [e for e in span.events if e.name == "exception"]
        assert dict(event.attributes or {})["exception.type"] == "ValueError"
    # the redelivery belongs to the same trace as the first delivery
    assert runs[0].context.trace_id == runs[1].context.trace_id


async def test_nothing_is_traced_without_a_provider() -> None:
    assert tracing.tracer() is None  # the global provider is the API's no-op proxy
    seen: list[bool] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        seen.append(trace.get_current_span().is_recording())
        assert "traceparent" not in msg.headers
        return None

    broker = MemoryBroker("events")
    app, consumer, publisher = _service(handle, broker)
    async with run_service(app):
        await publisher.publish(b"order-3")
        await until(lambda: consumer.stats.acked == 1, what="the ack")
    assert seen == [False]


async def test_a_task_enqueue_is_a_send_span_whose_context_travels(
    spans: InMemorySpanExporter,
) -> None:
    broker = MemoryBroker("jobs")
    await broker.connect()
    try:
        task: Task[bytes] = Task(name="report", broker=broker, encode=bytes)
        await task.enqueue(b"args")
        (sent,) = _by_name(spans)[f"send {task.queue}"]
        (batch,) = broker.messages(task.queue)
    finally:
        await broker.close()
    assert sent.kind is trace.SpanKind.PRODUCER
    assert f"{sent.context.trace_id:032x}" in batch.headers["traceparent"]


def test_without_opentelemetry_the_failed_import_is_not_repeated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracing, "_api", None)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # import fails
    assert tracing.tracer() is None
    assert tracing._api is False
    monkeypatch.delitem(sys.modules, "opentelemetry")
    assert tracing.tracer() is None  # remembered: no second attempt


async def test_a_delivery_waiting_for_its_due_time_has_no_span(
    spans: InMemorySpanExporter,
) -> None:
    ran: list[float] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        ran.append(time.time())
        return None

    broker = MemoryBroker("events")
    app, consumer, _ = _service(handle, broker)
    async with run_service(app):
        due = time.time() + 0.3
        await broker.publish(
            "orders.created", b"later", headers={DUE_HEADER: f"{due:.3f}"}
        )
        await until(lambda: consumer.stats.acked == 1, what="the ack")
        assert consumer.stats.deferred >= 1  # it did come early, and went back
    assert ran and ran[0] >= due - 0.01
    assert len(_by_name(spans)["process orders.created"]) == 1  # the run, only
