"""The golden_mqtt service."""
