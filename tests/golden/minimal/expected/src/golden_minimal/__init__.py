"""The golden_minimal service."""
