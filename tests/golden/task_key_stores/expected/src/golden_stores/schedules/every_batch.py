"""The every_batch schedule (user-owned).

Every 0.25 seconds, it enqueues
the batch task once, however many replicas run, with the arguments ``args``
returns.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from datetime import datetime


def args(fire_time: datetime) -> bytes:
    """The batch task's arguments for the fire at ``fire_time`` (Asia/Tokyo)."""
    return fire_time.isoformat().encode()
