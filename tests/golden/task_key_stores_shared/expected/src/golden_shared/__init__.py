"""The golden-shared service."""
