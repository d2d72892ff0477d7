"""The golden-stores service."""
