"""Effects exactly once in the generator: ``dedupe`` and ``outbox`` in the spec, the
CLI's ``--dedupe``/``--dedupe-window``/``--outbox``, the JSON Schema, and the
generated app.py (built with memory brokers; nothing connects)."""

from __future__ import annotations

import functools
import importlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from svcgen.cli import main
from svcgen.errors import SpecError
from svcgen.spec import parse_spec

from .golden import EXPECTED, GOLDEN

SPEC = """\
# The shop service.
name: shop
brokers:
  local: {kind: memory}
consumers:
  - name: cart_updated
    broker: local
    source: carts.updated
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "service.yaml").write_text(SPEC)
    assert run("generate", "--dir", str(tmp_path)).exit_code == 0
    return tmp_path


@pytest.fixture
def with_postgres(project: Path) -> Path:
    added = run("add-resource", "database", "--kind", "postgres", "--dir", str(project))
    assert added.exit_code == 0, added.output
    return project


def test_defaults_and_explicit_values() -> None:
    spec = parse_spec(
        SPEC + "  - {name: paid, broker: local, source: p, dedupe: {}}\n"
        "  - name: refunded\n    broker: local\n    source: r\n"
        '    dedupe: {key: "body:refund_id", window: 90m}\n'
        "publishers:\n  - {name: out, broker: local, target: o, outbox: true}\n"
        "  - {name: plain, broker: local, target: q}\n"
        'resources:\n  database: {kind: postgres, url: "postgresql://h/db"}\n'
    )
    by_name = {c.name: c for c in spec.consumers}
    assert by_name["cart_updated"].dedupe is None
    paid = by_name["paid"].dedupe
    assert paid is not None
    assert (paid.key, paid.window) == ("header:svcgen-message-id", 7 * 24 * 3600.0)
    refunded = by_name["refunded"].dedupe
    assert refunded is not None
    assert (refunded.key, refunded.window) == ("body:refund_id", 5400.0)
    assert [(p.name, p.outbox) for p in spec.publishers] == [
        ("out", True),
        ("plain", False),
    ]


def test_the_defaults_are_the_runtime_s() -> None:
    from svcgen.spec_models import DEDUPE_WINDOW
    from svcgen.spec_values import DEFAULT_DEDUPE_KEY, MESSAGE_ID_HEADER
    from svcgen_runtime import effects

    assert MESSAGE_ID_HEADER == effects.MESSAGE_ID_HEADER
    assert DEFAULT_DEDUPE_KEY == effects.DEFAULT_KEY
    assert DEDUPE_WINDOW == effects.DEFAULT_WINDOW


@pytest.mark.parametrize(
    "key",
    [
        "header:" + "h" * 200,
        "header:x-request-id",
        "header:Idempotency-Key",
        "header:svcgen-message-id",
        "header:trace.id_2",
        "body:order_id",
        "body:_id",
    ],
)
def test_header_names_and_body_fields_are_keys(key: str) -> None:
    spec = parse_spec(
        SPEC + f'    dedupe: {{key: "{key}"}}\n'
        'resources:\n  database: {kind: postgres, url: "postgresql://h/db"}\n'
    )
    dedupe = spec.consumers[0].dedupe
    assert dedupe is not None and dedupe.key == key
    # What the spec takes, the runtime's Dedupe takes (it would refuse to start).
    from svcgen_runtime.effects import Dedupe, Effects
    from svcgen_runtime.resources import PostgresDatabase

    database = PostgresDatabase(name="database", url="postgresql://unused/db")
    Dedupe(effects=Effects(database=database, service="shop"), key=key)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("header:", "does not name a header"),
        ("header:a b", "does not name a header"),
        ("header:a:b", "does not name a header"),
        ("header:a\\tb", "does not name a header"),
        ("header:a/b", "does not name a header"),
        ("header:a\\n", "does not name a header"),
        ("body:a\\n", "does not name a body field"),
        ("header:é", "does not name a header"),
        ("header:" + "h" * 201, "does not name a header"),
        ("body:", "does not name a body field"),
        ("body:order.id", "does not name a body field"),
        ("body:1st", "does not name a body field"),
        ("body:" + "f" * 65, "does not name a body field"),
        ("order_id", "is not a dedupe key"),
        ("Header:x", "is not a dedupe key"),
        ("", "is not a dedupe key"),
    ],
)
def test_bad_keys_are_refused_at_their_line(key: str, problem: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(
            SPEC + f'    dedupe: {{key: "{key}"}}\n'
            'resources:\n  database: {kind: postgres, url: "postgresql://h/db"}\n'
        )
    (found,) = info.value.issues
    assert (found.line, found.path) == (9, "consumers[0].dedupe.key")
    assert problem in found.message


def test_the_json_schema_describes_dedupe_and_outbox() -> None:
    result = run("schema")
    schema = json.loads(result.output)
    dedupe = schema["$defs"]["DedupeSpec"]
    assert dedupe["properties"]["key"]["default"] == "header:svcgen-message-id"
    assert dedupe["properties"]["window"]["default"] == "168h"
    assert dedupe["additionalProperties"] is False
    consumer = schema["$defs"]["ConsumerSpec"]["properties"]["dedupe"]
    assert {"$ref": "#/$defs/DedupeSpec"} in consumer["anyOf"]
    outbox = schema["$defs"]["PublisherSpec"]["properties"]["outbox"]
    assert (outbox["type"], outbox["default"]) == ("boolean", False)


def test_add_consumer_with_dedupe_needs_a_postgres_database(project: Path) -> None:
    before = (project / "service.yaml").read_text()
    refused = run(
        "add-consumer", "paid", "--broker", "local", "--source", "orders.paid",
        "--dedupe", "header:svcgen-message-id", "--dir", str(project),
    )  # fmt: skip
    assert refused.exit_code == 2
    assert refused.stderr == (
        "--dedupe: dedupe records each message's key in a postgres database, in the "
        "handler's transaction, but this service has no database; add resources: "
        "{database: {kind: postgres, url: ...}} (svcgen add-resource database --kind "
        "postgres), or remove dedupe\n"
    )
    assert (project / "service.yaml").read_text() == before
    assert not (project / "src/shop/handlers/paid.py").exists()


def test_add_consumer_with_dedupe_writes_the_spec_and_the_code(
    with_postgres: Path,
) -> None:
    project = with_postgres
    added = run(
        "add-consumer", "paid", "--broker", "local", "--source", "orders.paid",
        "--dedupe", "body:order_id", "--dedupe-window", "72h", "--dir", str(project),
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    spec = (project / "service.yaml").read_text()
    assert (
        "  - name: paid\n    broker: local\n    source: orders.paid\n"
        "    dedupe:\n      key: body:order_id\n      window: 72h\nresources:\n"
    ) in spec, spec
    app = (project / "src/shop/_generated/app.py").read_text()
    assert "from svcgen_runtime.effects import Dedupe, Effects\n" in app
    assert '    effects = Effects(database=database, service="shop")\n' in app
    assert (
        "        dedupe=Dedupe(\n"
        "            effects=effects,\n"
        '            key="body:order_id",\n'
        "            window=settings.consumer_paid_dedupe_window,  # 72h in service.yaml\n"
        "        ),\n"
    ) in app
    assert "        resources=[database, effects],\n" in app
    assert "OutboxRelay" not in app
    settings = (project / "src/shop/_generated/settings.py").read_text()
    assert "    consumer_paid_dedupe_window: float = 259200.0\n" in settings
    assert "$SVCGEN_CONSUMER_PAID_DEDUPE_WINDOW (default 72h)" in settings


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--dedupe", "query:id"],
            "--dedupe: 'query:id' is not a dedupe key: write header:<name> or "
            "body:<field>, such as header:svcgen-message-id or body:order_id\n",
        ),
        (
            ["--dedupe", "header:x", "--dedupe-window", "0s"],
            "--dedupe-window: must be longer than 0, such as 30s\n",
        ),
        (
            ["--dedupe-window", "1h"],
            "--dedupe-window applies to --dedupe; add --dedupe "
            "header:svcgen-message-id (or another key), or remove --dedupe-window\n",
        ),
    ],
)
def test_add_consumer_refuses_bad_dedupe_arguments_by_name(
    with_postgres: Path, args: list[str], message: str
) -> None:
    before = (with_postgres / "service.yaml").read_text()
    refused = run(
        "add-consumer", "paid", "--broker", "local", "--source", "orders.paid",
        *args, "--dir", str(with_postgres),
    )  # fmt: skip
    assert refused.exit_code == 2
    assert refused.stderr == message
    assert (with_postgres / "service.yaml").read_text() == before


def test_add_publisher_with_outbox(project: Path) -> None:
    before = (project / "service.yaml").read_text()
    add = ["add-publisher", "shipped", "--broker", "local", "--target", "o.shipped"]
    refused = run(*add, "--outbox", "--dir", str(project))
    assert refused.exit_code == 2
    assert refused.stderr.startswith(
        "--outbox: outbox writes each message to a postgres database, in the "
        "publishing transaction, but this service has no database; add resources:"
    )
    assert (project / "service.yaml").read_text() == before
    added = run("add-resource", "database", "--kind", "postgres", "--dir", str(project))
    assert added.exit_code == 0, added.output
    added = run(*add, "--outbox", "--dir", str(project))
    assert added.exit_code == 0, added.output
    assert (
        (project / "service.yaml")
        .read_text()
        .endswith(
            "publishers:\n"
            "  - {name: shipped, broker: local, target: o.shipped, outbox: true}\n"
        )
    )
    app = (project / "src/shop/_generated/app.py").read_text()
    assert "from svcgen_runtime.effects import Effects, OutboxRelay\n" in app
    assert "        outbox=effects,\n" in app
    assert (
        "    outbox_relay = OutboxRelay(\n"
        "        effects=effects,\n"
        "        publishers=[shipped_publisher],\n"
        "    )\n"
    ) in app
    assert "        components=[\n            outbox_relay,\n        ],\n" in app
    plain = run("add-publisher", "log", "--broker", "local", "--target", "o.log",
                "--dir", str(project))  # fmt: skip
    assert plain.exit_code == 0, plain.output
    app = (project / "src/shop/_generated/app.py").read_text()
    assert app.count("outbox=effects,") == 1
    assert "publishers=[shipped_publisher]" in app


def test_the_golden_app_wires_effects_dedupe_and_the_outbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """build_app with a memory broker (nothing connects): the effects resource
    after the database, each dedupe consumer registered with its window (the
    override included), outbox publishers on the effects, the relay sending for
    exactly them."""
    from svcgen_runtime import MemoryBroker
    from svcgen_runtime.effects import Effects, OutboxRelay
    from svcgen_runtime.resources import PostgresDatabase

    monkeypatch.syspath_prepend(str(GOLDEN / "effects" / EXPECTED / "src"))
    app_module = importlib.import_module("golden_effects._generated.app")
    settings = importlib.import_module("golden_effects._generated.settings")
    env = {"SVCGEN_CONSUMER_REFUNDED_DEDUPE_WINDOW": "90m"}
    app = app_module.build_app(
        settings=settings.load_settings(env),
        brokers={"events": MemoryBroker("events")},
        handle_signals=False,
    )
    database, effects = app.resources
    assert isinstance(database, PostgresDatabase)
    assert isinstance(effects, Effects) and effects.database is database
    assert effects.windows == {"paid": 7 * 24 * 3600.0, "refunded": 5400.0}
    consumers = {c.name: c for c in app.consumers}
    assert set(consumers) == {"audited", "paid", "refunded"}
    plain = consumers["audited"].handler
    assert isinstance(plain, functools.partial)  # no dedupe: the handler as is
    for name in ("paid", "refunded"):
        assert not isinstance(consumers[name].handler, functools.partial)
    (relay,) = app.components
    assert isinstance(relay, OutboxRelay) and relay.effects is effects
    assert sorted(relay.publishers) == ["receipts", "shipped"]
    ctx = plain.args[0]
    assert ctx.shipped.outbox is effects and ctx.receipts.outbox is effects
    assert ctx.metrics.outbox is None
    assert relay.publishers["shipped"] is ctx.shipped


ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


async def test_the_generated_service_dedupes_and_relays_on_postgres(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The effects golden's generated code, run on a memory broker and a real
    PostgreSQL (a database of its own, since the generated Effects uses the schema
    svcgen): a repeated key runs the handler once, a message without its key is
    dead-lettered, and an outbox publish reaches the broker with its id."""
    import asyncio
    import secrets

    import asyncpg

    from svcgen_runtime import MemoryBroker
    from svcgen_runtime.testing import run_service

    monkeypatch.syspath_prepend(str(GOLDEN / "effects" / EXPECTED / "src"))
    app_module = importlib.import_module("golden_effects._generated.app")
    settings = importlib.import_module("golden_effects._generated.settings")
    name = f"svcgen_gen_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        app = app_module.build_app(
            settings=settings.load_settings({"DATABASE_URL": url}),
            brokers={"events": MemoryBroker("events")},
            handle_signals=False,
        )
        _, effects = app.resources
        async with run_service(app) as svc:
            same = {"svcgen-message-id": "m-1"}
            await svc.publish("events", "orders.paid", b"{}", headers=same)
            await svc.publish("events", "orders.paid", b"{}", headers=same)
            await svc.publish("events", "orders.paid", b"{}")  # no key: poison
            for _ in range(2):
                await svc.publish("events", "orders.refunded", b'{"refund_id": "r1"}')
            await svc.wait_idle()
            assert effects.skipped == {"paid": 1, "refunded": 1}
            assert svc.stats("paid").acked == 2
            assert len(svc.dead_letters("events", "orders.paid.dlq")) == 1
            ctx = app.consumer("audited").handler.args[0]
            await ctx.shipped.publish(b"parcel")
            broker = svc.broker("events")
            for _ in range(200):
                if broker.messages("orders.shipped"):
                    break
                await asyncio.sleep(0.05)
            (sent,) = broker.messages("orders.shipped")
            assert sent.body == b"parcel"
            assert len(sent.headers["svcgen-message-id"]) == 36  # a UUID
            assert broker.messages("orders.metrics") == []
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
