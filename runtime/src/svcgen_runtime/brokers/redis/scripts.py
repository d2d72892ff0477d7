"""The Lua scripts of the Redis adapter, read once at import from the ``.lua`` files
beside this module (each opens with a comment naming its KEYS and ARGV)."""

from __future__ import annotations

from pathlib import Path
from typing import Final


def _load(name: str) -> str:
    return Path(__file__).with_name(f"{name}.lua").read_text(encoding="utf-8")


SETTLE: Final = _load("settle")
"""Copy an entry still pending for this consumer to a stream or the delayed set, then
XACK it."""
MOVE_DUE: Final = _load("move_due")
"""Move due members of the delayed set back to the stream."""
CLAIM: Final = _load("claim")
"""XAUTOCLAIM entries idle long enough, with their times delivered."""
RECOVER: Final = _load("recover")
"""Claim back this consumer's own pending entries that a cut read never returned."""
TOUCH: Final = _load("touch")
"""Reset the idle time of entries still being handled here."""
PRUNE: Final = _load("prune")
"""Forget other consumers of the group that are idle with nothing pending."""
FORGET: Final = _load("forget")
"""Forget this consumer when nothing is pending for it."""
