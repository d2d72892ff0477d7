"""The s schedule (user-owned).

Every 3600.0 seconds, it enqueues
the t task once, however many replicas run, with the arguments ``args``
returns.

\"\"\"

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from datetime import datetime


def args(fire_time: datetime) -> bytes:
    """The t task's arguments for the fire at ``fire_time`` (UTC)."""
    return fire_time.isoformat().encode()
