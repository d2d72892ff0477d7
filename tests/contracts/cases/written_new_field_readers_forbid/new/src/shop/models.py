"""The shop's messages."""

from pydantic import BaseModel, ConfigDict


class Paid(BaseModel):
    """Read from shop.paid."""

    order: str
    amount: float
    note: str | None = None


class Receipt(BaseModel):
    """Sent to shop.receipts."""

    model_config = ConfigDict(extra="forbid")

    order: str
    total: int
    memo: str = ""
    currency: str = "EUR"
