"""The fault suite's private broker servers (``tests/faults/conftest.py``), one per
kind for this package's session too."""

from __future__ import annotations

from tests.faults.conftest import private_servers

__all__ = ["private_servers"]
