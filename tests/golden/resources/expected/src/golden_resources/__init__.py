"""The golden-resources service."""
