"""How the adapter spells MQTT names: retry topics, subscription filters, the
dead-letter session.

A topic a message is published to cannot contain ``+`` or ``#``, so a wildcard
source's retry topic spells them ``%2B`` and ``%23``.
"""

from __future__ import annotations


def default_retry_topic(group: str, source: str) -> str:
    """The default retry topic of ``group`` reading ``source``:
    ``svcgen/retry/<group>/<source>``, its wildcards spelled out."""
    return f"svcgen/retry/{group}/{source}".replace("+", "%2B").replace("#", "%23")


def subscription_filter(group: str, topic: str, shared: bool) -> str:
    """``$share/<group>/<topic>`` for a shared subscription, else ``topic``."""
    return f"$share/{group}/{topic}" if shared else topic


def dead_letter_session(group: str, topic: str) -> str:
    """The session that keeps the dead letters ``group`` publishes to ``topic``."""
    return f"svcgen-dlq/{group}/{topic}"
