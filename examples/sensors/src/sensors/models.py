"""Message models of the sensors service (user-owned)."""

from __future__ import annotations

from pydantic import BaseModel


class Reading(BaseModel):
    """One measurement of one sensor."""

    sensor: str
    celsius: float
    at: float
    """Unix time of the measurement."""
