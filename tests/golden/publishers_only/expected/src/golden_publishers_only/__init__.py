"""The golden_publishers_only service."""
