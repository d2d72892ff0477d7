"""The golden_hostile service."""
