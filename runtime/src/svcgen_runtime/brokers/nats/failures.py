"""nats-py's exceptions turned into the runtime's (``BrokerConnectionError`` while
the connection is down, ``BrokerError`` otherwise), and the package's logger."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Final

import nats.errors
import nats.js.errors

from ...errors import BrokerConnectionError, BrokerError

log: Final = logging.getLogger(__package__)
"""One logger for the package, named as the single module was."""

CONNECTION_ERRORS: Final = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    nats.errors.NoServersError,
    nats.errors.TimeoutError,
    nats.js.errors.ServiceUnavailableError,
    OSError,
)
NATIVE_ERRORS: Final = (nats.errors.Error, OSError)


def failure(exc: BaseException, what: str) -> BrokerError:
    """The runtime's error for a nats-py failure: connection trouble vs. the rest."""
    if isinstance(exc, CONNECTION_ERRORS):
        return BrokerConnectionError(
            f"{what} failed: the nats connection is down ({type(exc).__name__}); "
            "it is retried once the client reconnects"
        )
    return BrokerError(f"{what} failed: {exc}")


class translated:
    """``with translated("ack", msg.id):`` raises ``failure(exc, "ack of <id>")``
    from a nats-py exception (``translated(what)``: ``failure(exc, what)``).

    A class rather than a generator: it guards every ack, so entering builds no
    text (only a failure does) and no generator.
    """

    __slots__ = ("_of", "_what")

    def __init__(self, what: str, of: str | None = None) -> None:
        self._what = what
        self._of = of

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, NATIVE_ERRORS):
            of = self._of
            what = self._what if of is None else f"{self._what} of {of}"
            raise failure(exc, what) from exc
