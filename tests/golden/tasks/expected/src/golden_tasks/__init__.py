"""The golden-tasks service."""
