"""RabbitMQ options against the real server (127.0.0.1:5672): ``queue_type`` and
``delivery_limit`` become the queue arguments ``rabbitmqctl list_queues`` shows, and a
message that keeps coming back is moved to the dead-letter queue by the server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aio_pika
import pytest

from svcgen_runtime.brokers.base import SubscriptionSpec
from tests.contract.harness_rabbitmq import URL, Harness, rabbitmqctl
from tests.support import until_async

pytestmark = pytest.mark.broker


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness(quorum=False)
    try:
        yield h
    finally:
        await h.cleanup()


async def queues(*names: str) -> dict[str, tuple[str, str]]:
    """Each queue of ``names``: its type and its arguments as rabbitmqctl prints them."""
    listing = await rabbitmqctl(
        "list_queues", "--no-table-headers", "name", "type", "arguments"
    )
    found = {}
    for line in listing.splitlines():
        name, kind, arguments = [*line.split("\t"), "", ""][:3]
        if name in names:
            found[name] = (kind, arguments)
    return found


def spec(source: str, **options: object) -> SubscriptionSpec:
    return SubscriptionSpec(
        consumer="opts",
        source=source,
        group=source,
        dead_letter=f"{source}.dlq",
        options=options,
    )


async def test_queue_type_and_delivery_limit_are_the_queues_arguments(
    harness: Harness,
) -> None:
    quorum, classic = harness.source("opt-quorum"), harness.source("opt-classic")
    broker = harness.broker()
    try:
        sub = await broker.subscribe(
            spec(quorum, queue_type="quorum", delivery_limit=3)
        )
        await sub.close()
        sub = await broker.subscribe(spec(classic))
        await sub.close()
    finally:
        await broker.close()
    found = await queues(quorum, f"{quorum}.dlq", classic, f"{classic}.dlq")
    kind, arguments = found[quorum]
    assert kind == "quorum"
    for argument in (
        '{"x-queue-type","quorum"}',
        '{"x-delivery-limit",3}',
        '{"x-dead-letter-exchange",[]}',  # the default exchange: ""
        f'{{"x-dead-letter-routing-key","{quorum}.dlq"}}',
    ):
        assert argument in arguments.replace(" ", ""), (argument, arguments)
    dlq_kind, dlq_arguments = found[f"{quorum}.dlq"]
    assert dlq_kind == "quorum" and "x-delivery-limit" not in dlq_arguments
    assert found[classic][0] == "classic" and found[f"{classic}.dlq"][0] == "classic"


@pytest.mark.slow
async def test_past_the_delivery_limit_the_server_dead_letters_the_message(
    harness: Harness,
) -> None:
    source = harness.source("opt-limit")
    broker = harness.broker()
    try:
        sub = await broker.subscribe(
            spec(source, queue_type="quorum", delivery_limit=2)
        )
        await broker.publish(source, b"keeps failing")
        deliveries = 0
        while True:
            batch = await sub.fetch(1, 2.0)
            if not batch:
                break
            deliveries += 1
            assert deliveries < 10, "the delivery limit did not stop the message"
            await sub.requeue(batch[0])  # basic.reject(requeue=True): counted
        await sub.close()
        # the first delivery, then two returns within the limit: three in all
        assert deliveries == 3
        connection = await aio_pika.connect(URL, timeout=5.0)
        async with connection:
            channel = await connection.channel()

            async def dead_lettered() -> bool:
                queue = await channel.declare_queue(f"{source}.dlq", passive=True)
                return queue.declaration_result.message_count == 1

            await until_async(dead_lettered, timeout=5.0, what="the dead letter")
            queue = await channel.declare_queue(f"{source}.dlq", passive=True)
            message = await queue.get(timeout=5.0)
            assert message is not None and message.body == b"keeps failing"
            await message.ack()
    finally:
        await broker.close()
