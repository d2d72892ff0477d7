"""The nightly_cleanup schedule (user-owned).

At each fire time of the cron expression 0 4 * * * (UTC), it enqueues
the cleanup task once, however many replicas run, with the arguments ``args``
returns.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from datetime import datetime


def args(fire_time: datetime) -> bytes:
    """The cleanup task's arguments for the fire at ``fire_time`` (UTC)."""
    return fire_time.isoformat().encode()
