"""cancel_and_wait: helper tasks stop even when one cancellation is lost."""

from __future__ import annotations

import asyncio
import logging

import pytest

from svcgen_runtime.cancel import cancel_and_wait


async def test_a_task_that_loses_one_cancellation_is_cancelled_again() -> None:
    # The shape of CPython gh-86296 (asyncio.wait_for on 3.11): a loop whose await
    # drops the cancellation once and carries on looping.
    swallowed = 0

    async def loop_forever() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1

    task = asyncio.create_task(loop_forever())
    await asyncio.sleep(0.02)
    assert await cancel_and_wait([task], timeout=2.0)
    assert task.cancelled()
    assert swallowed == 1


async def test_a_task_that_never_stops_is_reported_after_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def immortal() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                pass

    task = asyncio.create_task(immortal(), name="immortal")
    await asyncio.sleep(0.02)
    with caplog.at_level(logging.WARNING):
        started = asyncio.get_running_loop().time()
        assert not await cancel_and_wait([task], timeout=0.3, what="helper")
        took = asyncio.get_running_loop().time() - started
    assert 0.3 <= took < 1.0
    assert "1 helper(s) did not stop within 0.3s" in caplog.text
    assert "immortal" in caplog.text
    release.set()
    await task


async def test_errors_of_ended_tasks_are_retrieved_not_raised() -> None:
    async def fails_on_cancel() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RuntimeError("while stopping") from None

    tasks = [asyncio.create_task(fails_on_cancel()) for _ in range(3)]
    await asyncio.sleep(0)
    assert await cancel_and_wait(tasks)
    assert all(isinstance(t.exception(), RuntimeError) for t in tasks)
