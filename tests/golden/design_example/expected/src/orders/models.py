"""Message models of the orders service (user-owned: add fields freely)."""

from __future__ import annotations

from pydantic import BaseModel


class OrderCreated(BaseModel):
    """A orders.created message."""


class OrderShipped(BaseModel):
    """A orders.shipped message."""
