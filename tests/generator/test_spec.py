"""The spec loader: every error, with its exact text and position."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from svcgen.errors import ProjectError, SpecError
from svcgen.spec import json_schema, load_spec, parse_duration, parse_spec

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


@pytest.mark.parametrize("bad", ["30", "30 s", "1w", "-1s", "s", ""])
def test_bad_durations_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(bad)


def test_malformed_yaml() -> None:
    # The parser notices at the end of the text, a line past the last one: the
    # error is shown at the end of the last line, where an editor can jump.
    assert errors("name: [orders\n") == [
        "service.yaml:1:14: malformed YAML: did not find expected ',' or ']'",
        "1 error in service.yaml",
    ]
    assert errors("name: [orders\n\n\n") == [
        "service.yaml:3:1: malformed YAML: did not find expected ',' or ']'",
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
        "service.yaml:2:1: brokrs: unknown key 'brokrs'; did you mean 'brokers'?",
        "1 error in service.yaml",
    ]


def test_unknown_key_without_a_close_match_lists_the_keys() -> None:
    assert errors("name: orders\nshutdown: {zzz: 1}\n") == [
        "service.yaml:2:12: shutdown.zzz: unknown key 'zzz'; expected one of: "
        "drain_timeout",
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
        "service.yaml:4:12: publishers[0].name: 'class' is a Python keyword, so it "
        "cannot name a module or an attribute; choose another name, such as class_",
        "service.yaml:6:12: publishers[2].name: publisher 'out' is defined twice "
        "(first as publishers[1]); rename one of them",
        "2 errors in service.yaml",
    ]


def test_broker_key_must_be_a_name() -> None:
    assert errors("name: a\nbrokers:\n  my-bus: {kind: memory}\n") == [
        "service.yaml:3:3: brokers.my-bus: key 'my-bus' is not a valid name: use a "
        "Python identifier of lowercase letters, digits and underscores, such as "
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


def test_a_schedule_needs_keys_every_replica_shares() -> None:
    text = (
        "name: shop\n"
        "brokers: {bus: {kind: rabbitmq, url: x}}\n"
        "tasks: [{name: t, broker: bus}]\n"
        "schedules: [{name: s, every: 1m, task: t}]\n"
    )
    assert any("would be kept per replica" in e for e in errors(text))
    for shared in (
        "resources: {cache: {kind: redis, url: 'redis://x'}}\n",
        "resources: {database: {kind: postgres, url: 'postgresql://x/db'}}\n",
    ):
        assert parse_spec(text + shared).schedules[0].task == "t"
    # A nats broker keeps them itself, in a JetStream key-value bucket.
    assert parse_spec(text.replace("rabbitmq", "nats")).schedules[0].task == "t"


def test_a_duplicate_key_hides_no_other_error() -> None:
    assert errors("name: a\nname: b\nbrokrs: {}\nconsumers: 5\n") == [
        "service.yaml:2:1: name: duplicate key 'name' (first defined on line 1); "
        "keep one of them",
        "service.yaml:3:1: brokrs: unknown key 'brokrs'; did you mean 'brokers'?",
        "service.yaml:4:12: consumers: expected a list, got a number (5)",
        "3 errors in service.yaml",
    ]


def test_a_duplicate_key_is_reported_with_the_errors_of_the_first_value() -> None:
    text = (
        "name: a\nbrokers: {m: {kind: memory}}\n"
        "consumers:\n  - name: c\n    broker: m\n    source: s\n"
        "    timeout: 0s\n    timeout: 5s\n"
    )
    assert errors(text) == [
        "service.yaml:7:14: consumers[0].timeout: must be longer than 0, such as 30s",
        "service.yaml:8:5: consumers[0].timeout: duplicate key 'timeout' (first "
        "defined on line 7); keep one of them",
        "2 errors in service.yaml",
    ]


def test_a_missing_top_level_key_names_the_key() -> None:
    assert errors("description: x\n") == [
        "service.yaml:1:1: name: missing required key 'name'",
        "1 error in service.yaml",
    ]


def test_a_missing_nested_key_names_the_key_at_its_mapping() -> None:
    text = (
        "name: a\nbrokers: {m: {kind: memory}}\nconsumers:\n  - {name: c, broker: m}\n"
    )
    assert errors(text) == [
        "service.yaml:4:5: consumers[0].source: missing required key 'source'",
        "1 error in service.yaml",
    ]


NAMED = {
    "http.routes[0].name": "http:\n  routes: [{name: NAME, method: GET, path: /x}]",
    "consumers[0].name": "consumers: [{name: NAME, broker: m, source: s}]",
    "publishers[0].name": "publishers: [{name: NAME, broker: m, target: t}]",
    "tasks[0].name": "tasks: [{name: NAME, broker: m}]",
    "schedules[0].name": (
        "tasks: [{name: t, broker: m}]\nschedules: [{name: NAME, every: 1m, task: t}]"
    ),
}


@pytest.mark.parametrize("path", sorted(NAMED))
def test_names_may_not_start_with_an_underscore(path: str) -> None:
    section = NAMED[path]
    text = f"name: a\nbrokers: {{m: {{kind: memory}}}}\n{section}\n"
    (dunder,) = errors(text.replace("NAME", "__init__"))[:-1]
    assert dunder.split(": ", 2)[1:] == [
        path,
        "'__init__' starts with an underscore, which Python keeps for private and "
        "special names such as __init__; start it with a letter, such as init",
    ]
    (private,) = errors(text.replace("NAME", "_x"))[:-1]
    assert private.endswith("start it with a letter, such as x")
    (keyword,) = errors(text.replace("NAME", "async"))[:-1]
    assert keyword.split(": ", 2)[1:] == [
        path,
        "'async' is a Python keyword, so it cannot name a module or an attribute; "
        "choose another name, such as async_",
    ]
    assert parse_spec(text.replace("NAME", "x_"))


@pytest.mark.parametrize(
    "where",
    [
        "consumers: [{name: c, broker: m, source: s, timeout: 0ms}]",
        "tasks: [{name: t, broker: m, timeout: 0s}]",
        "tasks: [{name: t, broker: m, key_window: 0h}]",
        "shutdown: {drain_timeout: 0s}",
        "resources: {database: {kind: sqlite, timeout: 0.0s}}",
        "tasks: [{name: t, broker: m}]\nschedules: [{name: s, task: t, every: 0m}]",
    ],
)
def test_zero_durations_are_refused_where_zero_makes_no_sense(where: str) -> None:
    found = errors(f"name: a\nbrokers: {{m: {{kind: memory}}}}\n{where}\n")
    assert len(found) == 2
    assert found[0].endswith(": must be longer than 0, such as 30s")


def test_a_zero_retry_delay_is_allowed() -> None:
    text = (
        "name: a\nbrokers: {m: {kind: memory}}\nconsumers:\n"
        "  - {name: c, broker: m, source: s, retry: {initial: 0s, backoff: constant}}\n"
    )
    assert parse_spec(text).consumers[0].retry.initial == 0.0


def test_a_spec_that_is_not_utf8_is_reported_at_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "service.yaml"
    path.write_bytes(b"name: a\ndescription: caf\xe9 \xc3\xa9\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value).splitlines() == [
        f"{path}:2:17: the file is not UTF-8 text (byte 0xe9 here); save it as UTF-8",
        f"1 error in {path}",
    ]


def test_a_spec_that_is_a_directory_is_a_project_error(tmp_path: Path) -> None:
    path = tmp_path / "service.yaml"
    path.mkdir()
    with pytest.raises(ProjectError, match=r"service.yaml is a directory, not a file"):
        load_spec(path)


def test_a_key_that_is_a_list_is_refused_at_its_place() -> None:
    assert errors("name: x\nbrokers:\n  ? [a, b]\n  : {kind: memory}\n") == [
        "service.yaml:3:5: brokers: a key is a word, not a list or a mapping; write "
        "it as one",
        "1 error in service.yaml",
    ]


def test_a_name_linters_call_ambiguous_is_refused() -> None:
    """A task ``l`` became the attribute ``l: Task[bytes]``, which ruff refuses."""
    text = "name: x\nbrokers: {b: {kind: memory}}\ntasks: [{name: l, broker: b}]\n"
    assert errors(text) == [
        "service.yaml:3:16: tasks[0].name: 'l' reads like 1 and I, so linters refuse "
        "it as a name (E741); choose a longer name",
        "1 error in service.yaml",
    ]
