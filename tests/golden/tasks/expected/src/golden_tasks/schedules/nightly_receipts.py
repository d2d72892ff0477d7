"""The nightly_receipts schedule (user-owned).

At each fire time of the cron expression 30 2 * * 1-5 (Europe/Berlin), it enqueues
the send_receipt task once, however many replicas run, with the arguments ``args``
returns.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from datetime import datetime

from golden_tasks.models import ReceiptArgs


def args(fire_time: datetime) -> ReceiptArgs:
    """The send_receipt task's arguments for the fire at ``fire_time`` (Europe/Berlin)."""
    return ReceiptArgs()
