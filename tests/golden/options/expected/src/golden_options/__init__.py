"""The golden-options service."""
