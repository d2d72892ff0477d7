"""The create_invoice route (user-owned).

It serves POST /invoices: stores the invoice and enqueues its receipt.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

import datetime as dt

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from billing import schema
from billing._generated.context import Context
from billing.models import Invoice, ReceiptArgs


async def handle(ctx: Context, request: Request) -> Response:
    """Store the invoice, enqueue its receipt, answer 201 with its id."""
    try:
        invoice = Invoice.model_validate_json(await request.body())
    except ValidationError as exc:
        return JSONResponse({"error": exc.errors(include_url=False)}, status_code=422)
    await schema.ensure(ctx.database)
    async with ctx.database.transaction() as tx:
        await tx.execute(
            "INSERT INTO invoices (customer, total_cents, created_at) VALUES (?, ?, ?)",
            invoice.customer,
            invoice.total_cents,
            dt.datetime.now(dt.UTC).isoformat(),
        )
        row = await tx.query_one("SELECT last_insert_rowid() AS id")
    assert row is not None
    invoice_id = int(row["id"])
    # The key makes a retried enqueue of the same receipt run once.
    await ctx.tasks.send_receipt.enqueue(
        ReceiptArgs(invoice_id=invoice_id), key=f"receipt:{invoice_id}"
    )
    return JSONResponse({"invoice_id": invoice_id}, status_code=201)
