"""MQTT's ``session_expiry`` against the real server (Mosquitto on 127.0.0.1:1883):
after a consumer disconnects, the server keeps its session for that long and no
longer, as the CONNACK's session-present flag of a later connect with the same
client id shows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.mqtt.client_ids import clear_session
from svcgen_runtime.brokers.mqtt.link import Link, Server
from tests.contract.harness import unique
from tests.contract.harness_mqtt import URL, Harness

pytestmark = pytest.mark.broker


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        await h.cleanup()


async def session_present(client_id: str) -> bool:
    """Whether the server still holds ``client_id``'s session (the probe's own
    connect asks for none to be kept: expiry 0, so it ends the session it finds)."""
    link = Link(Server.parse(URL), client_id)
    present = await link.open(clean_start=False, session_expiry=0, timeout=5.0)
    await link.close()
    return present


async def subscribe_and_leave(harness: Harness, expiry: int) -> str:
    source = harness.source("opt-expiry")
    client_id = unique("svcgen-test-expiry")
    broker = harness.broker()
    try:
        sub = await broker.subscribe(
            SubscriptionSpec(
                consumer="opts",
                source=source,
                group="g",
                dead_letter=None,
                options={"client_id": client_id, "session_expiry": expiry},
            )
        )
        await sub.close()  # DISCONNECT, keeping the session
    finally:
        await broker.close()
    return client_id


@pytest.mark.slow
async def test_the_server_keeps_a_session_for_session_expiry_and_no_longer(
    harness: Harness,
) -> None:
    kept = await subscribe_and_leave(harness, expiry=60)
    short = await subscribe_and_leave(harness, expiry=1)
    try:
        await asyncio.sleep(2.5)
        assert await session_present(kept), "60s: still kept after 2.5s"
        assert not await session_present(short), "1s: gone after 2.5s"
    finally:
        for client_id in (kept, short):
            await clear_session(URL, client_id)
