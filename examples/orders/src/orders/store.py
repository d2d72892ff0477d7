"""The example's order book: in memory, one per process (a real service would keep it
in a database resource)."""

from __future__ import annotations

ORDERS: dict[str, str] = {}
"""Order id → status (``placed`` or ``shipped``)."""
