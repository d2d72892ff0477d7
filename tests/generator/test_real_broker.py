"""End to end against a real broker: ``svcgen new --broker redis``, then the generated
``build_app`` runs on Redis on loopback and handles a message (DESIGN §10)."""

from __future__ import annotations

import asyncio
import importlib
import secrets
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from svcgen import commands

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.mark.broker
async def test_generated_service_consumes_from_real_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"e2e_{secrets.token_hex(4)}"
    root = commands.new(name, brokers=["redis"], http=False, directory=tmp_path / name)
    commands.add_consumer(
        root, name="audit", broker="redis", source=f"{name}.audit", max_attempts=2
    )
    monkeypatch.syspath_prepend(str(root / "src"))
    app_module = importlib.import_module(f"{name}._generated.app")
    settings_module = importlib.import_module(f"{name}._generated.settings")
    settings = settings_module.load_settings(
        {"REDIS_URL": REDIS_URL, "HEALTH_PORT": "0"}
    )
    app = app_module.build_app(settings=settings, handle_signals=False)
    sources = [f"{name}.events", f"{name}.audit"]
    serving = asyncio.create_task(app.serve())
    try:
        await asyncio.wait_for(app.wait_started(), 10)
        (broker,) = app.brokers
        assert broker.kind == "redis"
        for source in sources:
            await broker.publish(source, b"hello from the e2e test")
        async with asyncio.timeout(15):
            while not all(
                app.consumer(c).stats.acked == 1 for c in ("event_received", "audit")
            ):
                await asyncio.sleep(0.05)
        app.shutdown()
        assert await asyncio.wait_for(serving, 30) == 0
    finally:
        if not serving.done():
            app.shutdown(force=True)
            await asyncio.gather(serving, return_exceptions=True)
        client = aioredis.from_url(REDIS_URL)
        try:
            keys = [k for s in sources async for k in client.scan_iter(f"{s}*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


@pytest.mark.broker
async def test_generated_schedule_fires_once_across_two_replicas_on_real_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """add-task + add-schedule on a redis broker: two replicas of the generated app
    share the schedule's keys in Redis, so each fire time runs the task once."""
    suffix = secrets.token_hex(4)
    name, task = f"sched_{suffix}", f"tick_{suffix}"
    root = commands.new(name, brokers=["redis"], http=False, directory=tmp_path / name)
    commands.add_task(root, name=task, broker="redis")
    commands.add_schedule(root, name="every_second", task=task, every="1s")
    monkeypatch.syspath_prepend(str(root / "src"))
    app_module = importlib.import_module(f"{name}._generated.app")
    settings_module = importlib.import_module(f"{name}._generated.settings")
    settings = settings_module.load_settings(
        {"REDIS_URL": REDIS_URL, "HEALTH_PORT": "0"}
    )
    replicas = [
        app_module.build_app(settings=settings, handle_signals=False) for _ in range(2)
    ]
    serving = [asyncio.create_task(app.serve()) for app in replicas]
    client = aioredis.from_url(REDIS_URL)
    try:
        for app in replicas:
            await asyncio.wait_for(app.wait_started(), 10)
        await asyncio.sleep(3.6)
        for app in replicas:
            app.shutdown()
        assert [await asyncio.wait_for(s, 30) for s in serving] == [0, 0]
        fired = sum(app.components[0].fired for app in replicas)
        ran = sum(app.consumer(task).stats.acked for app in replicas)
        keys = [k async for k in client.scan_iter(f"{name}:idempotency:{task}:*")]
        assert 3 <= fired <= 4
        assert ran == fired == len(keys)
    finally:
        for app, s in zip(replicas, serving, strict=True):
            if not s.done():
                app.shutdown(force=True)
                await asyncio.gather(s, return_exceptions=True)
        try:
            keys = [k async for k in client.scan_iter(f"{name}*")]
            keys += [k async for k in client.scan_iter(f"tasks.{task}*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()
