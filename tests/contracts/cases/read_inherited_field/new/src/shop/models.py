"""The shop's messages."""

from pydantic import BaseModel


class Money(BaseModel):
    """An amount in a currency."""

    amount: int
    currency: str = "EUR"


class Paid(Money):
    """Read from shop.paid."""

    order: str
    note: str | None = None


class Receipt(BaseModel):
    """Sent to shop.receipts."""

    order: str
    total: int
    memo: str = ""
