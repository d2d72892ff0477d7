"""The stream entry layout (``body``, ``key``, ``h:<name>``, ``group``) and the bits
every module of the Redis adapter shares: the package's logger, the connection
errors, raw commands."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from redis import exceptions as rexc
from redis.asyncio import Redis

from ... import message as m
from ...message import InboundMessage

log: Final = logging.getLogger(__package__)
"""One logger for the package, named as the single module was."""

HEADER_PREFIX: Final = b"h:"
DELAYED_SUFFIX: Final = ".delayed"
CONNECTION_ERRORS: Final = (rexc.ConnectionError, rexc.TimeoutError, OSError)


def encode_fields(
    body: bytes, key: str | None, headers: Mapping[str, str] | None
) -> list[bytes | str]:
    """The entry's field/value list: ``body``, optional ``key``, ``h:<name>`` headers."""
    fields: list[bytes | str] = ["body", body]
    if key is not None:
        fields += ["key", key]
    if headers:
        # Streams take any bytes, but redis-py encodes strictly (a lone surrogate
        # raises) and every broker should carry the same text.
        for name, value in m.safe_headers(headers).items():
            fields += ["h:" + name, value]
    return fields


def decode_entry(
    source: str,
    entry_id: bytes,
    items: Iterable[tuple[bytes, bytes]],
    times_delivered: int,
) -> tuple[InboundMessage, bytes | None]:
    """An InboundMessage from one stream entry, and the ``group`` field of a copy."""
    body = b""
    key: str | None = None
    group: bytes | None = None
    headers: dict[str, str] = {}
    for name, value in items:
        if name.startswith(HEADER_PREFIX):
            headers[name[2:].decode()] = value.decode("utf-8", "replace")
        elif name == b"body":
            body = value
        elif name == b"key":
            key = value.decode("utf-8", "replace")
        elif name == b"group":
            group = value
    sid = entry_id.decode()
    msg = InboundMessage(
        id=sid,
        source=source,
        body=body,
        key=key,
        headers=headers,
        delivery_count=m.attempt_from_headers(headers) + times_delivered - 1,
        timestamp=int(sid.partition("-")[0]) / 1000.0,
        position={"stream_id": sid},
        native=entry_id,
    )
    return msg, group


async def command(client: Redis, *args: Any) -> Any:
    """One raw command (redis-py leaves ``execute_command`` untyped)."""
    return await client.execute_command(*args)  # type: ignore[no-untyped-call]


def pairs(flat: Sequence[bytes]) -> Iterable[tuple[bytes, bytes]]:
    """``[name, value, name, value, ...]`` as (name, value) pairs."""
    it = iter(flat)
    return zip(it, it, strict=False)
