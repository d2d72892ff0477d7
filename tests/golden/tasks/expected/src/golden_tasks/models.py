"""Message models of the golden-tasks service (user-owned: add fields freely)."""

from __future__ import annotations

from pydantic import BaseModel


class ReceiptArgs(BaseModel):
    """The arguments of the send_receipt task."""


class WarmUp(BaseModel):
    """The arguments of the warm_up task."""
