"""The golden-embedded service."""
