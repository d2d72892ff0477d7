"""The heartbeat schedule (user-owned).

Every 30.0 seconds, it enqueues
the ping task once, however many replicas run, with the arguments ``args``
returns.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from datetime import datetime


def args(fire_time: datetime) -> bytes:
    """The ping task's arguments for the fire at ``fire_time`` (UTC)."""
    return fire_time.isoformat().encode()
