"""Parametrizes the contract suite over every broker's harness (real servers on loopback)."""

from __future__ import annotations

import importlib
import os
from collections.abc import AsyncIterator

import pytest

from svcgen.kinds import BROKER_KINDS, BROKERS

from .harness import Harness

# Every broker the runtime supports; each must pass the same scenarios.
KINDS = list(BROKER_KINDS)
if os.environ.get(
    "SVCGEN_CONTRACT_KINDS"
):  # narrow a local run: SVCGEN_CONTRACT_KINDS=redis,nats
    KINDS = os.environ["SVCGEN_CONTRACT_KINDS"].split(",")
CRASH_KINDS = [k for k in KINDS if not BROKERS[k].in_process]  # dies with its process


def make_harness(kind: str) -> Harness:
    module = importlib.import_module(f"tests.contract.harness_{kind}")
    harness: Harness = module.Harness()
    return harness


async def _harness(kind: str) -> AsyncIterator[Harness]:
    harness = make_harness(kind)
    try:
        yield harness
    finally:
        await harness.cleanup()


@pytest.fixture(params=KINDS)
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    async for h in _harness(request.param):
        yield h


@pytest.fixture(params=CRASH_KINDS)
async def process_harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    async for h in _harness(request.param):
        yield h
