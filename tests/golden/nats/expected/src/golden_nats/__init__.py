"""The golden_nats service."""
