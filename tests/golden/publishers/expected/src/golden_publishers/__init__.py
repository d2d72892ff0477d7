"""The golden_publishers service."""
