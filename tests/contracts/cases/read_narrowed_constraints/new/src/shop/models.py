"""The shop's messages."""

from pydantic import BaseModel, Field


class Paid(BaseModel):
    """Read from shop.paid."""

    order: str = Field(max_length=20, min_length=1)
    amount: float = Field(gt=0, le=1000)
    tags: set[str] = set()
    code: str = Field(default="", pattern=r"^[A-Z]{3}$")


class Receipt(BaseModel):
    """Sent to shop.receipts."""

    order: str
    total: int
    memo: str = ""
