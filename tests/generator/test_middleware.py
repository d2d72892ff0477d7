"""Hooks and middleware of a generated service: the plan's aliases, the skeleton's
log_context middleware in process, and a generated service run as a process on
Redis whose middleware decides the outcome and whose hooks run once."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import signal
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from svcgen import commands
from svcgen.plan import make_plan
from svcgen.spec import parse_spec
from svcgen_runtime import MemoryBroker
from svcgen_runtime.brokers.redis import RedisBroker
from svcgen_runtime.testing import run_service

from .test_real_broker import REDIS_URL, app_builder, start_replica


def test_each_function_gets_an_alias_of_its_own_and_clashes_are_qualified() -> None:
    plan = make_plan(
        parse_spec(
            """
name: shop
brokers: {events: {kind: memory}}
http: {routes: [{name: hello, method: GET, path: /hello}]}
consumers:
  - {name: paid, broker: events, source: paid, middleware: [other.mw:log_context]}
  - {name: sent, broker: events, source: sent}
hooks: {on_start: [shop.life:build_app], on_stop: [shop.life:settings]}
middleware: {consumers: [shop.mw:log_context], http: [shop.mw:ctx]}
"""
        )
    )
    chains = {c.name: c.middleware for c in plan.consumers}
    assert chains == {
        "paid": ("shop_mw_log_context_middleware", "other_mw_log_context_middleware"),
        "sent": ("shop_mw_log_context_middleware",),
    }
    assert plan.hooks.on_start == ("build_app_hook",)
    assert plan.hooks.on_stop == ("settings_hook",)
    assert plan.hooks.http == ("ctx_http_middleware",)
    lines = [line for section in plan.app_imports for line in section]
    assert "from shop.life import build_app as build_app_hook" in lines
    assert "from svcgen_runtime.middleware import chain" in lines
    assert "from svcgen_runtime.http import HttpServer, route_chain" in lines
    # the package's modules get stubs; another package's do not
    assert [path for path, _ in plan.hooks.stubs] == [
        "src/shop/life.py",
        "src/shop/mw.py",
    ]


def test_unused_middleware_is_neither_imported_nor_wired() -> None:
    """Consumer middleware without a consumer, HTTP middleware without a route."""
    plan = make_plan(
        parse_spec(
            "name: shop\nhttp: {}\n"
            "middleware: {consumers: [shop.mw:a], http: [shop.mw:b]}\n"
        )
    )
    lines = [line for section in plan.app_imports for line in section]
    assert not [line for line in lines if "mw" in line or "chain" in line]
    assert plan.hooks.stubs == ()


async def test_the_skeleton_log_context_middleware_binds_the_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"logctx_{secrets.token_hex(4)}"
    root = commands.new(name, http=False, directory=tmp_path / name)
    assert "middleware:log_context" in (root / "service.yaml").read_text()
    handler = root / "src" / name / "handlers" / "event_received.py"
    handler.write_text(
        handler.read_text()
        .replace(
            "    return Ack()",
            '    logging.getLogger("handler").warning("inside")\n    return Ack()',
        )
        .replace(
            "from __future__ import annotations",
            "from __future__ import annotations\n\nimport logging",
        )
    )
    build = app_builder(root, name, {}, monkeypatch)
    app = build()
    app.brokers[0] = MemoryBroker("local")
    app.consumers[0].broker = app.brokers[0]
    with caplog.at_level(logging.WARNING, logger="handler"):
        async with run_service(app) as svc:
            await svc.publish("local", f"{name}.events", b"x")
            await svc.wait_idle()
            assert svc.stats("event_received").acked == 1
            logging.getLogger("handler").warning("outside")
    inside, outside = [r for r in caplog.records if r.name == "handler"]
    assert inside.consumer == "event_received"  # type: ignore[attr-defined]
    assert inside.attempt == 1  # type: ignore[attr-defined]
    assert inside.message_id not in ("", "-")  # type: ignore[attr-defined]
    assert outside.consumer == "-"  # type: ignore[attr-defined]


HANDLER = """
from __future__ import annotations

import json

from svcgen_runtime import InboundMessage, Outcome

from {name}._generated.context import Context


async def handle(ctx: Context, message: bytes, raw: InboundMessage) -> Outcome | None:
    print(json.dumps({{"handled": message.decode()}}), flush=True)
    if message == b"bad":
        raise ValueError("bad message")
    return None
"""

LIFE = '''
from __future__ import annotations

import json
from typing import Any

from svcgen_runtime import Nack, Outcome
from svcgen_runtime.middleware import Next, Received

from {name}._generated.context import Context


async def started(ctx: Context) -> None:
    print(json.dumps({{"hook": "on_start"}}), flush=True)


async def stopping(ctx: Context) -> None:
    print(json.dumps({{"hook": "on_stop"}}), flush=True)


async def no_retries(received: Received[Any], ctx: Context, call_next: Next) -> Outcome:
    """An exception is dead-lettered at once instead of retried."""
    try:
        outcome = await call_next(received)
    except ValueError:
        outcome = Nack(requeue=False)
    print(json.dumps({{"outcome": type(outcome).__name__}}), flush=True)
    return outcome
'''


@pytest.mark.broker
async def test_a_generated_service_process_on_redis_obeys_its_middleware_and_hooks(
    tmp_path: Path,
) -> None:
    name = f"mw_{secrets.token_hex(4)}"
    root = commands.new(name, brokers=["redis"], http=False, directory=tmp_path / name)
    spec = root / "service.yaml"
    text = spec.read_text()
    text = text.replace(
        f"  consumers: [{name}.middleware:log_context]",
        f"  consumers: [{name}.middleware:log_context, {name}.life:no_retries]",
    )
    text += f"hooks:\n  on_start: [{name}.life:started]\n  on_stop: [{name}.life:stopping]\n"
    spec.write_text(text)
    (root / "src" / name / "life.py").write_text(LIFE.format(name=name))
    commands.generate(root)
    (root / "src" / name / "handlers" / "event_received.py").write_text(
        HANDLER.format(name=name)
    )
    source = f"{name}.events"
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    client = aioredis.from_url(REDIS_URL)
    proc = start_replica(root, name, out, err)
    try:

        def lines() -> list[dict[str, str]]:
            return [json.loads(line) for line in out.read_text().splitlines() if line]

        deadline = time.monotonic() + 30
        while {"hook": "on_start"} not in lines():
            assert proc.poll() is None, err.read_text()
            assert time.monotonic() < deadline, err.read_text()
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the consumer subscribes after the hook
        publisher = RedisBroker(name="test", url=REDIS_URL)
        await publisher.connect()
        try:
            for body in (b"good", b"bad"):
                await publisher.publish(source, body)
        finally:
            await publisher.close()
        while len([x for x in lines() if "outcome" in x]) < 2:
            assert proc.poll() is None, err.read_text()
            assert time.monotonic() < deadline, err.read_text()
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # a retry, if there were one, would show by now
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, err.read_text()
        got = lines()
        assert [x for x in got if "handled" in x] == [
            {"handled": "good"},
            {"handled": "bad"},
        ]
        assert [x["outcome"] for x in got if "outcome" in x] == ["Ack", "Nack"]
        assert [x["hook"] for x in got if "hook" in x] == ["on_start", "on_stop"]
        assert got[0] == {"hook": "on_start"} and got[-1] == {"hook": "on_stop"}
        assert await client.xlen(f"{source}.dlq") == 1
        assert "acked=1" in err.read_text() and "dead_lettered=1" in err.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        keys = [k async for k in client.scan_iter(f"{source}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
