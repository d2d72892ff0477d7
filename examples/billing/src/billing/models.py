"""Message models of the billing service (user-owned: add fields freely)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Invoice(BaseModel):
    """An invoice as POST /invoices receives it."""

    customer: str = Field(min_length=1)
    total_cents: int = Field(ge=0)


class ReceiptArgs(BaseModel):
    """The arguments of the send_receipt task."""

    invoice_id: int


class SummaryArgs(BaseModel):
    """The arguments of the summarize_day task: a UTC day, YYYY-MM-DD."""

    day: str
