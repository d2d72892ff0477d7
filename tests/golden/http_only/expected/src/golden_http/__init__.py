"""The golden_http service."""
