"""The golden_all service."""
