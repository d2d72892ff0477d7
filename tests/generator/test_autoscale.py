"""``autoscale``: the KEDA ScaledObject (and TriggerAuthentication) svcgen writes.

No cluster and no KEDA operator are available here: each generated KEDA object is
validated offline against the ``openAPIV3Schema`` of KEDA's own CRDs, shipped in
``tests/data/keda/`` (see its README for the commit), which is what the API server
checks when the object is applied; each trigger's metadata keys are checked against
the keys KEDA's scalers read (``pkg/scalers/<kind>_scaler.go`` at that commit, as
documented on keda.sh), and its names against the ones the runtime adapters use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from click.testing import CliRunner

from svcgen import commands
from svcgen.cli import main
from svcgen.errors import SpecError
from svcgen.kinds import BROKERS
from svcgen_runtime.brokers.nats.names import name_for

KEDA = Path(__file__).resolve().parents[1] / "data" / "keda"
BASE = "deploy/base"

DOCUMENTED_KEYS = {
    # trigger type: (keys it may carry, keys it needs); "<key>FromEnv" where the
    # scaler resolves <key> from the target container's environment.
    "kafka": (
        {"bootstrapServers", "bootstrapServersFromEnv", "consumerGroup", "topic"}
        | {"lagThreshold", "activationLagThreshold", "offsetResetPolicy"},
        {"consumerGroup", "topic", "lagThreshold"},
    ),
    "rabbitmq": (
        {"host", "hostFromEnv", "queueName", "mode", "value", "protocol"},
        {"queueName", "mode", "value"},
    ),
    "nats-jetstream": (
        {"natsServerMonitoringEndpoint", "account", "stream", "consumer"}
        | {"lagThreshold", "activationLagThreshold", "useHttps"},
        {"stream", "consumer", "lagThreshold"},
    ),
    "redis-streams": (
        {"address", "addressFromEnv", "stream", "consumerGroup"}
        | {"pendingEntriesCount", "databaseIndex", "enableTLS"},
        {"stream", "consumerGroup", "pendingEntriesCount"},
    ),
}
"""KEDA's trigger metadata (tags of ``pkg/scalers/*_scaler.go`` at the commit in
tests/data/keda/README.md; keda.sh/docs/latest/scalers/)."""
AUTH_PARAMETERS = {
    "nats-jetstream": "natsServerMonitoringEndpoint",
    "redis-streams": "address",
}
"""The parameters those scalers also take from a TriggerAuthentication."""

ALL_KINDS = """\
name: every-kind
brokers:
  k: {kind: kafka, url: "${KAFKA_URL:-localhost:9092}"}
  r: {kind: rabbitmq, url: "${RABBITMQ_URL:-amqp://guest:guest@localhost:5672/}"}
  n_s: {kind: nats, url: "${NATS_URL:-nats://localhost:4222}"}
  rd: {kind: redis, url: "${REDIS_URL:-redis://localhost:6379/0}"}
  m: {kind: mqtt, url: "${MQTT_URL:-mqtt://localhost:1883}"}
  mem: {kind: memory}
consumers:
  - {name: on_kafka, broker: k, source: orders.created, group: billing}
  - {name: on_rabbit, broker: r, source: orders.created}
  - {name: on_nats, broker: n_s, source: orders.created, group: billing.v2}
  - {name: on_redis, broker: rd, source: orders-created, group: billing}
  - {name: on_mqtt, broker: m, source: sensors/+/temp}
  - {name: on_memory, broker: mem, source: local}
autoscale: {min: 0, max: 12, lag_per_replica: 40}
"""


def crd_schema(name: str) -> dict[str, Any]:
    crd = yaml.safe_load((KEDA / name).read_text(encoding="utf-8"))
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    schema = version["schema"]["openAPIV3Schema"]
    assert isinstance(schema, dict)
    return schema


def validate_keda(doc: dict[str, Any]) -> None:
    """``doc`` against its KEDA CRD's schema (unknown fields refused, as a
    structural schema prunes them)."""
    files = {
        "ScaledObject": "keda.sh_scaledobjects.yaml",
        "TriggerAuthentication": "keda.sh_triggerauthentications.yaml",
    }
    assert doc["apiVersion"] == "keda.sh/v1alpha1"
    schema = _closed(crd_schema(files[doc["kind"]]))
    jsonschema.validate(doc, schema, cls=jsonschema.Draft7Validator)


def _closed(node: Any) -> Any:
    """The schema with ``additionalProperties: false`` wherever it lists the
    properties and says nothing else (the API server drops unknown fields there;
    refusing them catches a misspelt key). ``metadata`` is left open."""
    if isinstance(node, dict):
        out = {k: _closed(v) for k, v in node.items()}
        props = out.get("properties")
        if isinstance(props, dict) and "additionalProperties" not in out:
            if "kind" not in props:  # the root keeps metadata open
                out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(v) for v in node]
    return node


def generate(root: Path, spec: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "service.yaml").write_text(spec, encoding="utf-8")
    commands.generate(root)
    return root


def docs(root: Path, name: str) -> list[dict[str, Any]]:
    text = (root / BASE / name).read_text(encoding="utf-8")
    return [d for d in yaml.safe_load_all(text) if d is not None]


def test_the_crd_schemas_refuse_a_bad_scaled_object() -> None:
    """The validation below can fail: a misspelt field and a wrong type are caught."""
    good: dict[str, Any] = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {
            "scaleTargetRef": {"name": "x"},
            "triggers": [{"type": "kafka", "metadata": {"topic": "t"}}],
        },
    }
    validate_keda(good)
    for bad in (
        {**good, "spec": {**good["spec"], "maxReplicas": 3}},
        {**good, "spec": {**good["spec"], "minReplicaCount": "1"}},
        {**good, "spec": {"scaleTargetRef": {"name": "x"}}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate_keda(bad)


def test_one_trigger_per_consumer_matching_its_broker(tmp_path: Path) -> None:
    root = generate(tmp_path / "svc", ALL_KINDS)
    (scaled,) = docs(root, "scaledobject.yaml")
    validate_keda(scaled)
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {"name": "every-kind"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (0, 12)
    triggers = {t["name"]: t for t in spec["triggers"]}
    assert set(triggers) == {"on_kafka", "on_rabbit", "on_nats", "on_redis"}
    for trigger in triggers.values():
        allowed, needed = DOCUMENTED_KEYS[trigger["type"]]
        assert needed <= set(trigger["metadata"]) <= allowed, trigger
        assert all(isinstance(v, str) for v in trigger["metadata"].values())
    kafka, rabbit = triggers["on_kafka"], triggers["on_rabbit"]
    nats, redis = triggers["on_nats"], triggers["on_redis"]
    assert kafka["type"] == BROKERS["kafka"].scaler.trigger == "kafka"  # type: ignore[union-attr]
    # the names the runtime adapters use: Kafka's group and topic; the RabbitMQ
    # queue the source names; the JetStream stream and durable the NATS adapter
    # derives (``name_for``); the Redis stream and consumer group
    assert kafka["metadata"] == {
        "topic": "orders.created",
        "consumerGroup": "billing",
        "lagThreshold": "40",
        "bootstrapServersFromEnv": "KAFKA_URL",
    }
    assert rabbit["type"] == "rabbitmq"
    assert rabbit["metadata"] == {
        "queueName": "orders.created",
        "mode": "QueueLength",
        "value": "40",
        "hostFromEnv": "RABBITMQ_URL",
    }
    assert nats["type"] == "nats-jetstream"
    assert nats["metadata"] == {
        "stream": name_for("orders.created"),
        "consumer": name_for("billing.v2"),
        "lagThreshold": "40",
    }
    assert nats["authenticationRef"] == {"name": "every-kind-n-s"}
    assert redis["type"] == "redis-streams"
    assert redis["metadata"] == {
        "stream": "orders-created",
        "consumerGroup": "billing",
        "pendingEntriesCount": "40",
    }
    # the variables the triggers read are the Deployment's, from the Secret
    (deployment,) = docs(root, "deployment.yaml")
    (c,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"] for e in c["env"]}
    assert {"KAFKA_URL", "RABBITMQ_URL"} <= env
    assert "replicas" not in deployment["spec"]  # KEDA owns the count
    text = (root / BASE / "scaledobject.yaml").read_text()
    assert "No trigger for on_memory (memory) and on_mqtt (mqtt)" in text


def test_trigger_authentications_match_the_crd_and_the_scalers(tmp_path: Path) -> None:
    root = generate(tmp_path / "svc", ALL_KINDS)
    auths = {d["metadata"]["name"]: d for d in docs(root, "triggerauthentication.yaml")}
    assert set(auths) == {"every-kind-n-s", "every-kind-rd"}
    for doc in auths.values():
        validate_keda(doc)
    assert auths["every-kind-n-s"]["spec"]["secretTargetRef"] == [
        {
            "parameter": AUTH_PARAMETERS["nats-jetstream"],
            "name": "every-kind-connections",
            "key": "N_S_MONITORING_ENDPOINT",
        }
    ]
    assert auths["every-kind-rd"]["spec"]["secretTargetRef"] == [
        {
            "parameter": AUTH_PARAMETERS["redis-streams"],
            "name": "every-kind-connections",
            "key": "RD_ADDRESS",
        }
    ]
    (kustomization,) = docs(root, "kustomization.yaml")
    assert "triggerauthentication.yaml" in kustomization["resources"]
    assert "scaledobject.yaml" in kustomization["resources"]


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_generate_and_check_say_plainly_what_is_not_scaled(tmp_path: Path) -> None:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "service.yaml").write_text(ALL_KINDS)
    note = (
        "autoscale: KEDA has no trigger for the backlog of on_memory (memory) and "
        "on_mqtt (mqtt)"
    )
    generated = run("generate", "--dir", str(root))
    assert generated.exit_code == 0
    assert note in generated.output
    checked = run("check", "--dir", str(root))
    assert checked.exit_code == 0
    assert note in checked.output


def test_only_mqtt_consumers_write_no_scaled_object(tmp_path: Path) -> None:
    spec = """\
name: sensors
brokers:
  m: {kind: mqtt, url: "${MQTT_URL:-mqtt://localhost:1883}"}
consumers:
  - {name: temp, broker: m, source: sensors/+/temp}
autoscale: {max: 4}
"""
    root = generate(tmp_path / "svc", spec)
    assert not (root / BASE / "scaledobject.yaml").exists()
    result = run("check", "--dir", str(root))
    assert "no ScaledObject is written: nothing to scale on" in result.output


def test_removing_autoscale_deletes_the_scaled_object(tmp_path: Path) -> None:
    root = generate(tmp_path / "svc", ALL_KINDS)
    (root / "service.yaml").write_text(ALL_KINDS.split("autoscale:")[0])
    kinds = {d.path: d.kind for d in commands.check(root)}
    assert kinds[f"{BASE}/scaledobject.yaml"] == "extra"
    assert kinds[f"{BASE}/triggerauthentication.yaml"] == "extra"
    report = commands.generate(root)
    assert f"{BASE}/scaledobject.yaml" in report.deleted
    (deployment,) = docs(root, "deployment.yaml")
    assert deployment["spec"]["replicas"] == 2


@pytest.mark.parametrize(
    ("autoscale", "line", "message"),
    [
        ("{min: 5, max: 2}", 7, "min (5) exceeds max (2): raise max or lower min"),
        ("{min: 1}", 7, "max"),
        ("{max: 3, lag_per_replica: 0}", 7, "lag_per_replica"),
        ("{max: 3, lag: 5}", 7, "lag"),
        ("{max: -1}", 7, "max"),
    ],
)
def test_bad_autoscale_values_name_their_line_and_write_nothing(
    autoscale: str, line: int, message: str, tmp_path: Path
) -> None:
    spec = f"""\
name: shop
brokers:
  k: {{kind: kafka, url: "${{KAFKA_URL:-localhost:9092}}"}}
consumers:
  - {{name: c, broker: k, source: orders}}

autoscale: {autoscale}
"""
    (tmp_path / "service.yaml").write_text(spec)
    with pytest.raises(SpecError) as raised:
        commands.generate(tmp_path)
    text = str(raised.value)
    assert f"service.yaml:{line}:" in text
    assert message in text
    assert "autoscale" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["service.yaml"]


def test_a_url_keda_cannot_read_whole_is_refused_with_its_line(tmp_path: Path) -> None:
    spec = """\
name: shop
brokers:
  k: {kind: kafka, url: "${KAFKA_HOST:-localhost}:9092"}
consumers:
  - {name: c, broker: k, source: orders}
autoscale: {max: 3}
"""
    (tmp_path / "service.yaml").write_text(spec)
    with pytest.raises(SpecError) as raised:
        commands.generate(tmp_path)
    text = str(raised.value)
    assert "service.yaml:3:" in text
    assert "assembled from pieces" in text
    assert '"${KAFKA_URL:-...}"' in text
    # the same URL without autoscale is fine: only KEDA needs it whole
    (tmp_path / "service.yaml").write_text(spec.replace("autoscale: {max: 3}\n", ""))
    commands.generate(tmp_path)


def test_every_kind_with_a_scaler_names_a_documented_trigger() -> None:
    for kind in BROKERS.values():
        if kind.scaler is None:
            assert kind.name in ("memory", "mqtt")
            continue
        allowed, _ = DOCUMENTED_KEYS[kind.scaler.trigger]
        metadata = kind.scaler.backlog("a.b", "g")
        assert set(metadata) | {kind.scaler.threshold} <= allowed
        if kind.scaler.from_secret is None:
            assert f"{kind.scaler.connection}FromEnv" in allowed
        else:
            assert AUTH_PARAMETERS[kind.scaler.trigger] == kind.scaler.connection


@pytest.mark.parametrize(
    "subject", ["orders.created", "a-b_c", "x.y.z", "é.ü", "a:b/c", "tasks.send_mail"]
)
def test_the_nats_names_are_the_runtimes(subject: str) -> None:
    """The table derives JetStream stream and consumer names as the adapter does."""
    scaler = BROKERS["nats"].scaler
    assert scaler is not None
    metadata = scaler.backlog(subject, subject)
    assert metadata == {"stream": name_for(subject), "consumer": name_for(subject)}
