"""Start-up overrides of the tuning numbers: ``SVCGEN_<SECTION>_<NAME>_<KEY>``.

Every tuning number of a consumer, a task and the drain is a field of the generated
``Settings`` with service.yaml's value as its default, read from its variable by
``load_settings``; app.py passes ``settings.<attr>`` with service.yaml's value in a
comment. A bad value stops ``python -m <package>`` with one logged sentence and
exit status 3 before anything connects.

The generated services here are the golden trees, imported or started as
``python -m <package>`` in a subprocess (no Docker or Kubernetes: the process is
what a container would run, the environment is what a Deployment's ``env:`` would
set). "Nothing connects" is proven with a TCP listener of the test's own standing in
for the broker: the refused start leaves it without a single connection, and the
same start with good values connects to it (the control that shows the check can
fail).
"""

from __future__ import annotations

import importlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel, ValidationError

from svcgen.kinds import BROKERS
from svcgen.plan import make_plan
from svcgen.plan_records import Tuning
from svcgen.spec import load_spec
from svcgen.spec_checks_options import ITEM_TUNINGS
from svcgen.spec_models import (
    OPTION_MODELS,
    ConsumerSpec,
    OptionsSpec,
    RetrySpec,
    ShutdownSpec,
    TaskSpec,
)
from svcgen_runtime import ConfigurationError, MemoryBroker
from svcgen_runtime.overrides import KEYS

from .golden import EXPECTED, GOLDEN

SPEC = """\
name: shop
brokers:
  bus: {kind: redis, url: "redis://localhost:6379/0"}
consumers:
  - {name: paid, broker: bus, source: orders.paid, concurrency: 8, timeout: 30s}
  - {name: paid_retry, broker: bus, source: orders.retry}
  - {name: paid_session, broker: bus, source: orders.session}
tasks:
  - {name: receipt, broker: bus, key_window: 1h, retry: {initial: 2s, max: 5m}}
shutdown: {drain_timeout: 40s}
"""


def tunings(tmp_path: Path, text: str = SPEC) -> tuple[Tuning, ...]:
    (tmp_path / "service.yaml").write_text(text, encoding="utf-8")
    return make_plan(load_spec(tmp_path / "service.yaml")).tunings


def numbers(model: type[BaseModel]) -> set[str]:
    """The whole-number and duration keys of a spec model."""
    return {k for k, f in model.model_fields.items() if f.annotation in (int, float)}


def test_every_tuning_number_of_the_spec_is_overridable(tmp_path: Path) -> None:
    """Walks the spec models: a number added to a consumer, task, retry or shutdown
    without an override fails here. (The route server's one number, its port, is
    ``HTTP_PORT``; autoscale's numbers are the Deployment's, not the process's.)"""
    sources = {t.source for t in tunings(tmp_path)}
    retry = {f"retry.{k}" for k in numbers(RetrySpec)}
    items: list[tuple[str, str, type[BaseModel]]] = [
        ("consumers", "paid", ConsumerSpec),
        ("consumers", "paid_retry", ConsumerSpec),
        ("tasks", "receipt", TaskSpec),
    ]
    for section, name, model in items:
        keys = numbers(model) | retry
        assert {f"{section}.{name}.{k}" for k in keys} <= sources
    assert {f"shutdown.{k}" for k in numbers(ShutdownSpec)} <= sources
    # The walk sees durations as numbers (else the checks above would pass empty):
    assert numbers(ConsumerSpec) == {"concurrency", "timeout"}
    assert numbers(TaskSpec) == {"concurrency", "timeout", "key_window"}
    assert numbers(RetrySpec) == {"max_attempts", "initial", "max"}
    assert numbers(ShutdownSpec) == {"drain_timeout"}


def test_the_values_are_service_yamls(tmp_path: Path) -> None:
    found = {t.var: t.default for t in tunings(tmp_path)}
    assert found["SVCGEN_CONSUMER_PAID_CONCURRENCY"] == 8
    assert found["SVCGEN_CONSUMER_PAID_TIMEOUT"] == 30.0
    assert found["SVCGEN_CONSUMER_PAID_RETRY_CONCURRENCY"] == 1
    assert found["SVCGEN_TASK_RECEIPT_KEY_WINDOW"] == 3600.0
    assert found["SVCGEN_TASK_RECEIPT_RETRY_INITIAL"] == 2.0
    assert found["SVCGEN_TASK_RECEIPT_RETRY_MAX"] == 300.0
    assert found["SVCGEN_TASK_RECEIPT_MAX_ATTEMPTS"] == 3
    assert found["SVCGEN_SHUTDOWN_DRAIN_TIMEOUT"] == 40.0


def test_the_names_follow_one_scheme_and_never_collide(tmp_path: Path) -> None:
    """``SVCGEN_<SECTION>_<NAME>_<KEY>``: spec names are lower-case identifiers, so
    two variables could only meet when one key ends with ``_<another key>`` (a
    consumer ``paid_session`` and a key ``timeout`` against a kafka consumer ``paid``
    and a key ``session_timeout``): service.yaml refuses that spec (the golden case
    ``bad_setting_names``), and a field name read either way is read alike."""
    found = tunings(tmp_path)
    names = [t.var for t in found]
    assert len(names) == len(set(names))
    scheme = re.compile(r"^SVCGEN_(CONSUMER|TASK)_[A-Z][A-Z0-9_]*_[A-Z_]+$")
    for t in found:
        assert t.var == "SVCGEN_" + t.attr.upper()
        assert t.var == "SVCGEN_SHUTDOWN_DRAIN_TIMEOUT" or scheme.match(t.var), t.var
    base = ["concurrency", "timeout", "max_attempts", "retry_initial", "retry_max"]
    # the keys service.yaml's check of clashing names computes the names from:
    assert list(ITEM_TUNINGS) == base
    redis = ["claim_idle", "maxlen"]  # the options of SPEC's broker kind
    expected = {
        f"consumer_{name}_{key}"
        for name in ("paid", "paid_retry", "paid_session")
        for key in base + redis
    }
    expected |= {f"task_receipt_{key}" for key in [*base, "key_window", *redis]}
    assert {t.attr for t in found} == expected | {"shutdown_drain_timeout"}
    # Every key of every kind has a reader; where one key ends with another, the two
    # readers are one (so a field name matching both reads the same either way):
    keys = set([*base, "key_window"])
    for kind in BROKERS.values():
        keys |= set(kind.spec_options)
    assert keys <= set(KEYS)
    pairs = [(a, b) for a in KEYS for b in KEYS if b.endswith("_" + a)]
    assert sorted(pairs) == [
        ("timeout", "drain_timeout"),
        ("timeout", "session_timeout"),
    ]
    assert all(KEYS[a] is KEYS[b] for a, b in pairs)


ALL_KINDS = """\
name: shop
brokers:
  events: {kind: kafka, url: "localhost:9092", options: {partitions: 6}}
  rabbit: {kind: rabbitmq, url: "amqp://localhost/", options: {queue_type: quorum}}
  bus: {kind: nats, url: "nats://localhost:4222"}
  jobs: {kind: redis, url: "redis://localhost:6379/0"}
  sensors: {kind: mqtt, url: "mqtt://localhost:1883"}
consumers:
  - {name: a, broker: events, source: s.a, options: {session_timeout: 15s}}
  - {name: b, broker: rabbit, source: s.b, options: {delivery_limit: 9}}
  - {name: c, broker: bus, source: s.c, options: {ack_wait: 2s}}
  - {name: d, broker: jobs, source: s.d}
  - {name: e, broker: sensors, source: s/e, options: {session_expiry: 0s}}
tasks:
  - {name: t, broker: bus, options: {max_deliver: 5}}
"""


def test_every_broker_option_is_overridable_with_service_yamls_value(
    tmp_path: Path,
) -> None:
    """Each key the kind's options take is a field of each consumer and task on it:
    service.yaml's value (its own, else its broker's) or None when neither sets it
    (the broker's default applies)."""
    found = {t.attr: t for t in tunings(tmp_path, ALL_KINDS)}
    for name, kind in [("a", "kafka"), ("b", "rabbitmq"), ("c", "nats")]:
        keys = set(OPTION_MODELS[kind].model_fields)
        assert keys and keys == set(BROKERS[kind].spec_options)
        for key in keys:
            assert found[f"consumer_{name}_{key}"].optional
    assert set(OPTION_MODELS["redis"].model_fields) == {"claim_idle", "maxlen"}
    assert found["consumer_d_claim_idle"].default is None
    assert found["consumer_e_session_expiry"].default == 0.0
    a = found["consumer_a_partitions"]
    assert (a.default, a.source) == (6, "brokers.events.options.partitions")
    a = found["consumer_a_session_timeout"]
    assert (a.default, a.source) == (15.0, "consumers.a.options.session_timeout")
    assert found["consumer_b_queue_type"].default == "quorum"
    assert found["task_t_max_deliver"].default == 5
    assert found["task_t_ack_wait"].default is None
    assert found["task_t_storage"].annotation == "str | None"


def test_broker_options_reach_the_consumer_and_the_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from svcgen_runtime.idempotency import MemoryIdempotency

    settings = load("options", "golden_options", "settings", monkeypatch)
    app_module = load("options", "golden_options", "app", monkeypatch)
    names = ("events", "rabbit", "bus", "jobs", "sensors")

    def options(env: dict[str, str]) -> dict[str, dict[str, object]]:
        app = app_module.build_app(
            settings=settings.load_settings(env),
            brokers={n: MemoryBroker(n) for n in names},
            idempotency=MemoryIdempotency(),
            handle_signals=False,
        )
        return {c.name: dict(c.spec.options) for c in app.consumers}

    before = options({})
    assert before["paid"] == {
        "partitions": 12,
        "replication_factor": 1,
        "session_timeout_ms": 15000,
    }
    assert before["clicked"] == {"claim_idle": 120.0, "maxlen": 100000}
    assert before["audited"] == {
        "ack_wait": 0.5,
        "max_deliver": 10,
        "replicas": 1,
        "storage": "memory",
    }
    assert before["readings"] == {"session_expiry": 5400}
    after = options(
        {
            "SVCGEN_CONSUMER_PAID_PARTITIONS": "24",
            "SVCGEN_CONSUMER_PAID_SESSION_TIMEOUT": "45s",
            "SVCGEN_CONSUMER_CLICKED_CLAIM_IDLE": "5s",
            "SVCGEN_CONSUMER_SHIPPED_QUEUE_TYPE": "quorum",
            "SVCGEN_CONSUMER_AUDITED_STORAGE": "file",
            "SVCGEN_TASK_REINDEX_MAX_DELIVER": "7",
            "SVCGEN_CONSUMER_READINGS_SESSION_EXPIRY": "0s",
        }
    )
    assert after["paid"]["partitions"] == 24
    assert after["paid"]["session_timeout_ms"] == 45000
    assert after["clicked"]["claim_idle"] == 5.0
    assert after["audited"]["storage"] == "file"
    assert after["reindex"]["max_deliver"] == 7
    assert after["readings"]["session_expiry"] == 0
    # unset in service.yaml and in the environment: left to the broker
    assert "max_deliver" not in before["reindex"]


def test_broker_options_are_checked_together_as_service_yaml_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load("options", "golden_options", "settings", monkeypatch)
    refusals = {
        ("AUDITED_MAX_DELIVER", "4"): "SVCGEN_CONSUMER_AUDITED_MAX_DELIVER (4) is "
        "below the 5 attempts of its retry policy, so the server would stop delivering "
        "a failing message before it is dead-lettered: raise it or lower the attempts",
        ("SHIPPED_QUEUE_TYPE", "classic"): "SVCGEN_CONSUMER_SHIPPED_DELIVERY_LIMIT "
        "(20) needs quorum queues, but the queue type is classic: set the queue type "
        "to quorum or unset the delivery limit",
        ("AUDITED_STORAGE", "disk"): "SVCGEN_CONSUMER_AUDITED_STORAGE='disk' is not "
        "one of file, memory: correct it, or unset it to use service.yaml's memory",
        ("REFUNDED_REPLICATION_FACTOR", "0"): "SVCGEN_CONSUMER_REFUNDED_REPLICATION_"
        "FACTOR='0' is not a whole number from 1 to 100: correct it, or unset it to "
        "use service.yaml's 1",
        ("CLICKED_CLAIM_IDLE", "0s"): "SVCGEN_CONSUMER_CLICKED_CLAIM_IDLE='0s' is not "
        "a duration above zero such as 250ms, 30s, 5m or 1h (at most 8784h): correct "
        "it, or unset it to use service.yaml's 2m",
    }
    for (name, raw), sentence in refusals.items():
        with pytest.raises(ConfigurationError) as info:
            settings.load_settings({f"SVCGEN_CONSUMER_{name}": raw})
        assert str(info.value) == sentence
    # the controls: at the bound, each is taken
    assert settings.load_settings({"SVCGEN_CONSUMER_AUDITED_MAX_DELIVER": "5"})
    assert settings.load_settings({"SVCGEN_CONSUMER_SHIPPED_QUEUE_TYPE": "quorum"})


# -- the generated code ---------------------------------------------------------------


def load(
    case: str, package: str, module: str, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    monkeypatch.syspath_prepend(str(GOLDEN / case / EXPECTED / "src"))
    return importlib.import_module(f"{package}._generated.{module}")


def test_overrides_reach_the_consumer_and_the_drain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load("kafka", "golden_kafka", "settings", monkeypatch)
    app_module = load("kafka", "golden_kafka", "app", monkeypatch)
    brokers = {"events": MemoryBroker("events")}
    spec = app_module.build_app(
        settings=settings.load_settings({}), brokers=brokers, handle_signals=False
    )
    (consumer,) = spec.consumers
    assert (consumer.spec.concurrency, consumer.timeout) == (16, 0.25)
    assert (consumer.retry.max_attempts, consumer.retry.initial) == (5, 0.5)
    assert (consumer.retry.max, spec.drain_timeout) == (60.0, 25.0)
    env = {
        "SVCGEN_CONSUMER_ORDER_CREATED_CONCURRENCY": "20",
        "SVCGEN_CONSUMER_ORDER_CREATED_TIMEOUT": "2s",
        "SVCGEN_CONSUMER_ORDER_CREATED_MAX_ATTEMPTS": "9",
        "SVCGEN_CONSUMER_ORDER_CREATED_RETRY_INITIAL": "100ms",
        "SVCGEN_CONSUMER_ORDER_CREATED_RETRY_MAX": "5m",
        "SVCGEN_SHUTDOWN_DRAIN_TIMEOUT": "40s",
    }
    app = app_module.build_app(
        settings=settings.load_settings(env), brokers=brokers, handle_signals=False
    )
    (consumer,) = app.consumers
    assert (consumer.spec.concurrency, consumer.timeout) == (20, 2.0)
    assert (consumer.retry.max_attempts, consumer.retry.initial) == (9, 0.1)
    assert (consumer.retry.max, app.drain_timeout) == (300.0, 40.0)
    assert consumer.retry.jitter is False  # not a number: service.yaml's, always


def test_overrides_reach_the_task_and_its_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from svcgen_runtime.idempotency import MemoryIdempotency

    settings = load("tasks", "golden_tasks", "settings", monkeypatch)
    app_module = load("tasks", "golden_tasks", "app", monkeypatch)
    env = {
        "SVCGEN_TASK_SEND_RECEIPT_CONCURRENCY": "3",
        "SVCGEN_TASK_SEND_RECEIPT_KEY_WINDOW": "10m",
        "SVCGEN_TASK_NOTIFY_TIMEOUT": "45s",
        "SVCGEN_TASK_NOTIFY_MAX_ATTEMPTS": "1",
    }
    loaded = settings.load_settings(env)
    names = ("jobs", "bus", "rabbit")
    app = app_module.build_app(
        settings=loaded,
        brokers={n: MemoryBroker(n) for n in names},
        idempotency=MemoryIdempotency(),
        handle_signals=False,
    )
    workers = {c.name: c for c in app.consumers}
    assert workers["send_receipt"].spec.concurrency == 3
    assert (workers["notify"].timeout, workers["notify"].retry.max_attempts) == (45, 1)
    assert workers["reindex"].timeout == 300.0
    ctx = workers["notify"].handler.args[0]
    assert ctx.tasks.send_receipt.key_window == 600.0
    assert ctx.tasks.notify.key_window == 86400.0


def test_a_bad_value_is_one_sentence_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load("kafka", "golden_kafka", "settings", monkeypatch)
    with pytest.raises(ConfigurationError) as info:
        settings.load_settings({"SVCGEN_CONSUMER_ORDER_CREATED_TIMEOUT": "30"})
    assert str(info.value) == (
        "SVCGEN_CONSUMER_ORDER_CREATED_TIMEOUT='30' is not a duration above zero such "
        "as 250ms, 30s, 5m or 1h (at most 8784h): correct it, or unset it to use "
        "service.yaml's 250ms"
    )
    with pytest.raises(ConfigurationError) as info:
        settings.load_settings({"SVCGEN_CONSUMER_ORDER_CREATED_RETRY_INITIAL": "2m"})
    assert str(info.value) == (
        "SVCGEN_CONSUMER_ORDER_CREATED_RETRY_INITIAL (2m) exceeds "
        "SVCGEN_CONSUMER_ORDER_CREATED_RETRY_MAX (1m): lower the one or raise the other"
    )


def test_settings_py_lists_each_variable_with_its_default() -> None:
    text = (
        GOLDEN / "kafka" / EXPECTED / "src/golden_kafka/_generated/settings.py"
    ).read_text(encoding="utf-8")
    for line in [
        "order_created_concurrency: consumers.order_created.concurrency, from "
        "$SVCGEN_CONSUMER_ORDER_CREATED_CONCURRENCY (default 16).",
        "consumer_order_created_timeout: float = 0.25",
        "shutdown_drain_timeout: shutdown.drain_timeout, from "
        "$SVCGEN_SHUTDOWN_DRAIN_TIMEOUT (default 25s).",
        "consumer_order_created_retry_initial: float = 0.5",
    ]:
        assert line in text
    app = (
        GOLDEN / "kafka" / EXPECTED / "src/golden_kafka/_generated/app.py"
    ).read_text(encoding="utf-8")
    assert (
        "concurrency=settings.consumer_order_created_concurrency,  # 16 in service.yaml"
        in app
    )
    assert (
        "drain_timeout=settings.shutdown_drain_timeout,  # 25s in service.yaml" in app
    )


# -- a generated service started as a process ---------------------------------------


def start(case: str, package: str, env: dict[str, str]) -> subprocess.Popen[str]:
    src = str(GOLDEN / case / EXPECTED / "src")
    path = os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])
    environ = {**os.environ, "PYTHONPATH": path, "HEALTH_PORT": "0", **env}
    environ["PYTHONDONTWRITEBYTECODE"] = "1"  # nothing written into the golden tree
    return subprocess.Popen(
        [sys.executable, "-m", package],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def accepted(listener: socket.socket, within: float) -> bool:
    """Whether anything connected to ``listener`` within ``within`` seconds."""
    listener.settimeout(within)
    try:
        peer, _ = listener.accept()
    except TimeoutError:
        return False
    peer.close()
    return True


def test_a_bad_value_stops_the_service_before_anything_connects() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"nats://127.0.0.1:{listener.getsockname()[1]}"
        bad = {"NATS_URL": url, "SVCGEN_CONSUMER_READING_CONCURRENCY": "lots"}
        proc = start("nats", "golden_nats", bad)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 3, output
        lines = output.strip().splitlines()
        assert len(lines) == 1, output
        assert lines[0].endswith(
            "golden_nats: start-up refused: SVCGEN_CONSUMER_READING_CONCURRENCY='lots' "
            "is not a whole number from 1 to 10000: correct it, or unset it to use "
            "service.yaml's 32"
        ), output
        assert not accepted(listener, within=0.5)

        # The control: the same start with a good value reaches the "broker".
        good = {"NATS_URL": url, "SVCGEN_CONSUMER_READING_CONCURRENCY": "4"}
        proc = start("nats", "golden_nats", good)
        try:
            assert accepted(listener, within=30)
        finally:
            proc.kill()
            output, _ = proc.communicate(timeout=30)
        assert "SVCGEN_CONSUMER_READING_CONCURRENCY=4 overrides service.yaml's 32" in (
            output
        )


def test_a_service_starts_with_overrides_and_drains_within_the_new_drain() -> None:
    env = {
        "SVCGEN_CONSUMER_EVENT_RECEIVED_CONCURRENCY": "2",
        "SVCGEN_SHUTDOWN_DRAIN_TIMEOUT": "3s",
    }
    proc = start("memory_consumer", "golden_memory", env)
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if "golden-memory: started" in line:
            break
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=30)
    output = "".join(seen) + rest
    assert proc.returncode == 0, output
    assert (
        "SVCGEN_CONSUMER_EVENT_RECEIVED_CONCURRENCY=2 overrides service.yaml's 4"
        in (output)
    )
    assert "SVCGEN_SHUTDOWN_DRAIN_TIMEOUT=3s overrides service.yaml's 25s" in output
    assert "Traceback" not in output
    assert "golden-memory: stopped in" in output, output


def spec_takes(source: str, raw: str) -> bool:
    """Whether service.yaml's models take ``raw`` at ``source`` (a number as a number,
    a duration or a choice as text)."""
    section, *rest = source.split(".")
    model: type[BaseModel]
    base: dict[str, object]
    if section == "shutdown":
        model, base, key = ShutdownSpec, {}, rest[0]
    elif rest[1] == "options":
        model, base, key = OptionsSpec, {}, rest[2]
    elif rest[1] == "retry":
        model, base, key = RetrySpec, {"initial": "0s", "max": "8784h"}, rest[2]
    elif section == "consumers":
        model, base, key = (
            ConsumerSpec,
            {"name": "x", "broker": "b", "source": "s"},
            rest[1],
        )
    else:
        model, base, key = TaskSpec, {"name": "x", "broker": "b"}, rest[1]
    value: object = raw if not raw.isdigit() else int(raw)
    try:
        model.model_validate({**base, key: value})
    except ValidationError:
        return False
    return True


PROBES = {
    "whole": ["0", "1", "5", "6", "100", "101", "1000", "1001", "10000", "10001"],
    "duration": ["0s", "1ms", "7d", "8784h", "8785h", "366d", "367d"],
    "choice": ["classic", "quorum", "file", "memory", "Quorum", "disk"],
}


@pytest.mark.parametrize("text", [SPEC, ALL_KINDS], ids=["redis", "every_kind"])
def test_the_runtime_reads_each_key_within_service_yamls_bounds(
    tmp_path: Path, text: str
) -> None:
    """Each tuning's key has a reader in ``svcgen_runtime.overrides.KEYS`` that takes
    exactly what service.yaml takes, probed at and beyond each bound."""
    probes = dict(PROBES)
    probes["whole"] = [*probes["whole"], "1000000", "1000001", "1000000000"]
    for t in tunings(tmp_path, text):
        key = next(k for k in sorted(KEYS, key=len, reverse=True) if t.attr.endswith(k))
        if not t.optional:
            assert t.annotation == type(t.default).__name__
        for raw in probes[t.reader]:
            try:
                KEYS[key]({"V": raw}, "V", t.default)
                runtime_takes = True
            except ConfigurationError:
                runtime_takes = False
            assert runtime_takes == spec_takes(t.source, raw), (t.attr, raw)


def test_an_unset_url_variable_is_refused_the_same_way() -> None:
    environ = {k: v for k, v in os.environ.items() if k != "NATS_URL"}
    src = str(GOLDEN / "consumer_only" / EXPECTED / "src")
    done = subprocess.run(
        [sys.executable, "-m", "golden_consumer_only"],
        env={
            **environ,
            "PYTHONPATH": src,
            "HEALTH_PORT": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 3, output
    assert output.count("\n") == 1 and "Traceback" not in output, output
    assert "start-up refused: the environment variable NATS_URL is not set" in output
