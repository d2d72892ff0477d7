"""The spec loader: every error, with its exact text and position."""

from __future__ import annotations

import json

import pytest

from svcgen.errors import SpecError
from svcgen.spec import json_schema, parse_duration, parse_spec

MINIMAL = "name: orders\n"


def errors(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    return str(info.value).splitlines()


def test_minimal_spec_is_valid_with_defaults() -> None:
    spec = parse_spec(MINIMAL)
    assert spec.name == "orders"
    assert spec.http is None
    assert spec.consumers == []
    assert spec.shutdown.drain_timeout == 25.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("1.5s", 1.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["30", "30 s", "1d", "-1s", "s", ""])
def test_bad_durations_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(bad)


def test_malformed_yaml() -> None:
    assert errors("name: [orders\n") == [
        "service.yaml:2:1: malformed YAML: did not find expected ',' or ']'",
        "1 error in service.yaml",
    ]


def test_empty_file() -> None:
    assert errors("") == [
        "service.yaml:1:1: the file is empty; write at least `name: <service>`",
        "1 error in service.yaml",
    ]


def test_wrong_top_level_type() -> None:
    assert errors("just a string\n") == [
        "service.yaml:1:1: expected a mapping of keys (name, brokers, consumers, ...) "
        "at the top level, got a string ('just a string')",
        "1 error in service.yaml",
    ]


def test_unknown_key_suggests_the_closest() -> None:
    assert errors("name: orders\nbrokrs: {}\n") == [
        "service.yaml:2:1: unknown key 'brokrs'; did you mean 'brokers'?",
        "1 error in service.yaml",
    ]


def test_unknown_key_without_a_close_match_lists_the_keys() -> None:
    assert errors("name: orders\nshutdown: {zzz: 1}\n") == [
        "service.yaml:2:12: shutdown: unknown key 'zzz'; expected one of: drain_timeout",
        "1 error in service.yaml",
    ]


def test_duplicate_key() -> None:
    assert errors("name: a\nname: b\n") == [
        "service.yaml:2:1: name: duplicate key 'name' (first defined on line 1); "
        "keep one of them",
        "1 error in service.yaml",
    ]


def test_errors_are_all_reported_sorted_with_a_count() -> None:
    text = (
        "name: orders\n"
        "brokers:\n"
        "  local: {kind: memory}\n"
        "consumers:\n"
        "  - {name: b, broker: nope, source: x, timeout: 5 minutes}\n"
        "  - {name: a, broker: local, source: y, ordering: partition}\n"
    )
    assert errors(text) == [
        "service.yaml:5:23: consumers[0].broker: no broker named 'nope' in brokers; "
        "defined: local",
        "service.yaml:5:49: consumers[0].timeout: '5 minutes' is not a duration: write "
        "a number and a unit, such as 250ms, 30s, 5m or 1h",
        "service.yaml:6:51: consumers[1].ordering: ordering: partition needs a broker "
        "of kind kafka, but 'local' is memory; use ordering: key",
        "3 errors in service.yaml",
    ]


def test_env_reference_syntax() -> None:
    ok = "name: a\nbrokers:\n  k: {kind: kafka, url: 'kafka://${HOST}:${PORT:-9092}'}\n"
    assert parse_spec(ok).brokers["k"].url == "kafka://${HOST}:${PORT:-9092}"
    assert errors("name: a\nbrokers:\n  k: {kind: kafka, url: '$HOST:9092'}\n") == [
        "service.yaml:3:25: brokers.k.url: '$HOST:9092' has a malformed environment "
        "reference: write ${VAR} or ${VAR:-default}",
        "1 error in service.yaml",
    ]


def test_names_must_be_identifiers_and_unique() -> None:
    text = (
        "name: a\nbrokers: {m: {kind: memory}}\n"
        "publishers:\n"
        "  - {name: class, broker: m, target: t}\n"
        "  - {name: out, broker: m, target: t}\n"
        "  - {name: out, broker: m, target: u}\n"
    )
    assert errors(text) == [
        "service.yaml:4:12: publishers[0].name: 'class' is not a valid name: use a "
        "Python identifier of lowercase letters, digits and underscores, such as "
        "order_created",
        "service.yaml:6:12: publishers[2].name: publisher 'out' is defined twice "
        "(first as publishers[1]); rename one of them",
        "2 errors in service.yaml",
    ]


def test_broker_key_must_be_a_name() -> None:
    assert errors("name: a\nbrokers:\n  my-bus: {kind: memory}\n") == [
        "service.yaml:3:3: brokers: key 'my-bus' is not a valid name: use a Python "
        "identifier of lowercase letters, digits and underscores, such as "
        "order_created",
        "1 error in service.yaml",
    ]


def test_strict_types() -> None:
    assert errors("name: a\nhttp: {port: '8000'}\n") == [
        "service.yaml:2:14: http.port: expected an integer, got a string ('8000')",
        "1 error in service.yaml",
    ]


def test_json_schema_describes_the_keys() -> None:
    schema = json_schema()
    json.dumps(schema)
    assert schema["title"] == "svcgen service spec"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) >= {
        "name",
        "brokers",
        "http",
        "consumers",
        "publishers",
        "shutdown",
    }
    assert schema["required"] == ["name"]
    consumer = schema["$defs"]["ConsumerSpec"]
    timeout = consumer["properties"]["timeout"]
    assert (timeout["type"], timeout["default"]) == ("string", "30s")
    assert schema["$defs"]["ShutdownSpec"]["properties"]["drain_timeout"][
        "default"
    ] == ("25s")


def test_yaml_1_2_booleans_only() -> None:
    text = (
        "name: a\nbrokers: {m: {kind: memory}}\n"
        "consumers:\n  - {name: c, broker: m, source: on, group: no, "
        "retry: {jitter: false}}\n"
    )
    consumer = parse_spec(text).consumers[0]
    assert (consumer.source, consumer.group, consumer.retry.jitter) == (
        "on",
        "no",
        False,
    )


def test_a_service_name_may_not_hide_a_module_it_needs() -> None:
    assert errors("name: json\n") == [
        "service.yaml:1:7: name: 'json' would make a package that hides the module "
        "json the service needs; choose another name, such as json_service",
        "1 error in service.yaml",
    ]


def test_retry_initial_may_not_exceed_max() -> None:
    text = (
        "name: a\nbrokers: {m: {kind: memory}}\n"
        "consumers:\n  - name: c\n    broker: m\n    source: s\n"
        "    retry: {initial: 5s, max: 500ms}\n"
    )
    assert errors(text) == [
        "service.yaml:7:12: consumers[0].retry: initial (5s) exceeds max (0.5s): raise "
        "max or lower initial",
        "1 error in service.yaml",
    ]


def test_empty_keys_mean_none() -> None:
    spec = parse_spec("name: a\nbrokers:\nconsumers:\npublishers:\nhttp:\n  routes:\n")
    assert (spec.brokers, spec.consumers, spec.publishers) == ({}, [], [])
    assert spec.http is not None and spec.http.routes == []


TOOLBOX = """\
name: shop
brokers:
  jobs: {kind: redis, url: "${REDIS_URL}"}
tasks:
  - {name: send_receipt, broker: jobs}
schedules:
  - {name: beat, every: 30s, task: send_receipt}
resources:
  database: {kind: postgres, url: "${DATABASE_URL}"}
"""


def test_tasks_schedules_and_resources_defaults() -> None:
    spec = parse_spec(TOOLBOX)
    (task,) = spec.tasks
    assert (task.args, task.concurrency, task.timeout, task.key_window) == (
        None,
        1,
        300.0,
        86400.0,
    )
    assert task.retry.max_attempts == 3
    (schedule,) = spec.schedules
    assert (schedule.cron, schedule.every, schedule.timezone) == (None, 30.0, "UTC")
    assert spec.resources.cache is None and spec.resources.storage is None
    assert spec.resources.database is not None
    assert spec.resources.database.pool is None
    assert parse_spec(MINIMAL).resources.database is None


def test_an_empty_resources_key_means_none() -> None:
    spec = parse_spec("name: shop\ntasks:\nschedules:\nresources:\n")
    assert spec.tasks == [] and spec.schedules == []
    assert spec.resources.cache is None


def test_schema_describes_tasks_schedules_and_resources() -> None:
    schema = json_schema()
    assert {"tasks", "schedules", "resources"} <= set(schema["properties"])
    every = schema["$defs"]["ScheduleSpec"]["properties"]["every"]
    assert {"type": "null"} in every["anyOf"]
    timeout = schema["$defs"]["TaskSpec"]["properties"]["timeout"]
    assert timeout["default"] == "300s"


def test_a_schedule_may_use_a_nats_task_when_a_redis_cache_holds_the_keys() -> None:
    text = (
        "name: shop\n"
        "brokers: {bus: {kind: nats, url: x}}\n"
        "tasks: [{name: t, broker: bus}]\n"
        "schedules: [{name: s, every: 1m, task: t}]\n"
    )
    assert any("would be kept per replica" in e for e in errors(text))
    spec = parse_spec(text + "resources: {cache: {kind: redis, url: 'redis://x'}}\n")
    assert spec.schedules[0].task == "t"
