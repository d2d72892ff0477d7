"""The scaled service."""
