"""Hooks and middleware of the golden_middleware service (user-owned).

service.yaml lists them (hooks, middleware); app.py imports and wires each one.
svcgen created this file once; it never overwrites it.
"""

from __future__ import annotations

from golden_middleware._generated.context import Context


async def announce(ctx: Context) -> None:
    """Run once per process: an on_start hook after the resources open and the
    brokers connect, before any message or request; an on_stop hook after the drain,
    before they close. An exception in an on_start hook stops the start."""


async def flush(ctx: Context) -> None:
    """Run once per process: an on_start hook after the resources open and the
    brokers connect, before any message or request; an on_stop hook after the drain,
    before they close. An exception in an on_start hook stops the start."""


async def warm_up(ctx: Context) -> None:
    """Run once per process: an on_start hook after the resources open and the
    brokers connect, before any message or request; an on_stop hook after the drain,
    before they close. An exception in an on_start hook stops the start."""
