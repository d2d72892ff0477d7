"""``SVCGEN_EVENT_LOOP``: asyncio by default, uvloop on request, a bad value or a
missing uvloop refused in one sentence before anything is built."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest
import uvloop

from svcgen_runtime import loops
from svcgen_runtime.application import EXIT_START_FAILED, Application
from svcgen_runtime.errors import ConfigurationError
from svcgen_runtime.overrides import run_or_refuse


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


@pytest.mark.parametrize("value", [None, "", "asyncio", " AsyncIO "])
def test_asyncio_is_the_default(value: str | None) -> None:
    env = {} if value is None else {loops.EVENT_LOOP_VAR: value}
    factory = loops.loop_factory(env)
    assert factory is None
    assert not issubclass(loops.run(_loop_type(), factory), uvloop.Loop)


def test_uvloop_on_request() -> None:
    factory = loops.loop_factory({loops.EVENT_LOOP_VAR: "uvloop"})
    assert loops.run(_loop_type(), factory) is uvloop.Loop


def test_another_value_is_one_sentence() -> None:
    with pytest.raises(ConfigurationError) as info:
        loops.loop_factory({loops.EVENT_LOOP_VAR: "trio"})
    assert str(info.value) == (
        "SVCGEN_EVENT_LOOP='trio' is not an event loop svcgen runs on: set it to "
        "asyncio or uvloop, or unset it for asyncio"
    )


def test_uvloop_not_installed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop raises
    with pytest.raises(ConfigurationError, match=r"svcgen-runtime\[uvloop\]"):
        loops.loop_factory({loops.EVENT_LOOP_VAR: "uvloop"})


def test_run_or_refuse_runs_the_service_on_the_chosen_loop() -> None:
    seen: list[type] = []

    class Probe:
        """A component that records the loop the application starts it on."""

        name = "probe"
        ready = True

        async def start(self) -> None:
            seen.append(type(asyncio.get_running_loop()))

        def stop_intake(self) -> None:
            pass

        async def drain(self, timeout: float) -> bool:
            return True

        async def force(self) -> None:
            pass

        async def close(self) -> None:
            pass

    def build() -> Application:
        app = Application(
            name="shop",
            brokers=[],
            consumers=[],
            components=[Probe()],
            handle_signals=False,
        )
        app.shutdown()
        return app

    assert run_or_refuse(build, "shop", {loops.EVENT_LOOP_VAR: "uvloop"}) == 0
    assert seen == [uvloop.Loop]


def test_a_bad_loop_is_refused_before_build(caplog: pytest.LogCaptureFixture) -> None:
    built: list[bool] = []

    def build() -> Application:
        built.append(True)
        raise AssertionError("not reached")

    status = run_or_refuse(build, "shop", {loops.EVENT_LOOP_VAR: "fast"})
    assert status == EXIT_START_FAILED and built == []
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("shop: start-up refused: SVCGEN_EVENT_LOOP=")
