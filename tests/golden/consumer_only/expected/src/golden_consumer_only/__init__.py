"""The golden_consumer_only service."""
