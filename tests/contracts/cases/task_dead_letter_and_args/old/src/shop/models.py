"""The shop's messages."""

from pydantic import BaseModel


class Paid(BaseModel):
    """Read from shop.paid."""

    order: str
    amount: float
    note: str | None = None


class Receipt(BaseModel):
    """Sent to shop.receipts."""

    order: str
    total: int
    memo: str = ""


class Mail(BaseModel):
    """The arguments of the mail task."""

    to: str
