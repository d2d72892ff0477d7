"""``deploy/``: the manifests ``svcgen generate`` writes and ``svcgen check`` holds.

No cluster is available here: each manifest is validated offline, in strict mode
(no unknown field), against the OpenAPI schemas of Kubernetes 1.37 that the
``kubernetes-validate`` package ships, which is what ``kubectl apply
--validate=strict`` checks against a 1.37 API server. The kustomizations (not a
Kubernetes kind) are checked for what kustomize needs: each resource exists.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from click.testing import CliRunner

from svcgen import commands
from svcgen.cli import main
from svcgen.deploy import GRACE_MARGIN
from svcgen.formatting import HEADER
from svcgen.render import templates_dir

KUBERNETES = "1.37.0"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BASE = "deploy/base"
OVERLAY = "deploy/overlay/kustomization.yaml"

WITH_HTTP = """\
name: shop_front
brokers:
  events: {kind: kafka, url: "${KAFKA_URL:-localhost:9092}"}
  cache_bus: {kind: redis, url: "redis://${REDIS_HOST:-localhost}:6379/0"}
http:
  port: 8123
  routes:
    - {name: get_cart, method: GET, path: "/carts/{cart_id}"}
consumers:
  - {name: cart_updated, broker: events, source: carts.updated}
resources:
  database: {kind: postgres, url: "${DATABASE_URL}"}
shutdown: {drain_timeout: 25s}
"""

WITHOUT_HTTP = """\
name: worker
brokers:
  local: {kind: memory}
consumers:
  - {name: job, broker: local, source: jobs}
"""


def validate_kubernetes(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Every document of ``root/deploy/base``, each Kubernetes kind validated
    strictly; the base kustomization lists exactly the other files."""
    docs = {}
    for path in sorted((root / BASE).iterdir()):
        text = path.read_text(encoding="utf-8")
        assert text.startswith(HEADER + "\n"), path
        docs[path.name] = [d for d in yaml.safe_load_all(text) if d is not None]
    for name, found in docs.items():
        for doc in found:
            if doc["apiVersion"].startswith(("keda.sh/", "kustomize.config")):
                continue  # KEDA's kinds: test_autoscale.py, against KEDA's CRDs
            try:
                kubernetes_validate.validate(doc, KUBERNETES, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{name}: {str(exc)[:600]}")
    (kustomization,) = docs["kustomization.yaml"]
    assert sorted(kustomization["resources"]) == sorted(
        set(docs) - {"kustomization.yaml"}
    )
    overlay = yaml.safe_load((root / OVERLAY).read_text(encoding="utf-8"))
    assert overlay["resources"] == ["../base"]
    return docs


def generate(root: Path, spec: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "service.yaml").write_text(spec, encoding="utf-8")
    commands.generate(root)
    return root


def deployment(root: Path) -> dict[str, Any]:
    (doc,) = yaml.safe_load_all((root / BASE / "deployment.yaml").read_text())
    assert isinstance(doc, dict)
    return doc


def container(root: Path) -> dict[str, Any]:
    (c,) = deployment(root)["spec"]["template"]["spec"]["containers"]
    assert isinstance(c, dict)
    return c


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir()))
def test_every_example_generates_valid_manifests(example: str, tmp_path: Path) -> None:
    root = tmp_path / example
    shutil.copytree(EXAMPLES / example, root)
    shutil.rmtree(root / "deploy", ignore_errors=True)
    commands.generate(root)
    docs = validate_kubernetes(root)
    assert {"deployment.yaml", "pdb.yaml"} <= set(docs)
    # the example as committed is what svcgen generates (examples are current)
    for name in docs:
        committed = EXAMPLES / example / BASE / name
        assert committed.read_text() == (root / BASE / name).read_text(), name


def test_a_service_with_http_gets_a_service_probes_and_secret_urls(
    tmp_path: Path,
) -> None:
    root = generate(tmp_path / "svc", WITH_HTTP)
    docs = validate_kubernetes(root)
    assert set(docs) == {
        "deployment.yaml",
        "kustomization.yaml",
        "pdb.yaml",
        "service.yaml",
    }
    c = container(root)
    # The port the runtime serves on: http.port, set through HTTP_PORT, which the
    # generated settings read.
    assert c["ports"] == [{"name": "http", "containerPort": 8123}]
    env = {e["name"]: e for e in c["env"]}
    assert env["HTTP_PORT"] == {"name": "HTTP_PORT", "value": "8123"}
    settings = (root / "src/shop_front/_generated/settings.py").read_text()
    for var in ("KAFKA_URL", "REDIS_HOST", "DATABASE_URL", "HTTP_PORT"):
        assert f'"{var}"' in settings  # the name the service reads
    for var in ("KAFKA_URL", "REDIS_HOST", "DATABASE_URL"):
        assert env[var]["valueFrom"] == {
            "secretKeyRef": {"name": "shop-front-connections", "key": var}
        }
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["resources"]["requests"]
    meta = deployment(root)["spec"]["template"]["metadata"]
    assert meta["annotations"]["prometheus.io/port"] == "8123"
    assert meta["annotations"]["prometheus.io/path"] == "/metrics"
    (service,) = docs["service.yaml"]
    assert service["metadata"]["name"] == "shop-front"  # '_' is not allowed there
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    (pdb,) = docs["pdb.yaml"]
    assert pdb["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]


def test_a_service_without_http_serves_probes_on_the_health_port(
    tmp_path: Path,
) -> None:
    root = generate(tmp_path / "svc", WITHOUT_HTTP)
    docs = validate_kubernetes(root)
    assert "service.yaml" not in docs
    c = container(root)
    assert c["ports"] == [{"name": "http", "containerPort": 8080}]
    assert c["env"] == [{"name": "HEALTH_PORT", "value": "8080"}]
    settings = (root / "src/worker/_generated/settings.py").read_text()
    assert '"HEALTH_PORT"' in settings
    assert 'default="8080"' in settings


@pytest.mark.parametrize(
    ("drain", "grace"), [("25s", 25 + GRACE_MARGIN), ("60s", 60 + GRACE_MARGIN)]
)
def test_the_grace_period_follows_drain_timeout(
    drain: str, grace: int, tmp_path: Path
) -> None:
    root = generate(tmp_path / "svc", WITH_HTTP.replace("25s", drain))
    spec = deployment(root)["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] == grace
    assert f"plus {GRACE_MARGIN} s" in (root / BASE / "deployment.yaml").read_text()


def test_a_fractional_drain_is_rounded_up(tmp_path: Path) -> None:
    root = generate(tmp_path / "svc", WITH_HTTP.replace("25s", "1500ms"))
    spec = deployment(root)["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] == 2 + GRACE_MARGIN


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_check_reports_deploy_drift_after_a_spec_edit_until_generate(
    tmp_path: Path,
) -> None:
    root = generate(tmp_path / "svc", WITH_HTTP)
    assert run("check", "--dir", str(root)).exit_code == 0
    spec = root / "service.yaml"
    spec.write_text(WITH_HTTP.replace("25s", "60s"))
    result = run("check", "--dir", str(root))
    assert result.exit_code != 0
    assert "deploy/base/deployment.yaml" in result.output
    assert "-      terminationGracePeriodSeconds: 35" in result.output
    assert "+      terminationGracePeriodSeconds: 70" in result.output
    assert run("generate", "--dir", str(root)).exit_code == 0
    assert run("check", "--dir", str(root)).exit_code == 0


def test_a_hand_edit_of_the_base_is_drift_and_generate_puts_it_back(
    tmp_path: Path,
) -> None:
    root = generate(tmp_path / "svc", WITH_HTTP)
    path = root / BASE / "deployment.yaml"
    original = path.read_text()
    path.write_text(original.replace("memory: 128Mi", "memory: 1Gi"))
    drifts = commands.check(root)
    assert [(d.path, d.kind) for d in drifts] == [(f"{BASE}/deployment.yaml", "stale")]
    assert "+              memory: 128Mi" in drifts[0].diff
    commands.generate(root)
    assert path.read_text() == original
    assert commands.check(root) == []


def test_a_manifest_no_longer_produced_is_reported_then_deleted(
    tmp_path: Path,
) -> None:
    root = generate(tmp_path / "svc", WITH_HTTP)
    http = (
        "http:\n  port: 8123\n  routes:\n"
        '    - {name: get_cart, method: GET, path: "/carts/{cart_id}"}\n'
    )
    assert http in WITH_HTTP
    (root / "service.yaml").write_text(WITH_HTTP.replace(http, ""))
    # the route's stub stays (user-owned); the Service manifest is svcgen's
    kinds = {d.path: d.kind for d in commands.check(root)}
    assert kinds[f"{BASE}/service.yaml"] == "extra"
    report = commands.generate(root)
    assert f"{BASE}/service.yaml" in report.deleted
    assert not (root / BASE / "service.yaml").exists()
    validate_kubernetes(root)


def test_a_file_without_the_header_in_the_base_is_never_overwritten(
    tmp_path: Path,
) -> None:
    root = generate(tmp_path / "svc", WITH_HTTP)
    mine = root / BASE / "pdb.yaml"
    mine.write_text("# my own PDB\n")
    result = run("generate", "--dir", str(root))
    assert result.exit_code != 0
    assert "deploy/base/pdb.yaml exists but does not start with" in result.output
    assert mine.read_text() == "# my own PDB\n"
    kinds = {d.path: d.kind for d in commands.check(root)}
    assert kinds[f"{BASE}/pdb.yaml"] == "not-generated"


def test_the_overlay_is_created_once_and_never_overwritten(tmp_path: Path) -> None:
    root = generate(tmp_path / "svc", WITH_HTTP)
    overlay = root / OVERLAY
    skeleton = templates_dir() / "skeleton/project" / OVERLAY
    assert overlay.read_text() == skeleton.read_text()
    assert not overlay.read_text().startswith(HEADER)
    mine = overlay.read_text() + "namespace: shop\n"
    overlay.write_text(mine)
    (root / "service.yaml").write_text(WITH_HTTP.replace("25s", "60s"))
    report = commands.generate(root)
    assert OVERLAY not in report.written + report.created
    assert overlay.read_text() == mine
    assert commands.check(root) == []
    overlay.unlink()  # a deleted overlay is missing, and generate makes it again
    assert [d.kind for d in commands.check(root)] == ["missing"]
    assert OVERLAY in commands.generate(root).created


def test_new_creates_the_overlay_and_a_current_base(tmp_path: Path) -> None:
    root = commands.new("fresh-svc", brokers=["kafka"], directory=tmp_path / "fresh")
    assert (root / OVERLAY).read_text() == (
        templates_dir() / "skeleton/project" / OVERLAY
    ).read_text()
    assert not (root / "deploy/deployment.yaml").exists()  # the old skeleton file
    validate_kubernetes(root)
    assert commands.check(root) == []


HOSTILE = """\
name: hostile
brokers:
  q: {kind: rabbitmq, url: "${RABBITMQ_URL:-amqp://x/}"}
consumers:
  - name: odd
    broker: q
    source: "a:{b:[c]}#d&e*f!g|h>i%j@k,m"
    group: "---...:{x}"
autoscale: {max: 3}
"""


def test_values_from_the_spec_never_change_the_yaml_structure(tmp_path: Path) -> None:
    """Addresses with YAML syntax in them come back as the same strings, in the
    fields they were meant for (the dumper quotes them)."""
    root = generate(tmp_path / "svc", HOSTILE)
    validate_kubernetes(root)
    (scaled,) = yaml.safe_load_all((root / BASE / "scaledobject.yaml").read_text())
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["metadata"]["queueName"] == "a:{b:[c]}#d&e*f!g|h>i%j@k,m"
    assert set(trigger["metadata"]) == {"queueName", "mode", "value", "hostFromEnv"}


LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
"""An RFC 1123 label: what Kubernetes takes as a Service or container name."""


def test_every_name_is_one_kubernetes_takes(tmp_path: Path) -> None:
    """The schemas do not check names; a service or broker name that Python takes
    (``_``, a trailing ``_``, 64 characters) still makes RFC 1123 names."""
    service = "s" * 62 + "__"
    spec = f"""\
name: {service}
brokers:
  n_: {{kind: nats, url: "${{NATS_URL:-nats://localhost:4222}}"}}
http: {{}}
consumers:
  - {{name: c, broker: n_, source: jobs}}
autoscale: {{max: 2}}
"""
    root = generate(tmp_path / "svc", spec)
    docs = validate_kubernetes(root)
    named = [d for found in docs.values() for d in found if "metadata" in d]
    auths = docs["triggerauthentication.yaml"]
    assert auths[0]["metadata"]["name"] == "s" * 62 + "-n"
    for doc in named:  # a Service's, a container's: a label; the others' a subdomain
        n = doc["metadata"]["name"]
        limit = 253 if doc["kind"] == "TriggerAuthentication" else 63
        assert len(n) <= limit and all(LABEL.match(p) for p in n.split(".")), n
    assert LABEL.match(container(root)["name"])
    label_values = deployment(root)["metadata"]["labels"].values()
    assert all(len(v) <= 63 and LABEL.match(v) for v in label_values)
