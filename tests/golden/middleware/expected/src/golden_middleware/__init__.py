"""The golden_middleware service."""
