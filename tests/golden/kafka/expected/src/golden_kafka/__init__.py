"""The golden_kafka service."""
