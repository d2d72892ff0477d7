"""Broker options in service.yaml: typed per kind, checked with line numbers, merged
(the broker's overridden by a consumer's or task's) and passed as literals to the
runtime's constructors in app.py."""

from __future__ import annotations

import textwrap
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from svcgen.errors import SpecError
from svcgen.kinds import BROKERS
from svcgen.plan import make_plan
from svcgen.spec import json_schema, parse_spec
from svcgen_runtime import ConfigurationError
from svcgen_runtime.brokers.kafka import KafkaBroker
from svcgen_runtime.brokers.mqtt import MqttBroker
from svcgen_runtime.brokers.nats import NatsBroker
from svcgen_runtime.brokers.redis import RedisBroker

from .test_generated_code import load

SPEC = """\
name: opts
brokers:
  main:
    kind: kafka
    url: localhost:9092
    options: {partitions: 6, session_timeout: 15s}
  jobs: {kind: redis, url: "redis://localhost", options: {maxlen: 500}}
consumers:
  - {name: paid, broker: main, source: shop.paid, options: {partitions: 12}}
  - {name: plain, broker: main, source: shop.plain}
tasks:
  - {name: mail, broker: jobs, options: {claim_idle: 2m}}
"""


def _errors(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(textwrap.dedent(text))
    return str(caught.value).splitlines()[:-1]


def test_a_consumer_s_options_override_the_broker_s_key_by_key() -> None:
    plan = make_plan(parse_spec(SPEC))
    by_name = {c.name: c for c in plan.consumers}
    values = {t.attr: t.default for t in plan.tunings}
    assert values["consumer_paid_partitions"] == 12
    assert values["consumer_plain_partitions"] == 6
    assert values["consumer_paid_session_timeout"] == 15.0
    assert values["consumer_paid_replication_factor"] is None
    assert values["task_mail_claim_idle"] == 120.0
    assert values["task_mail_maxlen"] == 500
    paid = by_name["paid"].options
    assert paid is not None
    # each from its Settings field; durations in the unit the adapter takes
    assert paid.flat() == (
        'options={"membership": settings.consumer_paid_membership, '
        '"partitions": settings.consumer_paid_partitions, '
        '"replication_factor": settings.consumer_paid_replication_factor, '
        '"session_timeout_ms": in_units(settings.consumer_paid_session_timeout, 1000)}'
    )
    (task,) = plan.tasks
    assert task.options is not None
    assert task.options.flat() == (
        'options={"claim_idle": settings.task_mail_claim_idle, '
        '"maxlen": settings.task_mail_maxlen}'
    )
    brokers = {b.name: b.args for b in plan.brokers}
    assert [tuple(a) for a in brokers["main"]] == [
        ("partitions", "6"),
        ("session_timeout_ms", "15000"),
    ]
    assert [tuple(a) for a in brokers["jobs"]] == [("maxlen", "500")]


def test_without_options_the_settings_are_none_and_the_runtime_defaults_hold() -> None:
    from svcgen_runtime import Consumer, MemoryBroker

    plan = make_plan(
        parse_spec(
            "name: x\nbrokers: {b: {kind: nats, url: 'nats://h'}}\n"
            "consumers: [{name: c, broker: b, source: s}]\n"
        )
    )
    options = [t for t in plan.tunings if t.source.startswith("consumers.c.options.")]
    assert {t.attr for t in options} == {
        "consumer_c_ack_wait",
        "consumer_c_max_deliver",
        "consumer_c_replicas",
        "consumer_c_storage",
    }
    assert all(t.default is None and t.optional for t in options)
    assert plan.brokers[0].args == ()

    async def handle(payload: bytes, msg: object) -> None:
        return None

    # app.py passes them as they are; the consumer leaves a None option unset
    consumer: Consumer[bytes] = Consumer(
        name="c",
        broker=MemoryBroker("b"),
        source="s",
        handler=handle,
        options={"ack_wait": None, "max_deliver": None, "replicas": 3},
    )
    assert dict(consumer.spec.options) == {"replicas": 3}


def test_options_reach_the_runtime_constructors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The golden app.py built for real: brokers and consumers hold the merged values
    (nothing connects: constructors only)."""
    app_module = load("options", "golden_options", "app", monkeypatch)
    app = app_module.build_app(handle_signals=False)
    brokers = {b.name: b for b in app.brokers}
    kafka = brokers["events"]
    assert isinstance(kafka, KafkaBroker)
    assert (kafka.partitions, kafka.replication_factor) == (6, 1)
    assert kafka.consumer_defaults["session_timeout_ms"] == 15000
    nats = brokers["bus"]
    assert isinstance(nats, NatsBroker)
    assert (nats.replicas, str(nats.storage.value)) == (1, "memory")
    redis = brokers["jobs"]
    assert isinstance(redis, RedisBroker) and redis.maxlen == 100000
    mqtt = brokers["sensors"]
    assert isinstance(mqtt, MqttBroker) and mqtt.session_expiry == 3600
    options: dict[str, Any] = {c.name: dict(c.spec.options) for c in app.consumers}
    assert options["paid"] == {
        "partitions": 12,
        "replication_factor": 1,
        "session_timeout_ms": 15000,
    }
    assert options["refunded"]["partitions"] == 6
    assert options["shipped"] == {"delivery_limit": 20, "queue_type": "quorum"}
    assert options["audited"] == {
        "ack_wait": 0.5,
        "max_deliver": 10,
        "replicas": 1,
        "storage": "memory",
    }
    assert options["readings"] == {"session_expiry": 5400}
    assert options["send_receipt"] == {"claim_idle": 300.0, "maxlen": 1000}
    assert options["reindex"]["ack_wait"] == 10.0


def test_an_option_of_another_kind_names_the_kinds_that_take_it() -> None:
    errors = _errors(
        """\
        name: x
        brokers:
          q: {kind: rabbitmq, url: "amqp://h", options: {partitions: 3}}
        consumers:
          - {name: c, broker: q, source: s, options: {ack_wait: 5s}}
        """
    )
    assert errors == [
        "service.yaml:3:50: brokers.q.options.partitions: 'partitions' is an option "
        "of kafka, not of rabbitmq, the kind of broker 'q': remove it (rabbitmq "
        "takes delivery_limit, queue_type)",
        "service.yaml:5:47: consumers[0].options.ack_wait: 'ack_wait' is an option "
        "of nats, not of rabbitmq, the kind of broker 'q' of consumer 'c': remove "
        "it (rabbitmq takes delivery_limit, queue_type)",
    ]


def test_typed_values_fail_at_their_line() -> None:
    errors = _errors(
        """\
        name: x
        brokers:
          k:
            kind: kafka
            url: h:9092
            options:
              partitions: many
              session_timeout: 10
              membership: sticky
        """
    )
    assert errors == [
        "service.yaml:7:19: brokers.k.options.partitions: expected an integer, got "
        "a string ('many')",
        "service.yaml:8:24: brokers.k.options.session_timeout: expected a duration "
        "such as 250ms, 30s, 5m or 1h, got a number (10)",
        "service.yaml:9:19: brokers.k.options.membership: expected 'dynamic' or "
        "'static', got a string ('sticky')",
    ]


def test_delivery_limit_needs_a_quorum_queue_after_the_merge() -> None:
    text = """\
    name: x
    brokers:
      q: {kind: rabbitmq, url: "amqp://h", options: {delivery_limit: 5}}
    consumers:
      - {name: a, broker: q, source: s1, options: {queue_type: quorum}}
      - {name: b, broker: q, source: s2}
    """
    (error,) = _errors(text)
    assert error.startswith("service.yaml:3:66: brokers.q.options.delivery_limit: ")
    assert "consumer 'b' declares classic ones" in error


def test_max_deliver_below_the_retry_attempts_is_refused() -> None:
    (error,) = _errors(
        """\
        name: x
        brokers: {n: {kind: nats, url: "nats://h"}}
        consumers:
          - name: c
            broker: n
            source: s
            retry: {max_attempts: 5}
            options: {max_deliver: 4}
        """
    )
    assert error.startswith("service.yaml:8:28: consumers[0].options.max_deliver: ")
    assert "raise max_deliver to at least 5" in error


def test_the_json_schema_takes_the_keys_of_the_broker_s_kind_only() -> None:
    schema = json_schema()
    good = yaml.safe_load(SPEC)
    jsonschema.validate(good, schema)
    bad = yaml.safe_load(SPEC)
    bad["brokers"]["jobs"]["options"] = {"partitions": 2}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    broker: dict[str, Any] = {"kind": "memory", "options": {}}
    memory = {"name": "x", "brokers": {"m": broker}}
    jsonschema.validate(memory, schema)
    broker["options"] = {"maxlen": 1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(memory, schema)


@pytest.mark.parametrize("kind", [k for k in BROKERS if BROKERS[k].spec_options])
def test_the_adapters_refuse_bad_values_given_directly(kind: str) -> None:
    """The runtime checks what it is handed too (a hand-written app.py)."""
    if kind == "kafka":
        with pytest.raises(ConfigurationError, match="at least 1"):
            KafkaBroker("k", "h:9092", partitions=0)
    elif kind == "nats":
        with pytest.raises(ConfigurationError, match="1 to 5"):
            NatsBroker("n", "nats://h", replicas=7)
    elif kind == "redis":
        with pytest.raises(ConfigurationError, match="maxlen"):
            RedisBroker("r", "redis://h", maxlen=0)
    elif kind == "rabbitmq":
        from svcgen_runtime.brokers.base import SubscriptionSpec
        from svcgen_runtime.brokers.rabbitmq.broker import queue_arguments

        spec = SubscriptionSpec("c", "s", "g", options={"delivery_limit": 3})
        with pytest.raises(ConfigurationError, match="quorum"):
            queue_arguments(spec)
        quorum = SubscriptionSpec(
            "c", "s", "g", dead_letter="s.dlq", options={"queue_type": "quorum"}
        )
        assert queue_arguments(quorum) == (True, {})
    else:
        assert kind == "mqtt"
        assert MqttBroker("m", "mqtt://h", session_expiry=60).session_expiry == 60
