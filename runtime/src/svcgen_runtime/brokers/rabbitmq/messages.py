"""AMQP messages in and out: the confirmed publish to the default exchange, the
message a publish or a republish sends, the headers of a delivery; and what every
module of the RabbitMQ adapter shares (the logger, the connection errors)."""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Mapping
from typing import Any, Final

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel
from pamqp.common import FieldTable

from ...errors import BrokerConnectionError, BrokerError
from ...message import KEY_HEADER, safe_headers

log: Final = logging.getLogger(__package__)
"""One logger for the package, named as the single module was."""

DELIVERY_COUNT_HEADER: Final = "x-delivery-count"
_BROKER_HEADERS: Final = ("x-death", "x-first-death-", "x-last-death-")
"""Headers RabbitMQ writes itself; never copied into a republished message."""

CONNECTION_ERRORS: Final = (
    aiormq.exceptions.AMQPError,
    # aio-pika/aiormq raise RuntimeError for "connection/channel closed".
    RuntimeError,
    ConnectionError,
    OSError,
    TimeoutError,
)


class UnroutableError(BrokerError):
    """A mandatory publish found no queue of that name."""


def str_headers(raw: FieldTable | None) -> tuple[dict[str, str], str | None, int]:
    """AMQP headers as str->str, the ordering key, and the quorum delivery count."""
    headers: dict[str, str] = {}
    key: str | None = None
    redeliveries = 0
    if not raw:
        return headers, key, redeliveries
    for name, value in raw.items():
        if name == KEY_HEADER:
            key = value.decode() if isinstance(value, bytes) else str(value)
        elif name == DELIVERY_COUNT_HEADER:
            if isinstance(value, int):
                redeliveries = value
        elif name.startswith(_BROKER_HEADERS):
            continue
        elif isinstance(value, bytes):
            headers[name] = value.decode("utf-8", "replace")
        elif isinstance(value, str | int | float | bool | datetime.datetime):
            headers[name] = str(value)
    return headers, key, redeliveries


def amqp_message(
    body: bytes,
    *,
    key: str | None,
    headers: Mapping[str, str] | None,
    message_id: str | None = None,
) -> aio_pika.Message:
    # Field-table names are short strings (255 bytes) and the header frame has to
    # fit frame_max; safe_headers keeps both, and the text the other brokers get.
    amqp_headers: dict[str, Any] = dict(safe_headers(headers, (KEY_HEADER, key)))
    return aio_pika.Message(
        body,
        headers=amqp_headers,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id or uuid.uuid4().hex,
        timestamp=datetime.datetime.now(datetime.UTC),
    )


async def publish_confirmed(
    channel: AbstractChannel,
    broker: str,
    routing_key: str,
    message: aio_pika.Message,
    timeout: float,
) -> None:
    """Publish to the default exchange and wait for the broker's confirm."""
    try:
        await channel.default_exchange.publish(
            message, routing_key, mandatory=True, timeout=timeout
        )
    except aio_pika.exceptions.PublishError as exc:
        raise UnroutableError(
            f"rabbitmq broker {broker!r} could not route a message to queue "
            f"{routing_key!r} (it does not exist): start its consumer, which "
            "declares it, before publishing"
        ) from exc
    except aio_pika.exceptions.DeliveryError as exc:
        raise BrokerError(
            f"rabbitmq broker {broker!r} refused a message for queue "
            f"{routing_key!r} ({exc}): check the queue's length limits and the "
            "server's logs"
        ) from exc
    except TimeoutError as exc:
        raise BrokerConnectionError(
            f"rabbitmq broker {broker!r} got no publisher confirm for queue "
            f"{routing_key!r} within {timeout}s: check the server (memory or disk "
            "alarm?) or raise publish_timeout"
        ) from exc
    except CONNECTION_ERRORS as exc:
        raise BrokerConnectionError(
            f"rabbitmq broker {broker!r} lost its channel while publishing to "
            f"{routing_key!r} ({type(exc).__name__}: {exc}); it reconnects on the "
            "next call"
        ) from exc
