"""The nightly_summary schedule (user-owned).

At 02:00 Europe/Berlin it enqueues the summarize_day task for the UTC day that
ended before the fire, once however many replicas run.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

import datetime as dt

from billing.models import SummaryArgs


def args(fire_time: dt.datetime) -> SummaryArgs:
    """The summarize_day task's arguments for the fire at ``fire_time``."""
    day = fire_time.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    return SummaryArgs(day=day.isoformat())
