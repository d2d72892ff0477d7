"""svcgen-runtime: the lifecycle, consume loop and outcomes that generated services link against."""

from __future__ import annotations

from ._version import __version__
from .application import Application
from .brokers.base import Broker, Subscription, SubscriptionSpec
from .brokers.memory import MemoryBroker
from .cancel import CancelToken
from .consumer import Consumer, ConsumerStats
from .errors import (
    BrokerConnectionError,
    BrokerError,
    ConfigurationError,
    MissingExtraError,
    SvcgenRuntimeError,
)
from .health import HealthServer
from .message import InboundMessage
from .outcome import Ack, Nack, Outcome, Retry
from .publisher import Publisher
from .retry import RetryPolicy

__all__ = [
    "Ack",
    "Application",
    "Broker",
    "BrokerConnectionError",
    "BrokerError",
    "CancelToken",
    "ConfigurationError",
    "Consumer",
    "ConsumerStats",
    "HealthServer",
    "InboundMessage",
    "MemoryBroker",
    "MissingExtraError",
    "Nack",
    "Outcome",
    "Publisher",
    "Retry",
    "RetryPolicy",
    "Subscription",
    "SubscriptionSpec",
    "SvcgenRuntimeError",
    "__version__",
]
