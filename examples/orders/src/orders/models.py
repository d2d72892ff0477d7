"""Message models of the orders service (user-owned)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OrderCreated(BaseModel):
    """An order was placed."""

    order_id: str = Field(min_length=1)
    customer: str
    total_cents: int = Field(ge=0)


class OrderShipped(BaseModel):
    """An order left the warehouse."""

    order_id: str
    customer: str
