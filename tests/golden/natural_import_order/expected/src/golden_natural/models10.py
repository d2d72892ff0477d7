"""Message models of the golden_natural service (user-owned: add fields freely)."""

from __future__ import annotations

from pydantic import BaseModel


class Order(BaseModel):
    """A message on c10."""
