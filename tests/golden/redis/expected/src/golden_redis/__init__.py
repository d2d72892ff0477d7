"""The golden_redis service."""
