"""The golden-memory service."""
