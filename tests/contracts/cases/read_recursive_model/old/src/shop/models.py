"""The shop's messages."""

from __future__ import annotations

from pydantic import BaseModel


class Node(BaseModel):
    """A category tree."""

    name: str
    children: list[Node] = []


class Paid(BaseModel):
    """Read from shop.paid."""

    order: str
    amount: float
    note: str | None = None
    category: Node | None = None


class Receipt(BaseModel):
    """Sent to shop.receipts."""

    order: str
    total: int
    memo: str = ""
