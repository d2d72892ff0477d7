"""How long the adapter's pull requests wait, against the real server on 127.0.0.1:4222.

nats-server before 2.10.14 (nats-io/nats-server#5305; this machine runs 2.9.10)
mishandles a redelivery that comes due in the instant the only waiting pull request
expires: the redelivery is dropped until ``ack_wait`` passes again and the consumer's
newest message, already acked, is delivered a second time. The adapter used to renew
its request every fetch wait (1 s, expiring 1 ms before the fetch gave up), so a
``Retry(after=1.0)`` or a one-second task delay kept landing on that instant
(``test_delay_and_idempotency_key[nats]`` failed about one run in thirty). An idle
subscription now keeps one request for 24-30 s, drawn at random.
"""

from __future__ import annotations

import asyncio
import json
import time

import nats
import pytest
from nats.aio.msg import Msg

from svcgen_runtime.brokers.nats import name_for
from svcgen_runtime.brokers.nats.subscription import PULL_EXPIRES
from svcgen_runtime.consumer import FETCH_WAIT
from svcgen_runtime.message import InboundMessage
from svcgen_runtime.outcome import Outcome
from tests.brokers.test_nats import consumer, harness, running
from tests.contract.harness_nats import URL, Harness
from tests.support import until

pytestmark = pytest.mark.broker
__all__ = ["harness"]  # the fixture, shared with test_nats


async def test_an_idle_subscription_does_not_renew_its_pull_request_every_fetch(
    harness: Harness,
) -> None:
    """Watch the server's pull-request subject of one consumer from a plain
    connection: once the messages are handled and the permits they held are asked
    for again, three fetch waits pass without a new request, and every request waits
    80-100 % of ``PULL_EXPIRES``."""
    b = harness.broker()
    source = harness.source("pull-timing")
    pulls: list[tuple[float, dict[str, int]]] = []
    handled: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome | None:
        handled.append(body)
        return None

    async def record(msg: Msg) -> None:
        pulls.append((time.monotonic(), json.loads(msg.data)))

    watcher = await nats.connect(URL, connect_timeout=5)
    try:
        await watcher.subscribe(
            f"$JS.API.CONSUMER.MSG.NEXT.{name_for(source)}.*", cb=record
        )
        await watcher.flush()
        async with running(b, consumer(b, source, handle, concurrency=4)):
            for n in range(3):
                await b.publish(source, f"m-{n}".encode())
            await until(lambda: len(handled) == 3, 10, "the three messages")
            # The permits the three held are asked for again by the first fetch
            # after they are free, which may be waiting out a fetch wait for the
            # one permit that was free: one request, legitimately after the last
            # message is handled. Only what comes after that is a renewal.
            await asyncio.sleep(2 * FETCH_WAIT)
            settled = len(pulls)
            await asyncio.sleep(3 * FETCH_WAIT + 0.2)
            renewed = pulls[settled:]
    finally:
        await watcher.close()
    assert pulls, "the watcher saw no pull request"
    assert renewed == [], f"pull requests renewed while idle: {renewed}"
    for _, request in pulls:
        assert 0.8 * PULL_EXPIRES <= request["expires"] / 1e9 <= PULL_EXPIRES, request
        assert 1 <= request["batch"] <= 4, request
