"""The golden_several service."""
