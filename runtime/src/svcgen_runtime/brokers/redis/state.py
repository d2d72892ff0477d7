"""What one subscription holds (options, entries being handled, the Lua scripts it
runs) and its coalesced XACKs: one XACK per fetch or per few ms for many ids."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Iterable
from typing import Final

from redis.asyncio import Redis

from ...errors import ConfigurationError
from ...message import InboundMessage
from ..base import SubscriptionSpec
from . import scripts
from .client import RedisConnection
from .entries import DELAYED_SUFFIX, command, log

OPTIONS: Final = frozenset(
    {
        "consumer_name",
        "claim_idle",
        "claim_interval",
        "ack_flush_delay",
        "mover_interval",
        "prune_idle",
        "maxlen",
    }
)
TRIM_INTERVAL: Final = 1.0
"""Seconds between two ``XTRIM MAXLEN ~`` of a source with the ``maxlen`` option."""
_ACK_BATCH: Final = 2048
_CLOSED_FLUSH_RETRIES: Final = 20


def _float_option(spec: SubscriptionSpec, name: str, default: float) -> float:
    value = spec.options.get(name, default)
    if not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(
            f"consumer {spec.consumer!r}: option {name} must be a non-negative "
            f"number of seconds, got {value!r}"
        )
    return float(value)


class SubscriptionState:
    """The state every part of ``RedisSubscription`` shares, and its acks."""

    def __init__(
        self,
        broker: RedisConnection,
        spec: SubscriptionSpec,
        client: Redis,
        reader: Redis,
    ) -> None:
        self._broker = broker
        self._spec = spec
        self._client = client
        self._reader = reader
        self._source = spec.source
        self._group = spec.group
        self._group_b = spec.group.encode()
        self._delayed = spec.source + DELAYED_SUFFIX
        name = spec.options.get("consumer_name")
        self.consumer_name: str = (
            str(name)
            if name
            else f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        )
        self._claim_idle = _float_option(spec, "claim_idle", spec.ack_wait)
        # At most 1 s between reclaim passes: a dead consumer's entries reach another
        # within claim_idle + 1 s (+ one fetch wait), whatever claim_idle is; at
        # claim_idle / 2 up to 5 s they took up to 1.5 * claim_idle.
        self._claim_interval = _float_option(
            spec, "claim_interval", max(0.05, min(self._claim_idle / 2, 1.0))
        )
        self._ack_delay = _float_option(spec, "ack_flush_delay", 0.005)
        self._mover_interval = max(0.01, _float_option(spec, "mover_interval", 0.5))
        self._touch_after = max(self._claim_idle / 3, 0.05)
        self._prune_idle = _float_option(spec, "prune_idle", 3600.0)
        self._prune_at = 0.0
        maxlen = spec.options.get("maxlen", broker.maxlen)
        if maxlen is not None and (
            isinstance(maxlen, bool) or not isinstance(maxlen, int) or maxlen < 1
        ):
            raise ConfigurationError(
                f"consumer {spec.consumer!r}: option maxlen must be a whole number "
                f">= 1, got {maxlen!r}"
            )
        self._maxlen: int | None = maxlen
        self._trim_at = 0.0
        block_cap = broker.socket_timeout - 1.0
        self._block_cap_ms = int(block_cap * 1000)
        self._held: dict[bytes, float] = {}
        self._acks: list[bytes] = []
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._flush_failures = 0
        self._claim_at = 0.0
        self._cursor: bytes | str = "0-0"
        self._recover = False
        self._closed = False
        self._wake = asyncio.Event()
        self._housekeeper: asyncio.Task[None] | None = None
        self._settle_script = client.register_script(scripts.SETTLE)
        self._move_script = client.register_script(scripts.MOVE_DUE)
        self._claim_script = reader.register_script(scripts.CLAIM)
        self._recover_script = reader.register_script(scripts.RECOVER)
        self._touch_script = client.register_script(scripts.TOUCH)
        self._forget_script = client.register_script(scripts.FORGET)
        self._prune_script = client.register_script(scripts.PRUNE)

    # -- acknowledgements ------------------------------------------------------

    def _ack_id(self, entry_id: bytes) -> None:
        self._acks.append(entry_id)
        if len(self._acks) >= _ACK_BATCH:
            self._flush_soon()
        elif self._flush_timer is None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(self._ack_delay, self._flush_soon)

    def _take_acks(self) -> list[bytes]:
        acks, self._acks = self._acks, []
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        return acks

    def _forget_held(self, ids: Iterable[bytes]) -> None:
        held = self._held
        for entry_id in ids:
            held.pop(entry_id, None)

    def _flush_soon(self) -> None:
        self._flush_timer = None
        task = asyncio.get_running_loop().create_task(self._flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        acks = self._take_acks()
        if not acks:
            return
        if not self._broker.connected:
            # The broker was closed: its connections must stay closed. The entries
            # stay pending and are reclaimed after claim_idle.
            log.warning(
                "redis %s/%s: %d ack(s) after the broker closed were dropped; the "
                "entries will be delivered again",
                self._source,
                self._group,
                len(acks),
            )
            return
        try:
            await command(self._client, "XACK", self._source, self._group, *acks)
        except Exception as exc:
            # Not acknowledged yet: still pending, so kept for the next flush (XACK
            # is idempotent); a crash meanwhile makes the entries be reclaimed.
            self._acks[:0] = acks
            log.warning(
                "redis %s/%s: acknowledging %d entr%s failed (%s); retrying with "
                "the next flush",
                self._source,
                self._group,
                len(acks),
                "y" if len(acks) == 1 else "ies",
                exc,
            )
            self._flush_failures += 1
            # A closed subscription keeps trying a while (its broker may be back).
            retry = not self._closed or self._flush_failures <= _CLOSED_FLUSH_RETRIES
            if retry and self._flush_timer is None:
                loop = asyncio.get_running_loop()
                self._flush_timer = loop.call_later(0.5, self._flush_soon)
            return
        self._flush_failures = 0
        self._forget_held(acks)

    async def ack(self, msg: InboundMessage) -> None:
        self._ack_id(msg.native)
