"""The Kubernetes manifests of ``deploy/base/``: plan in, ``{path: YAML text}`` out.

svcgen owns ``deploy/base/`` as it owns ``_generated/``: every file starts with the
header (a YAML comment), ``generate`` rewrites it and ``check`` reports drift. The
user changes the deployment through the kustomize overlay ``deploy/overlay/``,
created once and never touched again.

Every document is built as plain data and written by PyYAML's safe dumper, so no
value from the spec can change a document's structure; the comments above it are
svcgen's own text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

from .formatting import HEADER
from .kinds import BROKERS
from .plan_records import Part, Plan

BASE: Final = "deploy/base"
"""The folder of generated manifests."""
OVERLAY: Final = "deploy/overlay/kustomization.yaml"
"""The user's kustomize overlay, created when missing."""

GRACE_MARGIN: Final = 10
"""Seconds of ``terminationGracePeriodSeconds`` beyond the drain timeout."""
STARTUP_SECONDS: Final = 60
"""How long the startup probe lets a pod take before ``/healthz`` must answer."""
REQUESTS: Final = {"cpu": "100m", "memory": "128Mi"}
"""The container's resource requests; the overlay can patch them."""
REPLICAS: Final = 2
"""Replicas without ``autoscale``."""


class Manifests(NamedTuple):
    """The generated files and what the user should know about them."""

    files: dict[str, str]
    """Relative path → YAML text, header first."""
    notes: list[str]


def kube_name(service: str) -> str:
    """The service's name as Kubernetes takes it (an RFC 1123 label)."""
    name = service.replace("_", "-")[:63].rstrip("-")
    return name or "service"


def secret_name(plan: Plan) -> str:
    """The Secret the connection URLs come from (the user creates it)."""
    return f"{kube_name(plan.service)}-connections"


def manifests(plan: Plan) -> Manifests:
    """Every manifest ``plan`` asks for, and notes on what autoscale cannot do."""
    name = kube_name(plan.service)
    labels = {"app.kubernetes.io/name": name}
    files: dict[str, str] = {}
    notes: list[str] = []
    grace = math.ceil(plan.drain_timeout) + GRACE_MARGIN
    files["deployment.yaml"] = _document(
        [
            f"The {name} Deployment. terminationGracePeriodSeconds ({grace}) is",
            f"shutdown.drain_timeout rounded up ({math.ceil(plan.drain_timeout)}) plus "
            f"{GRACE_MARGIN} s: after SIGTERM",
            "the service drains in-flight work for up to drain_timeout, then closes",
            "its brokers and resources; the margin covers that and the delay before",
            "SIGTERM reaches it, so SIGKILL never cuts a drain short.",
            f"Connection URLs come from the Secret {secret_name(plan)} (one key per",
            "variable below); create it before applying. A missing key keeps the",
            "pod from starting and names the key.",
        ],
        _deployment(plan, name, labels, grace),
    )
    if plan.http:
        files["service.yaml"] = _document(
            [f"The {name} Service: the HTTP routes, probes and /metrics."],
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    "selector": labels,
                    "ports": [
                        {"name": "http", "port": plan.port, "targetPort": "http"}
                    ],
                },
            },
        )
    files["pdb.yaml"] = _document(
        ["Voluntary disruptions (node drains) take down one replica at a time."],
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "labels": labels},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
        },
    )
    if plan.autoscale is not None:
        _autoscale(plan, name, labels, files, notes)
    files["kustomization.yaml"] = _document(
        [f"The {name} service's base; deploy/overlay/ is where to change it."],
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": sorted(files),
        },
    )
    return Manifests({f"{BASE}/{f}": text for f, text in files.items()}, notes)


def _deployment(
    plan: Plan, name: str, labels: dict[str, str], grace: int
) -> dict[str, Any]:
    def probe(path: str, period: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": "http"},
            "periodSeconds": period,
            "failureThreshold": failures,
        }

    port_var = "HTTP_PORT" if plan.http else "HEALTH_PORT"
    env: list[dict[str, Any]] = [{"name": port_var, "value": str(plan.port)}]
    env += [
        {
            "name": var,
            "valueFrom": {"secretKeyRef": {"name": secret_name(plan), "key": var}},
        }
        for var in connection_vars(plan)
    ]
    container = {
        "name": name,
        "image": f"{name}:latest",
        "ports": [{"name": "http", "containerPort": plan.port}],
        "env": env,
        "resources": {"requests": dict(REQUESTS)},
        "startupProbe": probe("/healthz", 2, STARTUP_SECONDS // 2),
        "livenessProbe": probe("/healthz", 10, 3),
        "readinessProbe": probe("/readyz", 5, 1),
    }
    spec: dict[str, Any] = {}
    if plan.autoscale is None:
        spec["replicas"] = REPLICAS  # with autoscale, KEDA sets the count
    spec["selector"] = {"matchLabels": labels}
    spec["template"] = {
        "metadata": {
            "labels": labels,
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(plan.port),
                "prometheus.io/path": "/metrics",
            },
        },
        "spec": {
            "terminationGracePeriodSeconds": grace,
            "containers": [container],
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }


def connection_vars(plan: Plan) -> list[str]:
    """The environment variables of the URL settings (brokers, cache, database),
    in the order of the settings, each once."""
    found: dict[str, None] = {}
    for setting in plan.settings:
        if setting.attr.endswith("_url"):
            for part in setting.parts:
                if part.var is not None:
                    found.setdefault(part.var)
    return list(found)


def _url_parts(plan: Plan, broker: str) -> tuple[Part, ...]:
    """The parts of a broker's URL setting (literal text and ``${VAR}``s)."""
    attr = f"{broker}_url"
    return next((s.parts for s in plan.settings if s.attr == attr), ())


def _url_var(plan: Plan, broker: str) -> str | None:
    """The one variable a broker's URL is (``${VAR}``), or None for a literal."""
    return next((p.var for p in _url_parts(plan, broker) if p.var is not None), None)


def _url_literal(plan: Plan, broker: str) -> str:
    return "".join(p.text for p in _url_parts(plan, broker))


def _autoscale(
    plan: Plan,
    name: str,
    labels: dict[str, str],
    files: dict[str, str],
    notes: list[str],
) -> None:
    scale = plan.autoscale
    assert scale is not None
    triggers: list[dict[str, Any]] = []
    auths: dict[str, dict[str, Any]] = {}
    unscaled: list[str] = []
    for c in plan.consumers:
        scaler = BROKERS[c.broker_kind].scaler
        if scaler is None:
            unscaled.append(f"{c.name} ({c.broker_kind})")
            continue
        metadata = dict(scaler.backlog(c.source, c.group))
        metadata[scaler.threshold] = str(scale.lag_per_replica)
        trigger: dict[str, Any] = {"type": scaler.trigger, "name": c.name}
        if scaler.from_secret is None:
            var = _url_var(plan, c.broker)
            if var is not None:
                metadata[f"{scaler.connection}FromEnv"] = var
            else:
                metadata[scaler.connection] = _url_literal(plan, c.broker)
        else:
            auth = f"{name}-{c.broker.replace('_', '-')}".rstrip("-")
            auths[auth] = {
                "parameter": scaler.connection,
                "name": secret_name(plan),
                "key": c.broker.upper() + scaler.from_secret,
            }
            trigger["authenticationRef"] = {"name": auth}
        trigger["metadata"] = metadata
        triggers.append(trigger)
    if unscaled:
        notes.append(
            "autoscale: KEDA has no trigger for the backlog of "
            f"{_listed(unscaled)}, so deploy/base/scaledobject.yaml does not scale "
            "on it"
            + ("" if triggers else " (no ScaledObject is written: nothing to scale on)")
        )
    if not triggers:
        return
    comments = [
        f"KEDA scales {name} from {scale.min} to {scale.max} replicas, one per "
        f"{scale.lag_per_replica} messages waiting,",
        "on the consumers' backlog: one trigger per consumer.",
    ]
    if unscaled:
        comments.append(f"No trigger for {_listed(unscaled)}: KEDA cannot see it.")
    files["scaledobject.yaml"] = _document(
        comments,
        {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "scaleTargetRef": {"name": name},
                "minReplicaCount": scale.min,
                "maxReplicaCount": scale.max,
                "triggers": triggers,
            },
        },
    )
    if auths:
        files["triggerauthentication.yaml"] = _documents(
            [
                "How KEDA reaches a broker whose scaler wants its address in another",
                f"form than the service's URL: a key of the Secret {secret_name(plan)}",
                "(nats: the monitoring endpoint, host:8222; redis: host:port).",
            ],
            [
                {
                    "apiVersion": "keda.sh/v1alpha1",
                    "kind": "TriggerAuthentication",
                    "metadata": {"name": auth, "labels": labels},
                    "spec": {"secretTargetRef": [ref]},
                }
                for auth, ref in sorted(auths.items())
            ],
        )


def _listed(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _document(comments: list[str], doc: dict[str, Any]) -> str:
    return _documents(comments, [doc])


def _documents(comments: list[str], docs: list[dict[str, Any]]) -> str:
    """The header, ``comments`` as ``#`` lines, then ``docs`` as YAML documents."""
    import yaml

    head = "".join(f"# {line}\n" for line in comments)
    body = "---\n".join(
        yaml.dump(
            doc,
            Dumper=_dumper(),
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=False,
            width=1 << 20,
        )
        for doc in docs
    )
    return f"{HEADER}\n{head}{body}"


def _dumper() -> Any:
    """PyYAML's safe dumper, indenting a list under its key as kubectl writes it."""
    import yaml

    class Dumper(yaml.SafeDumper):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True  # a label mapping used twice is written twice, no anchors

        def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
            return super().increase_indent(flow, False)

    return Dumper
