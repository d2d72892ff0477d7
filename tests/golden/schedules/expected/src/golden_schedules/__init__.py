"""The golden-schedules service."""
