"""The shop's messages."""

from pydantic import BaseModel, Field


class Paid(BaseModel):
    """Read from shop.paid."""

    order: str
    amount: float
    note: str | None = None
    evil: str = Field(alias="a\nb\x1b[2J")


class Receipt(BaseModel):
    """Sent to shop.receipts."""

    order: str
    total: int
    memo: str = ""
