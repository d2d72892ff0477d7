"""Tests of the orders service on an in-process memory broker: no Kafka needed."""

from __future__ import annotations

import dataclasses
import json

import httpx
from svcgen_runtime import Application, MemoryBroker
from svcgen_runtime.http import HttpServer
from svcgen_runtime.testing import run_service

from orders import store
from orders._generated.app import build_app
from orders._generated.settings import load_settings


def make_app() -> Application:
    settings = dataclasses.replace(load_settings({}), http_port=0)
    return build_app(
        settings=settings,
        brokers={"events": MemoryBroker("events")},
        handle_signals=False,
    )


async def test_an_order_is_shipped_and_announced() -> None:
    async with run_service(make_app()) as svc:
        body = b'{"order_id": "o-1", "customer": "ada", "total_cents": 1200}'
        await svc.publish("events", "orders.created", body, key="o-1")
        await svc.wait_idle()
        assert svc.stats("order_created").acked == 1
        shipped = svc.broker("events").messages("orders.shipped")
        assert [json.loads(m.body) for m in shipped] == [
            {"order_id": "o-1", "customer": "ada"}
        ]
        assert shipped[0].key == "o-1"
    assert store.ORDERS["o-1"] == "shipped"


async def test_a_malformed_order_is_dead_lettered_at_once() -> None:
    async with run_service(make_app()) as svc:
        await svc.publish("events", "orders.created", b'{"order_id": ""}')
        await svc.wait_idle()
        assert svc.stats("order_created").dead_lettered == 1
        (dead,) = svc.dead_letters("events", "orders.created.dlq")
        assert dead.headers["x-svcgen-reason"] == "poison"
        assert dead.headers["x-svcgen-consumer"] == "order_created"
        assert svc.broker("events").messages("orders.shipped") == []


async def test_http_places_an_order_that_the_consumer_ships() -> None:
    app = make_app()
    assert isinstance(app.http, HttpServer)
    async with run_service(app) as svc:
        transport = httpx.ASGITransport(app=app.http.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t"
        ) as client:
            placed = await client.post(
                "/orders",
                json={"order_id": "o-2", "customer": "bob", "total_cents": 5},
            )
            assert placed.status_code == 202
            await svc.wait_idle()
            got = await client.get("/orders/o-2")
            assert got.json() == {"order_id": "o-2", "status": "shipped"}
            assert (await client.get("/orders/nope")).status_code == 404
            bad = await client.post("/orders", json={"order_id": "o-3"})
            assert bad.status_code == 422
            assert (await client.get("/readyz")).status_code == 200
