"""Message models of the golden_publishers service (user-owned: add fields freely)."""

from __future__ import annotations

from pydantic import BaseModel


class OrderPaid(BaseModel):
    """A orders.paid message."""


class OrderShipped(BaseModel):
    """A orders.shipped message."""
