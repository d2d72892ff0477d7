"""Which event loop a service runs on: asyncio's own, or uvloop.

``SVCGEN_EVENT_LOOP`` chooses at start: unset, empty or ``asyncio`` is the standard
library's loop; ``uvloop`` is libuv's (install ``svcgen-runtime[uvloop]``), which
FastStream, uvicorn and Sanic users know as the faster loop for socket-heavy work.
``benchmarks/brokers.py --loops asyncio,uvloop`` measures the gain per broker. A value
that is neither, or uvloop asked for but not installed, is refused in one sentence
(``ConfigurationError``) before anything connects, like every other start-up setting.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Final, TypeVar

from .errors import ConfigurationError

T = TypeVar("T")

EVENT_LOOP_VAR: Final = "SVCGEN_EVENT_LOOP"
LOOPS: Final = ("asyncio", "uvloop")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(env: Mapping[str, str]) -> LoopFactory | None:
    """The factory of the loop ``env`` asks for (None: asyncio's default)."""
    choice = env.get(EVENT_LOOP_VAR, "").strip().lower() or "asyncio"
    if choice == "asyncio":
        return None
    if choice != "uvloop":
        raise ConfigurationError(
            f"{EVENT_LOOP_VAR}={env[EVENT_LOOP_VAR]!r} is not an event loop svcgen "
            f"runs on: set it to {' or '.join(LOOPS)}, or unset it for asyncio"
        )
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        raise ConfigurationError(
            f"{EVENT_LOOP_VAR}=uvloop, but uvloop is not installed: install "
            "svcgen-runtime[uvloop] (pip install 'svcgen-runtime[uvloop]') or unset "
            f"{EVENT_LOOP_VAR}"
        ) from None
    factory: LoopFactory = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T], factory: LoopFactory | None = None) -> T:
    """``asyncio.run(main)`` on the loop ``factory`` makes (None: asyncio's)."""
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
