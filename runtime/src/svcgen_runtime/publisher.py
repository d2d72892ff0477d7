"""Publishers: typed, confirmed sends to one target on one broker."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Generic, TypeVar

from . import tracing
from .brokers.base import Broker

if TYPE_CHECKING:
    from .effects import Effects

T = TypeVar("T")


class Publisher(Generic[T]):
    """Sends messages of one type to one target; ``publish`` returns once confirmed.

    Args:
        name: the publisher's name in the spec.
        broker: the connection to publish through.
        target: topic / exchange routing key / subject / stream.
        encode: turns a message into bytes; ``None`` sends bytes as they are.
        outbox: the service's ``Effects``: ``publish`` then writes an outbox row
            (in the database transaction the caller runs in, if any) and returns;
            the ``OutboxRelay`` sends it once that transaction has committed.
    """

    def __init__(
        self,
        *,
        name: str,
        broker: Broker,
        target: str,
        encode: Callable[[T], bytes] | None = None,
        outbox: Effects | None = None,
    ) -> None:
        self.name = name
        self.broker = broker
        self.target = target
        self.encode = encode
        self.outbox = outbox

    async def publish(
        self,
        message: T,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if self.encode is not None:
            body = self.encode(message)
        elif isinstance(message, bytes | bytearray):
            body = bytes(message)
        else:
            raise TypeError(
                f"publisher {self.name!r} sends bytes; got {type(message).__name__}"
            )
        with tracing.sending(
            tracing.tracer(), self.target, system=self.broker.kind, headers=headers
        ) as sent:
            if self.outbox is None:
                await self.broker.publish(self.target, body, key=key, headers=sent)
            else:
                await self.outbox.write(
                    publisher=self.name,
                    target=self.target,
                    body=body,
                    key=key,
                    headers=sent or {},
                )


def pydantic_encoder(message: object) -> bytes:
    """Encode a pydantic model as JSON bytes."""
    dump = getattr(message, "model_dump_json", None)
    if dump is None:
        raise TypeError(f"{type(message).__name__} is not a pydantic model")
    return str(dump()).encode()
