"""The table of broker kinds: what the spec, the CLI and the runtime must agree on."""

from __future__ import annotations

import importlib
import inspect
import re
import tomllib
from pathlib import Path
from typing import get_args

import click
import pytest

from svcgen.cli import main
from svcgen.kinds import BROKER_KINDS, BROKERS, BrokerKind
from svcgen.spec import json_schema
from svcgen.spec_models import OPTION_MODELS, BrokerSpec, OptionsSpec

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"


def test_the_literal_of_the_spec_lists_the_table_in_its_order() -> None:
    assert get_args(BrokerKind) == BROKER_KINDS
    assert get_args(BrokerSpec.model_fields["kind"].annotation) == BROKER_KINDS
    schema = json_schema()["$defs"]["BrokerSpec"]["properties"]["kind"]
    assert schema["enum"] == list(BROKER_KINDS)


def _option(command: str, name: str) -> click.Option:
    found = [
        p
        for p in main.commands[command].params
        if isinstance(p, click.Option) and p.name == name
    ]
    assert len(found) == 1
    return found[0]


def test_new_offers_every_kind() -> None:
    choice = _option("new", "brokers").type
    assert isinstance(choice, click.Choice)
    assert tuple(choice.choices) == BROKER_KINDS


def test_add_task_s_help_names_the_kinds_that_carry_tasks() -> None:
    help_text = _option("add-task", "broker").help or ""
    named = re.search(r"\(([^)]*)\)", help_text)
    assert named is not None
    kinds = re.split(r", | or ", named.group(1))
    assert sorted(kinds) == sorted(k.name for k in BROKERS.values() if "task" in k.uses)


@pytest.mark.parametrize("kind", BROKER_KINDS)
def test_each_kind_names_a_runtime_class_and_its_extra(kind: str) -> None:
    row = BROKERS[kind]
    module = importlib.import_module(row.module)
    assert isinstance(getattr(module, row.cls), type)
    extras = tomllib.loads((RUNTIME / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert row.extra is None if row.in_process else row.extra in extras
    assert (row.default_url is None) == row.in_process
    assert row.options == module.OPTIONS, "the row lists the adapter's options"
    if row.task_keys is not None:
        idempotency = importlib.import_module("svcgen_runtime.idempotency")
        assert isinstance(getattr(idempotency, row.task_keys.cls), type)


def test_a_default_dead_letter_spells_mqtt_wildcards_as_the_runtime_does() -> None:
    assert BROKERS["mqtt"].default_dead_letter("a/+/b/#") == "a/%2B/b/%23.dlq"
    assert BROKERS["kafka"].default_dead_letter("a.b") == "a.b.dlq"


@pytest.mark.parametrize("kind", BROKER_KINDS)
def test_each_kind_s_spec_options_are_its_option_model_and_reach_its_adapter(
    kind: str,
) -> None:
    row = BROKERS[kind]
    model = OPTION_MODELS.get(kind)
    assert set(row.spec_options) == (set(model.model_fields) if model else set())
    assert set(model.model_fields if model else ()) <= set(OptionsSpec.model_fields)
    runtime = {info.runtime for info in row.spec_options.values()}
    assert runtime <= row.options, "each spec option becomes an adapter option"
    module = importlib.import_module(row.module)
    keywords = inspect.signature(getattr(module, row.cls)).parameters
    for key, info in row.spec_options.items():
        assert (info.runtime in keywords) == info.broker, (
            f"{kind}.{key}: the constructor takes it exactly when the row says so"
        )


def test_every_option_key_belongs_to_one_kind_and_names_it_first() -> None:
    owners = {
        key: [k for k, row in BROKERS.items() if key in row.spec_options]
        for key in OptionsSpec.model_fields
    }
    assert all(len(kinds) == 1 for kinds in owners.values()), owners
    for key, (kind,) in owners.items():
        description = OptionsSpec.model_fields[key].description or ""
        assert description.startswith(f"{kind}"), key
