"""Message models of the golden_publishers service (user-owned: add fields freely)."""

from __future__ import annotations

from pydantic import BaseModel


class OrderPaid(BaseModel):
    """A message on orders.paid."""


class OrderShipped(BaseModel):
    """A message sent to orders.shipped."""
