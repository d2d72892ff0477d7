"""The golden-resources-only service."""
