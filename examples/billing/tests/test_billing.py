"""Tests of the billing service on an in-process memory broker: no Redis needed.

The redis task broker is replaced by a memory broker and the idempotency store by
an in-process one; the cache, SQLite database and file storage are the real ones,
in a temporary folder.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
from svcgen_runtime import Application, MemoryBroker
from svcgen_runtime.http import HttpServer
from svcgen_runtime.idempotency import MemoryIdempotency
from svcgen_runtime.schedules import Schedule
from svcgen_runtime.testing import run_service

from billing._generated.app import build_app
from billing._generated.settings import load_settings


def make_app(tmp_path: Path) -> Application:
    settings = load_settings(
        {
            "BILLING_DB": str(tmp_path / "billing.db"),
            "BILLING_FILES": str(tmp_path / "files"),
            "HTTP_PORT": "0",
        }
    )
    return build_app(
        settings=settings,
        brokers={"jobs": MemoryBroker("jobs")},
        idempotency=MemoryIdempotency(),
        handle_signals=False,
    )


def client(app: Application) -> httpx.AsyncClient:
    assert isinstance(app.http, HttpServer)
    transport = httpx.ASGITransport(app=app.http.app)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_an_invoice_gets_its_receipt_from_the_task_queue(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with run_service(app) as svc, client(app) as http:
        created = await http.post(
            "/invoices", json={"customer": "ada", "total_cents": 1250}
        )
        assert created.status_code == 201
        invoice_id = created.json()["invoice_id"]
        await svc.wait_idle()
        assert svc.stats("send_receipt").acked == 1
        receipt = await http.get(f"/receipts/{invoice_id}")
        assert receipt.status_code == 200
        assert receipt.headers["x-from"] == "cache"
        assert "customer: ada\ntotal: 12.50\n" in receipt.text
        bad = await http.post("/invoices", json={"customer": "", "total_cents": -1})
        assert bad.status_code == 422
    stored = tmp_path / "files" / "receipts" / f"{invoice_id}.txt"
    assert stored.read_text().startswith(f"receipt for invoice {invoice_id}\n")


async def test_a_receipt_for_an_unknown_invoice_is_dead_lettered(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    async with run_service(app) as svc, client(app) as http:
        await svc.publish("jobs", "tasks.send_receipt", b'{"invoice_id": 999}')
        await svc.wait_idle()
        assert svc.stats("send_receipt").dead_lettered == 1
        assert len(svc.dead_letters("jobs", "tasks.send_receipt.dlq")) == 1
        assert (await http.get("/receipts/999")).status_code == 404


async def test_the_nightly_summary_fires_once_per_fire_time(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    (schedule,) = app.components
    assert isinstance(schedule, Schedule)
    assert (schedule.cron, str(schedule.tz)) == ("0 2 * * *", "Europe/Berlin")
    async with run_service(app) as svc, client(app) as http:
        await http.post("/invoices", json={"customer": "ada", "total_cents": 100})
        await http.post("/invoices", json={"customer": "bob", "total_cents": 250})
        today = dt.datetime.now(dt.UTC).date()
        fire = dt.datetime.combine(
            today + dt.timedelta(days=1), dt.time(2), schedule.tz
        )
        key = schedule.key(fire.timestamp())
        # Two replicas reach the same fire time: one enqueue goes through.
        assert await schedule.task.enqueue(schedule.args(fire), key=key) is True
        assert await schedule.task.enqueue(schedule.args(fire), key=key) is False
        await svc.wait_idle()
        assert svc.stats("summarize_day").acked == 1
    summary = tmp_path / "files" / "summaries" / f"{today.isoformat()}.json"
    assert json.loads(summary.read_text()) == {
        "day": today.isoformat(),
        "invoices": 2,
        "total_cents": 350,
    }
