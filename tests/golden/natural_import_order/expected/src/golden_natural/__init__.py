"""The golden_natural service."""
