"""The shop's messages."""

from pydantic import BaseModel, Field


class Paid(BaseModel):
    """Read from shop.paid."""

    order: str
    channel: str = "web"
    amount: float | str
    note: str | None = None


class Receipt(BaseModel):
    """Sent to shop.receipts."""

    order: str
    total: int = Field(ge=0)
    memo: str = ""
    currency: str = "EUR"
