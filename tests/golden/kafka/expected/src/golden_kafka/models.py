"""Message models of the golden_kafka service (user-owned: add fields freely)."""

from __future__ import annotations

from pydantic import BaseModel


class OrderCreated(BaseModel):
    """A message on orders.created."""
