"""svcgen's version, and the svcgen-runtime range it needs and writes into services.

Both distributions take their version from one file,
``runtime/src/svcgen_runtime/_version.py`` (hatch's version source in both
pyproject.toml files). svcgen requires a svcgen-runtime of its own major.minor:
patch releases of either add no API the other depends on, a minor release may.
The build hook (``hatch_build.py``) writes :func:`compatible_range` of the version
into svcgen's ``Requires-Dist``; ``svcgen new`` and the pyproject notes write the
same range into generated services. This module imports nothing of svcgen's, so
the build hook can load it from its file before svcgen is installed.
"""

from __future__ import annotations

import re
from importlib import metadata
from typing import Final

SVCGEN: Final = "svcgen"
RUNTIME: Final = "svcgen-runtime"


def compatible_range(version: str) -> str:
    """The svcgen-runtime versions compatible with ``version``: its major.minor.

    >>> compatible_range("0.1.3")
    '>=0.1,<0.2'
    """
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        raise ValueError(f"{version!r} is not a major.minor[.patch] version")
    major, minor = int(match.group(1)), int(match.group(2))
    return f">={major}.{minor},<{major}.{minor + 1}"


def installed(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _own() -> str:
    # "0.0.0" only while the build hook loads this file, before svcgen is installed
    # (the hook uses compatible_range alone).
    return installed(SVCGEN) or "0.0.0"


VERSION: Final = _own()
"""svcgen's version (its installed metadata, read from the one version file)."""

RUNTIME_RANGE: Final = compatible_range(VERSION)
"""The svcgen-runtime versions this svcgen works with, e.g. ``>=0.1,<0.2``."""


def runtime_requirement(extras: list[str] | tuple[str, ...] = ()) -> str:
    """The requirement line a generated service declares, with ``extras``."""
    listed = f"[{','.join(sorted(extras))}]" if extras else ""
    return f"{RUNTIME}{listed}{RUNTIME_RANGE}"


def describe() -> str:
    """What ``svcgen --version`` prints: both versions, and whether they fit."""
    runtime = installed(RUNTIME)
    lines = [f"{SVCGEN} {VERSION}"]
    if runtime is None:
        lines.append(
            f"{RUNTIME} not installed (services need {RUNTIME}{RUNTIME_RANGE}: "
            f"pip install '{RUNTIME}{RUNTIME_RANGE}')"
        )
        return "\n".join(lines)
    from packaging.specifiers import SpecifierSet

    fits = SpecifierSet(RUNTIME_RANGE).contains(runtime, prereleases=True)
    lines.append(
        f"{RUNTIME} {runtime}"
        + ("" if fits else f" (svcgen {VERSION} needs {RUNTIME}{RUNTIME_RANGE})")
    )
    return "\n".join(lines)
