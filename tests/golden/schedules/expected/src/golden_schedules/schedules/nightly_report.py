"""The nightly_report schedule (user-owned).

At each fire time of the cron expression 0 3 * * * (America/New_York), it enqueues
the send_report task once, however many replicas run, with the arguments ``args``
returns.

The report of the day before, for the morning shift.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from datetime import datetime

from golden_schedules.jobs import ReportArgs


def args(fire_time: datetime) -> ReportArgs:
    """The send_report task's arguments for the fire at ``fire_time`` (America/New_York)."""
    return ReportArgs()
