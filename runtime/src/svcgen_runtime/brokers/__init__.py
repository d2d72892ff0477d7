"""Broker adapters, one module per kind, behind the Protocol in ``base``."""

from __future__ import annotations

from .base import Broker, Ordering, Subscription, SubscriptionSpec
from .memory import MemoryBroker

__all__ = ["Broker", "MemoryBroker", "Ordering", "Subscription", "SubscriptionSpec"]
