"""The monthly_archive schedule (user-owned).

At each fire time of the cron expression 0 5 1 * * (UTC), it enqueues
the archive task once, however many replicas run, with the arguments ``args``
returns.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from datetime import datetime


def args(fire_time: datetime) -> bytes:
    """The archive task's arguments for the fire at ``fire_time`` (UTC)."""
    return fire_time.isoformat().encode()
