"""``svcgen docs``: a self-consistent AsyncAPI 3.0 document for every golden spec,
payload schemas from the service's models, no credentials, clear errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from svcgen import commands
from svcgen.docs import asyncapi
from svcgen.spec import load_spec, parse_spec
from tests.support import run_svcgen

from .golden import EXPECTED, GOLDEN, cases

GOOD = [c for c in cases() if not c.name.startswith("bad_")]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _check(doc: dict[str, Any]) -> None:
    """What AsyncAPI 3.0 requires of the parts svcgen writes, and that every
    reference points at something."""
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    for server in doc["servers"].values():
        assert server["host"] and server["protocol"]
        for name in server.get("variables", {}):
            assert "{" + name + "}" in server["host"] + server.get("pathname", "")
    for ref in _refs(doc):
        _resolve(doc, ref)
    for name, op in doc["operations"].items():
        assert op["action"] in ("send", "receive"), name
        channel = op["channel"]["$ref"]
        for message in op["messages"]:  # an operation's messages are its channel's
            assert message["$ref"].startswith(channel + "/messages/"), name
    for channel in doc["channels"].values():
        assert channel["address"] and channel["messages"] and channel["servers"]


@pytest.mark.parametrize("case", GOOD, ids=[c.name for c in GOOD])
def test_every_golden_spec_gives_a_consistent_document(case: Path) -> None:
    spec = load_spec(case / "service.yaml")
    doc = asyncapi(spec, case / EXPECTED, schemas=False)
    _check(doc)
    ops = doc["operations"]
    for c in spec.consumers:
        assert ops[c.name]["action"] == "receive"
        assert _resolve(doc, ops[c.name]["channel"]["$ref"])["address"] == c.source
    for p in spec.publishers:
        assert ops[p.name]["action"] == "send"
        assert _resolve(doc, ops[p.name]["channel"]["$ref"])["address"] == p.target
    for t in spec.tasks:
        assert ops[t.name]["action"] == "receive"
        assert ops[f"enqueue_{t.name}"]["channel"] == ops[t.name]["channel"]
    assert set(doc["servers"]) == set(spec.brokers)


def test_urls_lose_their_credentials_and_keep_variables() -> None:
    spec = parse_spec(
        "name: creds\n"
        "brokers:\n"
        '  rabbit: {kind: rabbitmq, url: "amqp://${RABBIT_USER:-guest}:'
        '${RABBIT_PASSWORD}@${RABBIT_HOST}:5672/vhost"}\n'
        '  plain: {kind: kafka, url: "kafka-0:9092"}\n'
        "publishers:\n"
        "  - {name: out, broker: rabbit, target: out}\n"
        "  - {name: log, broker: plain, target: log}\n"
    )
    doc = asyncapi(spec, Path("."), schemas=False)
    _check(doc)
    rabbit = doc["servers"]["rabbit"]
    assert rabbit["host"] == "{RABBIT_HOST}:5672"
    assert rabbit["pathname"] == "/vhost"
    assert set(rabbit["variables"]) == {"RABBIT_HOST"}
    assert rabbit["protocol"] == "amqp"
    assert "guest" not in json.dumps(doc) and "RABBIT_PASSWORD" not in json.dumps(doc)
    assert doc["servers"]["plain"]["host"] == "kafka-0:9092"


@pytest.mark.parametrize("example", ["orders", "billing"])
def test_payloads_are_the_models_json_schemas(example: str, tmp_path: Path) -> None:
    """In a process of its own: the example's models are imported from its src/."""
    out = tmp_path / "asyncapi.json"
    done = run_svcgen("docs", "-o", str(out), cwd=EXAMPLES / example)
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    _check(doc)
    check = subprocess.run(
        [sys.executable, "-c", "import json, sys; sys.path.insert(0, 'src');"
         "from orders.models import OrderCreated as M;"
         "print(json.dumps(M.model_json_schema()))" if example == "orders" else
         "import json, sys; sys.path.insert(0, 'src');"
         "from billing.models import ReceiptArgs as M;"
         "print(json.dumps(M.model_json_schema()))"],
        cwd=EXAMPLES / example, capture_output=True, text=True, check=True,
    )  # fmt: skip
    expected = json.loads(check.stdout)
    name = "OrderCreated" if example == "orders" else "ReceiptArgs"
    assert doc["components"]["messages"][name]["payload"] == {
        "$ref": f"#/components/schemas/{name}"
    }
    assert doc["components"]["schemas"][name]["properties"] == expected["properties"]
    as_yaml = run_svcgen("docs", "--no-schemas", cwd=EXAMPLES / example)
    plain = yaml.safe_load(as_yaml.stdout)
    _check(plain)
    assert "schemas" not in plain["components"]
    assert plain["operations"] == doc["operations"]


def test_a_missing_model_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    root = tmp_path / "svc"
    shutil.copytree(GOLDEN / "design_example" / EXPECTED, root)
    shutil.copy(GOLDEN / "design_example" / "service.yaml", root)
    (root / "src" / "orders" / "models.py").write_text("X = 1\n")
    done = run_svcgen("docs", cwd=root)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "orders.models has no OrderCreated" in done.stderr
    assert "--no-schemas" in done.stderr
    (root / "src" / "orders" / "models.py").unlink()
    done = run_svcgen("docs", cwd=root)
    assert done.returncode == 2 and "cannot import orders.models" in done.stderr


def test_the_document_is_the_same_on_every_run() -> None:
    root = GOLDEN / "all_brokers"
    first = commands.docs(root, schemas=False)
    assert commands.docs(root, schemas=False) == first
    assert yaml.safe_load(first)["asyncapi"] == "3.0.0"


def test_outbox_messages_declare_the_message_id_and_dedupe_is_documented() -> None:
    spec = load_spec(GOLDEN / "effects" / "service.yaml")
    doc = asyncapi(spec, GOLDEN / "effects" / EXPECTED, schemas=False)
    _check(doc)
    ops, messages = doc["operations"], doc["components"]["messages"]
    for name in ("shipped", "receipts"):  # outbox: true
        (ref,) = ops[name]["messages"]
        message = _resolve(doc, _resolve(doc, ref["$ref"])["$ref"])
        assert message["headers"]["required"] == ["svcgen-message-id"]
        assert message["headers"]["properties"]["svcgen-message-id"]["format"] == "uuid"
        assert message["payload"] == messages["Bytes"]["payload"]
    (ref,) = ops["metrics"]["messages"]  # no outbox: no header promised
    assert "headers" not in _resolve(doc, _resolve(doc, ref["$ref"])["$ref"])
    assert ops["paid"]["x-svcgen-dedupe"] == {
        "key": "header:svcgen-message-id",
        "window": "168h",
    }
    assert "by the header svcgen-message-id" in ops["paid"]["description"]
    assert ops["refunded"]["x-svcgen-dedupe"] == {
        "key": "body:refund_id",
        "window": "48h",
    }
    assert "by the body field refund_id" in ops["refunded"]["description"]
    assert "x-svcgen-dedupe" not in ops["audited"]
