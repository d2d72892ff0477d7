"""Tests of the sensors service on an in-process memory broker: no NATS needed."""

from __future__ import annotations

import dataclasses

from svcgen_runtime import Application, MemoryBroker
from svcgen_runtime.testing import run_service

from sensors import latest
from sensors._generated.app import build_app
from sensors._generated.settings import load_settings


def make_app() -> Application:
    settings = dataclasses.replace(load_settings({}), health_port=0)
    return build_app(
        settings=settings,
        brokers={"stream": MemoryBroker("stream")},
        handle_signals=False,
    )


async def test_the_latest_reading_of_each_sensor_is_kept() -> None:
    async with run_service(make_app()) as svc:
        for body in (
            b'{"sensor": "s1", "celsius": 20.5, "at": 100}',
            b'{"sensor": "s1", "celsius": 21.0, "at": 200}',
            b'{"sensor": "s1", "celsius": 19.0, "at": 150}',
            b'{"sensor": "s2", "celsius": -4.0, "at": 100}',
        ):
            await svc.publish("stream", "sensors.readings", body, key="s1")
        await svc.wait_idle()
        assert svc.stats("reading").acked == 4
    assert latest.LATEST["s1"].celsius == 21.0
    assert latest.LATEST["s2"].celsius == -4.0


async def test_an_implausible_reading_is_rejected_without_retries() -> None:
    async with run_service(make_app()) as svc:
        await svc.publish(
            "stream", "sensors.readings", b'{"sensor": "s9", "celsius": 900, "at": 1}'
        )
        await svc.wait_idle()
        stats = svc.stats("reading")
        assert (stats.dead_lettered, stats.retried, stats.acked) == (1, 0, 0)
        (dead,) = svc.dead_letters("stream", "sensors.readings.rejected")
        assert dead.headers["x-svcgen-reason"] == "rejected"
        assert dead.headers["x-svcgen-original-source"] == "sensors.readings"


async def test_a_reading_that_does_not_parse_is_dead_lettered_at_once() -> None:
    async with run_service(make_app()) as svc:
        await svc.publish("stream", "sensors.readings", b"not json")
        await svc.wait_idle()
        (dead,) = svc.dead_letters("stream", "sensors.readings.rejected")
        assert dead.headers["x-svcgen-reason"] == "poison"
        assert dead.body == b"not json"
