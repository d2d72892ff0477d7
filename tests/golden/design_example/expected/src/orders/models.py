"""Message models of the orders service (user-owned: add fields freely)."""

from __future__ import annotations

from pydantic import BaseModel


class OrderCreated(BaseModel):
    """A message on orders.created."""


class OrderShipped(BaseModel):
    """A message sent to orders.shipped."""
