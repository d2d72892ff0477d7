"""The shop's messages."""

from pydantic import BaseModel, Field


class Paid(BaseModel):
    """Read from shop.paid."""

    order: str = Field(max_length=40)
    amount: float = Field(ge=0)
    tags: list[str] = []
    code: str = Field(default="", pattern=r"^[A-Z]+$")


class Receipt(BaseModel):
    """Sent to shop.receipts."""

    order: str
    total: int
    memo: str = ""
