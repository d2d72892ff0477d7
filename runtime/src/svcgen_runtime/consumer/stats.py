"""A consumer's counters (``ConsumerStats``) and the buckets of its handler-time histogram.

The lowest module of the consume loop: the loop, settlement and the watchdog count
into one ``ConsumerStats``; tests, health, the shutdown summary and
``svcgen_runtime.metrics`` read it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Final

log = logging.getLogger(__package__)

HANDLER_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds (seconds) of the handler-duration histogram: Prometheus' defaults."""


@dataclass(slots=True)
class ConsumerStats:
    """Counters for one consumer, read by tests, health and the shutdown summary."""

    received: int = 0
    acked: int = 0
    requeued: int = 0
    retried: int = 0
    dead_lettered: int = 0
    errors: int = 0
    timeouts: int = 0
    released: int = 0
    deferred: int = 0
    settle_failures: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    handled: int = 0
    """Handler runs finished (returned, raised, timed out or cancelled)."""
    handler_seconds: float = 0.0
    """Their total duration."""
    handler_buckets: list[int] = field(
        default_factory=lambda: [0] * (len(HANDLER_BUCKETS) + 1)
    )
    """Runs by duration: ``[i]`` counts those up to ``HANDLER_BUCKETS[i]`` seconds
    and longer than the bucket before; the last, those longer than every bound."""

    def summary(self) -> str:
        return (
            f"received={self.received} acked={self.acked} requeued={self.requeued} "
            f"retried={self.retried} dead_lettered={self.dead_lettered} "
            f"errors={self.errors} timeouts={self.timeouts} released={self.released} "
            f"settle_failures={self.settle_failures}"
        )


async def lag_of(sub: Any, consumer: str, timeout: float) -> int | None:
    """What ``sub.lag()`` says within ``timeout`` seconds; None when the
    subscription has no ``lag`` (or none yet), or it fails or takes longer."""
    ask = getattr(sub, "lag", None)
    if ask is None:
        return None
    try:
        async with asyncio.timeout(timeout):
            waiting: int | None = await ask()
    except Exception as exc:  # a scrape must not fail on a slow or lost broker
        log.debug("consumer %s: no lag (%s: %s)", consumer, type(exc).__name__, exc)
        return None
    return waiting
