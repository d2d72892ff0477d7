"""Stream and consumer names derived from subjects, subject wildcard matching, and
telling a lost create race from a real refusal."""

from __future__ import annotations

import re
from typing import Final

import nats.js.errors

_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_NAME_IN_USE: Final = 10058
_SUBJECTS_OVERLAP: Final = 10065


def lost_create_race(exc: nats.js.errors.APIError) -> bool:
    """True when creating a stream (a key-value bucket is one) failed because it
    exists already: another replica may have created it since this one looked."""
    return exc.err_code in (_NAME_IN_USE, _SUBJECTS_OVERLAP)


def name_for(subject: str) -> str:
    """A stream or consumer name derived from a subject or group (``a.b`` → ``a_b``)."""
    return _BAD_NAME_CHARS.sub("_", subject)


def subject_matches(pattern: str, subject: str) -> bool:
    """True when the stream subject ``pattern`` (``*``/``>`` wildcards) covers ``subject``."""
    want = pattern.split(".")
    have = subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)
