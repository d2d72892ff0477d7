"""The send_receipt task (user-owned).

Renders an invoice's receipt into storage (``receipts/<id>.txt``), caches it for an
hour and marks the invoice; enqueued by POST /invoices.

svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from svcgen_runtime import Ack, InboundMessage, Nack, Outcome

from billing import schema
from billing._generated.context import Context
from billing.models import ReceiptArgs


async def handle(
    ctx: Context, args: ReceiptArgs, raw: InboundMessage
) -> Outcome | None:
    """Write the receipt; an unknown invoice is dead-lettered, not retried."""
    await schema.ensure(ctx.database)
    row = await ctx.database.query_one(
        "SELECT customer, total_cents FROM invoices WHERE id = ?", args.invoice_id
    )
    if row is None:
        return Nack(requeue=False)
    text = (
        f"receipt for invoice {args.invoice_id}\n"
        f"customer: {row['customer']}\n"
        f"total: {row['total_cents'] / 100:.2f}\n"
    ).encode()
    # Writing the same receipt twice gives the same file: a redelivery is harmless.
    await ctx.storage.write(f"receipts/{args.invoice_id}.txt", text)
    await ctx.cache.set(f"receipt:{args.invoice_id}", text, ttl=3600)
    await ctx.database.execute(
        "UPDATE invoices SET receipt_sent = 1 WHERE id = ?", args.invoice_id
    )
    return Ack()
