"""The consume loop: permits before fetches, a fixed pool of handlers, one settle per
delivery.

One module per concept, composed by ``Consumer`` (``loop``):

* ``loop``: the Consumer, its lifecycle, the worker pool and fetch loop, one
  handler run per delivery;
* ``inbox``: the workers' queue;
* ``lanes``: per-key ordering lanes;
* ``watchdog``: handler deadlines and in-progress heartbeats;
* ``settle``: ack / requeue / retry / defer / dead-letter, releases, and the backoff
  after a failed settle;
* ``due``: due times (never handled early; waiting is not an attempt);
* ``stats``: the counters and the handler-time histogram's buckets.
"""

from __future__ import annotations

from .due import DUE_WAIT_MAX
from .loop import FETCH_WAIT, Consumer, Handler
from .settle import (
    DEFAULT_DEAD_LETTER,
    SETTLE_BACKOFF,
    SETTLE_FAILURES_NOT_READY,
    SETTLE_LOG_INTERVAL,
    DefaultDeadLetter,
)
from .stats import HANDLER_BUCKETS, ConsumerStats

__all__ = [
    "DEFAULT_DEAD_LETTER",
    "DUE_WAIT_MAX",
    "FETCH_WAIT",
    "HANDLER_BUCKETS",
    "SETTLE_BACKOFF",
    "SETTLE_FAILURES_NOT_READY",
    "SETTLE_LOG_INTERVAL",
    "Consumer",
    "ConsumerStats",
    "DefaultDeadLetter",
    "Handler",
]
