"""The shop's messages."""

from pydantic import BaseModel


class Paid(BaseModel):
    """Read from shop.paid."""

    order: str
    amount: float
    note: str | None = None
    ref: int | str = 0
    extra: dict[str, float] = {}


class Receipt(BaseModel):
    """Sent to shop.receipts."""

    order: str
    total: int
    memo: str = ""
