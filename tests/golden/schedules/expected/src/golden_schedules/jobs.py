"""Message models of the golden-schedules service (user-owned: add fields freely)."""

from __future__ import annotations

from pydantic import BaseModel


class ReportArgs(BaseModel):
    """The arguments of the send_report task."""
