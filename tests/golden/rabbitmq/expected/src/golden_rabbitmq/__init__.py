"""The golden_rabbitmq service."""
