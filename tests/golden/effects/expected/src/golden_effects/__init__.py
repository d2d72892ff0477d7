"""The golden-effects service."""
