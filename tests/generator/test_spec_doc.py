"""docs/spec.md is what ``python -m svcgen.spec_doc`` writes from the JSON Schema."""

from __future__ import annotations

from pathlib import Path

from svcgen.spec import json_schema
from svcgen.spec_doc import COMMAND, render

SPEC_MD = Path(__file__).resolve().parents[2] / "docs" / "spec.md"


def test_docs_spec_md_is_current() -> None:
    if SPEC_MD.read_text(encoding="utf-8") != render():
        raise AssertionError(f"docs/spec.md is stale: run `{COMMAND}` and commit it")


def test_every_key_of_the_schema_is_documented() -> None:
    schema = json_schema()
    text = render()
    models = [schema, *schema["$defs"].values()]
    for model in models:
        for key, prop in model["properties"].items():
            assert f"| `{key}` |" in text, key
            assert prop.get("description"), f"{model['title']}.{key} has no docstring"
    for name in schema["$defs"]:
        assert f"\n## {name}\n" in text, name
