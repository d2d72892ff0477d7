"""The shop's messages."""

from pydantic import BaseModel


class Address(BaseModel):
    """Where an order goes."""

    street: str
    zip: str
    country: str


class Paid(BaseModel):
    """Read from shop.paid."""

    order: str
    amount: float
    note: str | None = None
    ship_to: Address | None = None


class Receipt(BaseModel):
    """Sent to shop.receipts."""

    order: str
    total: int
    memo: str = ""
