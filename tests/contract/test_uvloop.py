"""The contract's outcome scenarios again, on uvloop (``SVCGEN_EVENT_LOOP=uvloop``):
ack, requeue counting, retry timing and dead-lettering on each real broker, run on
the loop ``svcgen_runtime.loops`` makes, the way ``run_or_refuse`` runs a service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import uvloop

from svcgen_runtime import loops

from . import test_contract as contract
from .conftest import KINDS, make_harness
from .harness import Harness

SCENARIOS: dict[str, Callable[[Harness], Awaitable[None]]] = {
    "ack": contract.test_ack_settles_every_message_once,
    "requeue": contract.test_nack_requeue_increments_delivery_count,
    "retry_after": contract.test_retry_after_is_never_early_and_within_one_second,
    "exhausted": contract.test_exhausted_message_is_dead_lettered_with_headers,
}


async def _on_uvloop(kind: str, scenario: Callable[[Harness], Awaitable[None]]) -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
    harness = make_harness(kind)
    try:
        await scenario(harness)
    finally:
        await harness.cleanup()


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("kind", KINDS)
def test_the_outcomes_hold_on_uvloop(kind: str, scenario: str) -> None:
    factory = loops.loop_factory({loops.EVENT_LOOP_VAR: "uvloop"})
    assert factory is uvloop.new_event_loop
    loops.run(_on_uvloop(kind, SCENARIOS[scenario]), factory)
