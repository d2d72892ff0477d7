"""The shop's messages."""

from pydantic import BaseModel, ConfigDict


class Paid(BaseModel):
    """Read from shop.paid."""

    model_config = ConfigDict(extra="forbid")

    order: str
    amount: float
    note: str | None = None


class Receipt(BaseModel):
    """Sent to shop.receipts."""

    order: str
    total: int
    memo: str = ""
