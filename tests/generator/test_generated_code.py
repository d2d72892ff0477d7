"""The generated code itself, imported from the golden trees: settings, overrides, a run."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
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


async def test_generated_tasks_run_on_memory_brokers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from svcgen_runtime.idempotency import MemoryIdempotency
    from svcgen_runtime.schedules import Schedule

    app_module = load("tasks", "golden_tasks", "app", monkeypatch)
    settings = load("tasks", "golden_tasks", "settings", monkeypatch)
    store = MemoryIdempotency()
    app = app_module.build_app(
        settings=settings.Settings(
            bus_url="unused", jobs_url="unused", rabbit_url="unused", http_port=0
        ),
        brokers={
            "jobs": MemoryBroker("jobs"),
            "bus": MemoryBroker("bus"),
            "rabbit": MemoryBroker("rabbit"),
        },
        idempotency=store,
        handle_signals=False,
    )
    assert [c.name for c in app.consumers] == [
        "notify",
        "reindex",
        "send_receipt",
        "warm_up",
    ]
    assert app.resources == [store]
    (schedule,) = app.components
    assert isinstance(schedule, Schedule)
    assert (schedule.name, schedule.cron, str(schedule.tz)) == (
        "nightly_receipts",
        "30 2 * * 1-5",
        "Europe/Berlin",
    )
    assert schedule.task.idempotency is store
    assert schedule.task.key_window == 3600.0
    worker = next(c for c in app.consumers if c.name == "send_receipt")
    assert worker.spec.source == "tasks.send_receipt"
    assert worker.spec.group == "tasks-send_receipt"
    assert worker.spec.concurrency == 8
    assert worker.retry.max_attempts == 5
    async with run_service(app) as svc:
        await schedule.task.enqueue(schedule.args(schedule_time()), key="k")
        assert await schedule.task.enqueue(schedule.args(schedule_time()), key="k") is (
            False
        )
        await svc.publish("bus", "tasks.reindex", b"raw bytes")
        await svc.wait_idle()
        assert svc.stats("send_receipt").acked == 1
        assert svc.stats("reindex").acked == 1


def schedule_time() -> dt.datetime:
    return dt.datetime(2026, 1, 5, 2, 30, tzinfo=dt.UTC)


def test_tasks_without_a_redis_store_say_so_in_app_py() -> None:
    app = (
        GOLDEN / "tasks" / EXPECTED / "src/golden_tasks/_generated/app.py"
    ).read_text()
    assert "# The idempotency keys of the task(s) notify are kept in this process" in (
        app
    )
    assert "process_keys: IdempotencyStore = (" in app
    assert 'bucket="svcgen-keys-golden-tasks",' in app  # reindex, on nats
    assert (
        'url=settings.jobs_url,\n            prefix="svcgen-keys:golden-tasks:"' in app
    )


def test_schedule_task_keys_use_the_redis_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from svcgen_runtime.idempotency import RedisIdempotency
    from svcgen_runtime.resources import RedisCache

    app_module = load("schedules", "golden_schedules", "app", monkeypatch)
    settings = load("schedules", "golden_schedules", "settings", monkeypatch)
    app = app_module.build_app(
        settings=settings.load_settings({}),
        brokers={"bus": MemoryBroker("bus")},
        handle_signals=False,
    )
    cache, store = app.resources
    assert isinstance(cache, RedisCache) and cache.prefix == "reports:"
    assert isinstance(store, RedisIdempotency)
    assert store.url == "redis://localhost:6379/1"
    assert store.prefix == "svcgen-keys:golden-schedules:"
    by_name = {s.name: s for s in app.components}
    assert by_name["heartbeat"].every == 30.0
    assert by_name["nightly_report"].cron == "0 3 * * *"


async def test_generated_resources_open_and_reach_the_context(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from svcgen_runtime.resources import MemoryCache, MemoryStorage, SqliteDatabase

    app_module = load("resources_embedded", "golden_embedded", "app", monkeypatch)
    settings = load("resources_embedded", "golden_embedded", "settings", monkeypatch)
    env = {"DATABASE_PATH": str(tmp_path / "db.sqlite3"), "HTTP_PORT": "0"}
    app = app_module.build_app(
        settings=settings.load_settings(env), handle_signals=False
    )
    cache, database, storage = app.resources
    assert isinstance(cache, MemoryCache) and cache.prefix == "golden-embedded:"
    assert isinstance(database, SqliteDatabase) and database.busy_timeout == 5.0
    assert isinstance(storage, MemoryStorage)
    async with run_service(app):
        await database.execute("CREATE TABLE t (x INTEGER)")
        await database.execute("INSERT INTO t VALUES (?)", 7)
        assert [dict(r) for r in await database.query("SELECT x FROM t")] == [{"x": 7}]
        await cache.set("k", b"v")
        assert await cache.get("k") == b"v"
    assert (tmp_path / "db.sqlite3").exists()
    assert settings.load_settings({}).database_path == "data/golden_embedded.db"


def test_resource_overrides_replace_server_resources(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from svcgen_runtime.resources import MemoryCache, MemoryStorage, SqliteDatabase

    app_module = load("resources", "golden_resources", "app", monkeypatch)
    settings = load("resources", "golden_resources", "settings", monkeypatch)
    replaced = (
        MemoryCache(name="cache"),
        SqliteDatabase(name="database", path=":memory:"),
        MemoryStorage(name="storage"),
    )
    app = app_module.build_app(
        settings=settings.load_settings({"DATABASE_URL": "postgresql://x/y"}),
        cache=replaced[0],
        database=replaced[1],
        storage=replaced[2],
        handle_signals=False,
    )
    assert tuple(app.resources) == replaced
