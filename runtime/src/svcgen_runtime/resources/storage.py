"""The storage resource: read/write/delete/list/stat of byte objects under relative paths.

Two implementations behind one Protocol: ``MemoryStorage`` (in-process) and
``FsStorage`` (files under a root folder; atomic writes; blocking I/O on a thread).

Paths are object names in the style of S3 keys, written with ``/``: relative,
normalized (``a//b`` and ``./a/b`` both mean ``a/b``), and never outside the root —
``..`` segments, absolute paths, backslashes and NUL are refused, and ``FsStorage``
refuses a path that a symlink leads out of the root. ``list(prefix)`` matches the
start of the path as text, like an S3 prefix, not a folder.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from stat import S_ISREG
from typing import Final, NamedTuple, Protocol, runtime_checkable

from ..errors import SvcgenRuntimeError

__all__ = [
    "FsStorage",
    "InvalidPathError",
    "MemoryStorage",
    "ObjectInfo",
    "ObjectNotFoundError",
    "Storage",
    "StorageError",
    "normalize_path",
]

_TEMP: Final = ".svcgen-tmp-"
"""Name prefix of FsStorage's temporary files; such names are never objects."""


class StorageError(SvcgenRuntimeError):
    """A storage was used wrongly (not open, bad value) or its backend failed."""


class ObjectNotFoundError(StorageError):
    """No object exists at the path."""

    def __init__(self, storage: str, path: str) -> None:
        self.storage = storage
        self.path = path
        super().__init__(
            f"storage {storage!r} has no object at {path!r}: write it first or "
            "check the path with list()"
        )


class InvalidPathError(StorageError, ValueError):
    """A path is not a relative object path inside the storage's root."""

    def __init__(self, storage: str, path: object, reason: str) -> None:
        self.storage = storage
        self.path = path
        super().__init__(f"storage {storage!r} refuses path {path!r}: {reason}")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What ``stat`` tells about one object."""

    path: str
    """The normalized path."""
    size: int
    """Bytes."""
    modified: datetime
    """When it was last written (UTC, timezone-aware)."""


@runtime_checkable
class Storage(Protocol):
    """Byte objects under relative ``/``-separated paths."""

    name: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def read(self, path: str) -> bytes:
        """The object's bytes; ``ObjectNotFoundError`` when there is none."""

    async def write(self, path: str, data: bytes) -> None:
        """Create or replace the object; readers see the old bytes or the new, never a part."""

    async def delete(self, path: str) -> bool:
        """Remove the object; True when it existed."""

    async def list(self, prefix: str = "") -> builtins.list[str]:
        """Every object path that starts with ``prefix``, sorted."""

    async def stat(self, path: str) -> ObjectInfo:
        """Size and modification time; ``ObjectNotFoundError`` when there is none."""


def normalize_path(storage: str, path: object, *, prefix: bool = False) -> str:
    """The canonical form of an object path (or, with ``prefix``, of a list prefix).

    Raises:
        InvalidPathError: ``path`` is not a str, is empty, absolute, contains ``..``,
            a backslash or NUL, or names a temporary file.
    """
    if not isinstance(path, str):
        raise InvalidPathError(
            storage, path, f"paths are str, not {type(path).__name__}"
        )
    if "\x00" in path or "\\" in path:
        raise InvalidPathError(
            storage, path, "NUL and backslash are not allowed; separate parts with '/'"
        )
    if path.startswith("/"):
        raise InvalidPathError(
            storage,
            path,
            "paths are relative to the storage root; drop the leading '/'",
        )
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidPathError(
            storage, path, "'..' would leave the storage root; name the object directly"
        )
    if any(p.startswith(_TEMP) for p in parts):
        raise InvalidPathError(
            storage, path, f"names starting with {_TEMP!r} are reserved"
        )
    if prefix:
        # Keep a trailing '/' (it narrows the match to a folder) and a partial
        # last segment ("img/ca" matches "img/cat.png").
        tail = "/" if path.endswith("/") and parts else ""
        return "/".join(parts) + tail
    if not parts:
        raise InvalidPathError(storage, path, "the path is empty; name an object")
    if path.endswith("/"):
        raise InvalidPathError(
            storage, path, "a path ending in '/' names a folder, not an object"
        )
    return "/".join(parts)


def _check_data(storage: str, data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise StorageError(
        f"storage {storage!r} stores bytes, got {type(data).__name__}: encode it "
        "first (text.encode() or model.model_dump_json().encode())"
    )


def _not_open(name: str) -> StorageError:
    return StorageError(
        f"storage {name!r} is not open: the Application opens resources at start, "
        "so outside one call `await storage.open()` first"
    )


class _Object(NamedTuple):
    data: bytes
    modified: datetime


class _Located(NamedTuple):
    """Where an object lives on disk: the root folder and the object's key below it."""

    root: str
    key: str


class MemoryStorage:
    """Objects in a dict, private to the process; kept across close/open.

    Args:
        name: the resource's name, for logs and errors.
    """

    def __init__(self, *, name: str) -> None:
        self.name = name
        self._objects: dict[str, _Object] = {}
        self._open = False

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    def _path(self, path: str) -> str:
        if not self._open:
            raise _not_open(self.name)
        return normalize_path(self.name, path)

    async def read(self, path: str) -> bytes:
        key = self._path(path)
        try:
            return self._objects[key].data
        except KeyError:
            raise ObjectNotFoundError(self.name, key) from None

    async def write(self, path: str, data: bytes) -> None:
        key = self._path(path)
        self._objects[key] = _Object(_check_data(self.name, data), datetime.now(UTC))

    async def delete(self, path: str) -> bool:
        return self._objects.pop(self._path(path), None) is not None

    async def list(self, prefix: str = "") -> builtins.list[str]:
        if not self._open:
            raise _not_open(self.name)
        start = normalize_path(self.name, prefix, prefix=True)
        return sorted(k for k in self._objects if k.startswith(start))

    async def stat(self, path: str) -> ObjectInfo:
        key = self._path(path)
        try:
            data, modified = self._objects[key]
        except KeyError:
            raise ObjectNotFoundError(self.name, key) from None
        return ObjectInfo(path=key, size=len(data), modified=modified)


class FsStorage:
    """Objects as files under a root folder.

    A write goes to a temporary file in the target's folder, is flushed to disk and
    then renamed over the target (``os.replace``), so a reader sees the old bytes or
    the new. Folders are created on write and removed when a delete empties them.
    A path whose real location (after symlinks) is outside the root is refused;
    ``list`` does not descend into symlinked folders. The root is created on
    ``open()``. On one filesystem, a path cannot be both an object and a folder of
    objects (``a`` and ``a/b``), unlike S3 and ``MemoryStorage``.

    Args:
        name: the resource's name, for logs and errors.
        path: the root folder; relative paths are taken from the working directory
            at ``open()``.
    """

    def __init__(self, *, name: str, path: str | os.PathLike[str]) -> None:
        self.name = name
        self.path = os.fspath(path)
        self._root: str | None = None

    async def open(self) -> None:
        if self._root is not None:
            return

        def make() -> str:
            try:
                os.makedirs(self.path, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"storage {self.name!r} cannot create its root folder "
                    f"{self.path!r} ({exc}): check the path and its permissions"
                ) from exc
            return os.path.realpath(self.path)

        self._root = await asyncio.to_thread(make)

    async def close(self) -> None:
        self._root = None

    # -- paths -----------------------------------------------------------------

    def _rootdir(self) -> str:
        if self._root is None:
            raise _not_open(self.name)
        return self._root

    def _inside(self, root: str, key: str) -> str:
        """The file for ``key``, refusing one that symlinks lead out of ``root``."""
        full = os.path.join(root, *key.split("/"))
        real = os.path.realpath(full)
        if real != root and os.path.commonpath([root, real]) != root:
            raise InvalidPathError(
                self.name,
                key,
                "a symlink leads it outside the storage root; store the object "
                "inside the root instead",
            )
        return full

    # -- blocking work (on a thread) -------------------------------------------

    def _read(self, root: str, key: str) -> bytes:
        full = self._inside(root, key)
        try:
            with open(full, "rb") as f:
                return f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFoundError(self.name, key) from None

    def _write(self, root: str, key: str, data: bytes) -> None:
        full = self._inside(root, key)
        folder = os.path.dirname(full)
        if os.path.isdir(full):
            raise StorageError(
                f"storage {self.name!r} cannot write {key!r}: it is a folder of "
                "other objects; choose another path"
            )
        for attempt in range(3):
            try:
                os.makedirs(folder, exist_ok=True)
                self._replace(folder, full, data)
                return
            except FileNotFoundError:
                # A concurrent delete removed the emptied folder; make it again.
                if attempt == 2:
                    raise
            except (NotADirectoryError, FileExistsError) as exc:
                raise StorageError(
                    f"storage {self.name!r} cannot write {key!r}: a part of its "
                    f"folder is an object ({exc.strerror}); choose another path"
                ) from exc

    def _replace(self, folder: str, full: str, data: bytes) -> None:
        temp = os.path.join(folder, _TEMP + secrets.token_hex(8))
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, full)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def _delete(self, root: str, key: str) -> bool:
        full = self._inside(root, key)
        try:
            os.unlink(full)
        except (FileNotFoundError, NotADirectoryError):
            return False
        except IsADirectoryError:
            return False
        folder = os.path.dirname(full)
        while folder != root and len(folder) > len(root):
            try:
                os.rmdir(folder)
            except OSError:
                break
            folder = os.path.dirname(folder)
        return True

    def _list(self, root: str, start: str) -> builtins.list[str]:
        # Walk only the folder the prefix pins down, then filter by the full prefix.
        base = start.rsplit("/", 1)[0] if "/" in start else ""
        top = os.path.join(root, *base.split("/")) if base else root
        found: builtins.list[str] = []
        pending = [(top, base)]
        while pending:
            folder, rel = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                if entry.name.startswith(_TEMP):
                    continue
                key = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if key.startswith(start) or start.startswith(key + "/"):
                        pending.append((entry.path, key))
                elif key.startswith(start) and self._listable(root, entry):
                    found.append(key)
        return sorted(found)

    def _listable(self, root: str, entry: os.DirEntry[str]) -> bool:
        if not entry.is_symlink():
            return entry.is_file(follow_symlinks=False)
        real = os.path.realpath(entry.path)
        inside = os.path.commonpath([root, real]) == root
        return inside and os.path.isfile(real)

    def _stat(self, root: str, key: str) -> ObjectInfo:
        full = self._inside(root, key)
        try:
            st = os.stat(full)
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFoundError(self.name, key) from None
        if not S_ISREG(st.st_mode):
            raise ObjectNotFoundError(self.name, key)
        return ObjectInfo(
            path=key,
            size=st.st_size,
            modified=datetime.fromtimestamp(st.st_mtime, UTC),
        )

    # -- public ----------------------------------------------------------------

    def _key(self, path: str) -> _Located:
        return _Located(self._rootdir(), normalize_path(self.name, path))

    async def read(self, path: str) -> bytes:
        return await asyncio.to_thread(self._read, *self._key(path))

    async def write(self, path: str, data: bytes) -> None:
        root, key = self._key(path)
        payload = _check_data(self.name, data)
        await asyncio.to_thread(self._write, root, key, payload)

    async def delete(self, path: str) -> bool:
        return await asyncio.to_thread(self._delete, *self._key(path))

    async def list(self, prefix: str = "") -> builtins.list[str]:
        root = self._rootdir()
        start = normalize_path(self.name, prefix, prefix=True)
        return await asyncio.to_thread(self._list, root, start)

    async def stat(self, path: str) -> ObjectInfo:
        return await asyncio.to_thread(self._stat, *self._key(path))
