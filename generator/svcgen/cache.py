"""The user-level cache of black's output and compiled templates, so a warm run skips both.

black takes most of a run on a large spec (its import alone is a fifth of a second),
yet its output is a pure function of its version, its mode and the input text; an
entry is keyed by exactly those, so a hit returns byte for byte what black would.
The cache lives in ``$XDG_CACHE_HOME/svcgen`` (default ``~/.cache/svcgen``), like
black's and pre-commit's, not in the service: a key does not depend on the project,
and a service's tree stays as svcgen generates it. Every failure to read or write it
(read-only home, a damaged entry) falls back to running black.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import jinja2

_MAX_AGE: Final = 30 * 24 * 3600
"""Entries unused this long (seconds) are deleted when a new one is stored."""
_TOUCH_AFTER: Final = 24 * 3600
"""A hit refreshes an entry's mtime at most this often, so warm runs rarely write."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "svcgen"


def black_version() -> str:
    """The installed black's version, read without importing black (which is slow)."""
    try:
        from _black_version import version  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:  # pragma: no cover - every black 24 ships the module
        from importlib.metadata import version as dist_version

        return dist_version("black")
    return str(version)


class BlackCache:
    """black's output by (black version, mode, input); ``get`` or ``put`` never raise."""

    def __init__(self, mode_key: str, *, root: Path | None = None) -> None:
        version = black_version()
        self._salt = f"{version}\0{mode_key}\0".encode()
        self._dir = (root or cache_root()) / f"black-{version}"
        self._pruned = False

    def _path(self, text: str) -> Path:
        digest = hashlib.sha256(self._salt + text.encode("utf-8", "surrogatepass"))
        return self._dir / f"{digest.hexdigest()}.py"

    def get(self, text: str) -> str | None:
        path = self._path(text)
        try:
            data = path.read_bytes()
            stamp, _, body = data.partition(b"\n")
            if stamp != _stamp(body):
                return None  # damaged or foreign: black runs and stores it afresh
            if time.time() - path.stat().st_mtime > _TOUCH_AFTER:
                os.utime(path)
            return body.decode("utf-8", "surrogatepass")
        except (OSError, UnicodeDecodeError):
            return None

    def put(self, text: str, formatted: str) -> None:
        path = self._path(text)
        body = formatted.encode("utf-8", "surrogatepass")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("xb") as f:
                f.write(_stamp(body) + b"\n" + body)
            os.replace(tmp, path)  # readers see the whole entry or none
            if not self._pruned:  # once a run: a scan per entry cost more than black
                self._pruned = True
                _prune(path.parent)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _stamp(body: bytes) -> bytes:
    return b"sha256:" + hashlib.sha256(body).hexdigest().encode()


def _prune(directory: Path) -> None:
    cutoff = time.time() - _MAX_AGE
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                Path(entry.path).unlink(missing_ok=True)


def bytecode_cache(options: str) -> jinja2.BytecodeCache | None:
    """Compiled templates, in a directory per Jinja version and environment options:
    Jinja keys bytecode by template path and source only."""
    import jinja2

    class QuietCache(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass  # compiled again next time

    salt = hashlib.sha256(f"{jinja2.__version__}\0{options}".encode()).hexdigest()
    directory = cache_root() / f"jinja-{salt[:16]}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return QuietCache(str(directory))
