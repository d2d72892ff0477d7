"""The generated code itself, imported from the golden trees: settings, overrides, a run."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from svcgen_runtime import ConfigurationError, MemoryBroker
from svcgen_runtime.health import HealthServer
from svcgen_runtime.testing import run_service

from .golden import EXPECTED, GOLDEN


def load(
    case: str, package: str, module: str, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    monkeypatch.syspath_prepend(str(GOLDEN / case / EXPECTED / "src"))
    return importlib.import_module(f"{package}._generated.{module}")


def test_env_references_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load("mqtt", "golden_mqtt", "settings", monkeypatch)
    assert settings.load_settings({}).devices_url == "mqtt://localhost:1883"
    env = {"MQTT_HOST": "broker.internal", "MQTT_PORT": ""}
    assert settings.load_settings(env).devices_url == "mqtt://broker.internal:1883"
    assert settings.load_settings({"HEALTH_PORT": "9000"}).health_port == 9000


def test_an_unset_variable_without_default_is_one_clear_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load("consumer_only", "golden_consumer_only", "settings", monkeypatch)
    with pytest.raises(ConfigurationError) as info:
        settings.load_settings({})
    assert str(info.value) == (
        "the environment variable NATS_URL is not set: brokers.bus.url needs it, so "
        "set NATS_URL or give a default in service.yaml with ${NATS_URL:-...}"
    )
    assert settings.load_settings({"NATS_URL": "nats://x:4222"}).bus_url == (
        "nats://x:4222"
    )
    with pytest.raises(ConfigurationError, match="is not a port number"):
        settings.load_settings({"NATS_URL": "n", "HEALTH_PORT": "http"})


def test_unknown_broker_overrides_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    app = load("memory_consumer", "golden_memory", "app", monkeypatch)
    with pytest.raises(ConfigurationError) as info:
        app.build_app(brokers={"lcoal": MemoryBroker("lcoal")}, handle_signals=False)
    assert str(info.value) == (
        "build_app(brokers=...) names unknown broker(s) lcoal: use one of local"
    )


async def test_a_generated_service_runs_on_memory_brokers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app_module = load("publishers", "golden_publishers", "app", monkeypatch)
    settings = load("publishers", "golden_publishers", "settings", monkeypatch)
    app = app_module.build_app(
        settings=settings.Settings(events_url="unused", http_port=0),
        brokers={"events": MemoryBroker("events")},
        handle_signals=False,
    )
    assert app.name == "golden_publishers"
    assert [c.name for c in app.consumers] == ["order_paid"]
    assert [b.name for b in app.brokers] == ["events", "local"]
    async with run_service(app) as svc:
        await svc.publish("events", "orders.paid", b"{}")
        await svc.publish("events", "orders.paid", b"not json")
        await svc.wait_idle()
        assert svc.stats("order_paid").acked == 1
        assert len(svc.dead_letters("events", "orders.paid.dlq")) == 1


def test_no_http_means_a_health_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    app_module = load("nats", "golden_nats", "app", monkeypatch)
    app = app_module.build_app(
        brokers={"stream": MemoryBroker("stream")}, handle_signals=False
    )
    assert isinstance(app.http, HealthServer)
    assert app.http.port == 8080
    assert app.drain_timeout == 25.0
    (consumer,) = app.consumers
    assert consumer.spec.group == "sensor-writers"
    assert consumer.spec.concurrency == 32
    assert consumer.spec.dead_letter == "sensors.readings.dlq"
    assert consumer.timeout == 5.0


def test_kafka_consumer_settings_are_literal(monkeypatch: pytest.MonkeyPatch) -> None:
    app_module = load("kafka", "golden_kafka", "app", monkeypatch)
    app = app_module.build_app(
        brokers={"events": MemoryBroker("events")}, handle_signals=False
    )
    (consumer,) = app.consumers
    assert consumer.spec.ordering == "partition"
    assert consumer.spec.dead_letter == "orders.created.dead"
    assert consumer.timeout == 0.25
    assert consumer.retry.max_attempts == 5
    assert (consumer.retry.initial, consumer.retry.max) == (0.5, 60.0)
    assert consumer.retry.jitter is False


def test_goldens_have_unique_package_names() -> None:
    names = [
        p.name
        for case in GOLDEN.iterdir()
        if (case / EXPECTED / "src").is_dir()
        for p in (case / EXPECTED / "src").iterdir()
    ]
    assert len(names) == len(set(names))
