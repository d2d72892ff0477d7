"""The latest reading per sensor, in memory (a real service would use a cache resource)."""

from __future__ import annotations

from sensors.models import Reading

LATEST: dict[str, Reading] = {}

PLAUSIBLE = (-90.0, 70.0)
"""Celsius range a reading must fall in; anything else is a broken sensor."""
