"""The shop's messages."""

from enum import Enum

from pydantic import BaseModel


class Status(Enum):
    """How a payment ended."""

    ok = "ok"
    failed = "failed"


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
    status: Status = Status.ok
