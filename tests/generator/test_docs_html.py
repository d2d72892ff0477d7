"""``svcgen docs``: the YAML is valid against the official AsyncAPI 3.0 JSON Schema
(npm ``@asyncapi/specs``, installed by scripts/install), and ``--html`` is one page
that headless Chromium renders with every channel and operation listed, no network
and no markup from the spec."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from svcgen.docs import asyncapi, render
from svcgen.docs_html import page
from svcgen.spec import load_spec, parse_spec
from tests.support import run_svcgen

from .golden import EXPECTED, GOLDEN, cases

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SPECS = ROOT / "tests" / "data" / "asyncapi" / "node_modules" / "@asyncapi" / "specs"
GOOD = [c for c in cases() if not c.name.startswith("bad_")]
HOSTILE = (
    "name: hostile\n"
    'description: "<script>alert(1)</script> & <img src=x onerror=alert(2)>"\n'
    "brokers:\n"
    '  bus: {kind: rabbitmq, url: "amqp://localhost:5672/"}\n'
    "consumers:\n"
    "  - name: c\n"
    "    broker: bus\n"
    '    source: "orders.<b>bold</b>"\n'
    "    group: g\n"
    '    description: "</td></tr></table><iframe src=//evil.example>"\n'
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    path = SPECS / "schemas" / "3.0.0.json"
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: run scripts/install (npm ci of tests/data/asyncapi)"
        )
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$id"] == "http://asyncapi.com/definitions/3.0.0/asyncapi.json"
    return jsonschema.Draft7Validator(schema)


def _errors(validator: jsonschema.Draft7Validator, doc: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator.iter_errors(doc)
    ]


@pytest.mark.parametrize("case", GOOD, ids=[c.name for c in GOOD])
def test_every_golden_document_is_valid_asyncapi_3(
    case: Path, validator: jsonschema.Draft7Validator
) -> None:
    doc = asyncapi(load_spec(case / "service.yaml"), case / EXPECTED, schemas=False)
    # through the YAML text users get, not the dict before it
    assert _errors(validator, yaml.safe_load(render(doc, fmt="yaml"))) == []


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir()))
def test_the_examples_documents_with_payload_schemas_are_valid(
    example: str, validator: jsonschema.Draft7Validator
) -> None:
    done = run_svcgen("docs", cwd=EXAMPLES / example)
    assert done.returncode == 0, done.stderr
    doc = yaml.safe_load(done.stdout)
    assert doc["components"]["schemas"], "the models' schemas are in the document"
    assert _errors(validator, doc) == []


def test_the_schema_check_fails_on_a_broken_document(
    validator: jsonschema.Draft7Validator,
) -> None:
    doc = asyncapi(load_spec(GOLDEN / "kafka" / "service.yaml"), GOLDEN, schemas=False)
    assert _errors(validator, doc) == []
    broken = json.loads(json.dumps(doc))
    operation = next(iter(broken["operations"].values()))
    operation["action"] = "publish"  # AsyncAPI 2's verb, not 3's
    assert any("action" in e for e in _errors(validator, broken))
    del broken["info"]
    assert any("'info' is a required property" in e for e in _errors(validator, broken))


class _Dom(HTMLParser):
    """What a test needs of the DOM Chromium dumped: tags, attributes, text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _render_in_chromium(html_file: Path, tmp_path: Path) -> _Dom:
    """The DOM headless Chromium builds from ``html_file``, with every host name
    unresolvable: the page must need no network."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed: run scripts/install (Debian: chromium)")
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--dump-dom",
            html_file.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = _Dom()
    dom.feed(done.stdout)
    assert any(tag == "main" for tag, _ in dom.tags), done.stdout[:500]
    return dom


def _check_page(doc: dict[str, Any], dom: _Dom) -> None:
    listed = {
        attrs.get("data-address")
        for tag, attrs in dom.tags
        if tag == "article" and attrs.get("class") == "channel"
    }
    assert listed == {c["address"] for c in doc["channels"].values()}
    ids = {attrs.get("id") for _, attrs in dom.tags}
    assert {f"operation-{name}" for name in doc["operations"]} <= ids
    assert {f"message-{name}" for name in doc["components"]["messages"]} <= ids
    text = " ".join(dom.text)
    for channel in doc["channels"].values():
        assert channel["address"] in text
    # nothing to fetch: no script, no element that loads, no link off the page
    assert not {tag for tag, _ in dom.tags} & {"script", "img", "iframe", "link"}
    for _, attrs in dom.tags:
        assert "src" not in attrs
        assert (attrs.get("href") or "#").startswith("#")


@pytest.mark.xdist_group("heavy")
@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir()))
def test_the_html_page_lists_every_channel_in_chromium(
    example: str, tmp_path: Path
) -> None:
    out = tmp_path / "asyncapi.html"
    done = run_svcgen("docs", "--html", "-o", str(out), cwd=EXAMPLES / example)
    assert done.returncode == 0, done.stderr
    doc = yaml.safe_load(run_svcgen("docs", cwd=EXAMPLES / example).stdout)
    dom = _render_in_chromium(out, tmp_path)
    _check_page(doc, dom)
    # the payload schemas are on the page as field tables
    for name, schema in doc["components"]["schemas"].items():
        assert f"schema-{name}" in {a.get("id") for _, a in dom.tags}
        for field in schema.get("properties", {}):
            assert field in " ".join(dom.text)


@pytest.mark.xdist_group("heavy")
def test_markup_in_the_spec_stays_text_on_the_page(tmp_path: Path) -> None:
    doc = asyncapi(parse_spec(HOSTILE), tmp_path, schemas=False)
    out = tmp_path / "hostile.html"
    out.write_text(page(doc), encoding="utf-8")
    dom = _render_in_chromium(out, tmp_path)
    _check_page(doc, dom)
    text = " ".join(dom.text)
    assert "<script>alert(1)</script>" in text
    assert "<iframe src=//evil.example>" in text
    assert "orders.<b>bold</b>" in text
    assert not any(tag == "b" for tag, _ in dom.tags)


def test_the_page_is_a_pure_function_of_the_document() -> None:
    doc = asyncapi(
        load_spec(GOLDEN / "all_brokers" / "service.yaml"), GOLDEN, schemas=False
    )
    first = page(doc)
    assert page(doc) == first
    assert "default-src 'none'" in first  # the page itself forbids any fetch


def test_html_and_another_format_together_are_one_sentence_and_exit_2() -> None:
    done = run_svcgen("docs", "--html", "--format", "json", cwd=EXAMPLES / "orders")
    assert done.returncode == 2
    assert "give one of them" in done.stderr and "Traceback" not in done.stderr


def test_an_html_output_name_picks_html(tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    done = run_svcgen("docs", "--no-schemas", "-o", str(out), cwd=EXAMPLES / "orders")
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
