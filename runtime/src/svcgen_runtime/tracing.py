"""OpenTelemetry spans for consumers, publishers and task enqueues; off unless set up.

With ``opentelemetry-api`` installed (the ``otel`` extra) and a tracer provider
configured by the service (``trace.set_tracer_provider(...)``, or the
``opentelemetry-instrument`` launcher), each delivery runs its handler inside a
CONSUMER span named ``process <source>`` and each send is a PRODUCER span named
``send <target>`` whose context travels in the message's headers (W3C
``traceparent``), so a handler's span continues the trace of the request that
sent its message, across any of the brokers. Attributes follow OpenTelemetry's
messaging conventions (``messaging.system``, ``messaging.destination.name``,
``messaging.consumer.group.name``, ``messaging.message.id``), plus
``svcgen.consumer``, ``svcgen.delivery_count`` and ``svcgen.outcome``.

Nothing is configured: nothing is traced, and the consume loop's only cost is
one ``is None`` test per message (the decision is taken when a consumer starts).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple

from .message import InboundMessage

if TYPE_CHECKING:  # the optional ``tracing`` extra
    from opentelemetry.trace import Span, Tracer, TracerProvider

_INSTRUMENTATION: Final = "svcgen_runtime"
_provider: TracerProvider | None = None
_api: ModuleType | Literal[False] | None = None
"""``opentelemetry.trace`` once imported, False when it is not installed."""


class _Cached(NamedTuple):
    """The provider last asked for and its tracer: a send asks every time."""

    provider: TracerProvider
    tracer: Tracer


_last: _Cached | None = None


def use_provider(provider: TracerProvider | None) -> None:
    """Trace with ``provider`` instead of the global one (None: the global again);
    for tests and for services that keep several providers."""
    global _provider
    _provider = provider


def tracer() -> Tracer | None:
    """A tracer when tracing is set up, else None (so callers skip all of it)."""
    global _last, _api
    if _api is None:
        try:
            from opentelemetry import trace
        except ImportError:
            _api = False  # a failed import searches sys.path again each time
            return None
        _api = trace
    if _api is False:
        return None
    trace = _api
    provider = _provider if _provider is not None else trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None  # no SDK configured: spans would be dropped anyway
    if _last is None or _last.provider is not provider:
        _last = _Cached(
            provider, trace.get_tracer(_INSTRUMENTATION, tracer_provider=provider)
        )
    return _last.tracer


@contextmanager
def processing(
    tracer: Tracer,
    msg: InboundMessage,
    *,
    system: str,
    consumer: str,
    group: str | None,
) -> Iterator[Span]:
    """The span of one delivery, current while the handler runs; a child of the
    context its headers carry."""
    from opentelemetry import propagate, trace

    parent = propagate.extract(msg.headers) if msg.headers else None
    attributes: dict[str, Any] = {
        "messaging.system": system,
        "messaging.operation.type": "process",
        "messaging.destination.name": msg.source,
        "messaging.message.id": msg.id,
        "svcgen.consumer": consumer,
        "svcgen.delivery_count": msg.delivery_count,
    }
    if group is not None:
        attributes["messaging.consumer.group.name"] = group
    for key, value in msg.position.items():
        if isinstance(value, str | int):
            attributes[f"svcgen.position.{key}"] = value
    with tracer.start_as_current_span(
        f"process {msg.source}",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes=attributes,
    ) as span:
        yield span


@contextmanager
def sending(
    tracer: Tracer | None,
    target: str,
    *,
    system: str,
    headers: Mapping[str, str] | None,
) -> Iterator[Mapping[str, str] | None]:
    """A PRODUCER span around one send; yields the headers to send, with the
    span's context added (``headers`` itself when tracing is off)."""
    if tracer is None:
        yield headers
        return
    from opentelemetry import propagate, trace

    with tracer.start_as_current_span(
        f"send {target}",
        kind=trace.SpanKind.PRODUCER,
        attributes={
            "messaging.system": system,
            "messaging.operation.type": "send",
            "messaging.destination.name": target,
        },
    ):
        carrier = dict(headers or {})
        propagate.inject(carrier)
        yield carrier
