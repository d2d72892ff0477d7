"""The storage resource: memory and filesystem, paths that never leave the root."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from svcgen_runtime import Application, SvcgenRuntimeError
from svcgen_runtime.resources import (
    FsStorage,
    InvalidPathError,
    MemoryStorage,
    ObjectInfo,
    ObjectNotFoundError,
    Storage,
    StorageError,
)
from svcgen_runtime.resources.storage import normalize_path
from svcgen_runtime.types import Resource


@pytest.fixture(params=["memory", "fs"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Storage]:
    made: Storage
    if request.param == "memory":
        made = MemoryStorage(name="files")
    else:
        made = FsStorage(name="files", path=tmp_path / "root")
    await made.open()
    try:
        yield made
    finally:
        await made.close()


async def test_write_read_overwrite_delete(storage: Storage) -> None:
    await storage.write("a/b/c.bin", b"\x00one")
    assert await storage.read("a/b/c.bin") == b"\x00one"
    await storage.write("a/b/c.bin", b"two")
    assert await storage.read("a/b/c.bin") == b"two"
    await storage.write("empty", b"")
    assert await storage.read("empty") == b""
    assert await storage.delete("a/b/c.bin") is True
    assert await storage.delete("a/b/c.bin") is False
    with pytest.raises(ObjectNotFoundError):
        await storage.read("a/b/c.bin")


async def test_missing_object_is_a_clear_not_found_error(storage: Storage) -> None:
    with pytest.raises(ObjectNotFoundError, match=r"has no object at 'no/such'") as e:
        await storage.read("no/such")
    assert isinstance(e.value, SvcgenRuntimeError)
    assert e.value.path == "no/such"
    with pytest.raises(ObjectNotFoundError):
        await storage.stat("no/such")
    await storage.write("dir/file", b"x")
    with pytest.raises(ObjectNotFoundError):  # a folder is not an object
        await storage.read("dir")


async def test_list_is_sorted_and_matches_a_text_prefix(storage: Storage) -> None:
    for path in ["img/cat.png", "img/ant.png", "img2.png", "doc/z", "doc/a/b", "top"]:
        await storage.write(path, b"x")
    assert await storage.list() == [
        "doc/a/b",
        "doc/z",
        "img/ant.png",
        "img/cat.png",
        "img2.png",
        "top",
    ]
    assert await storage.list("img/") == ["img/ant.png", "img/cat.png"]
    assert await storage.list("img") == ["img/ant.png", "img/cat.png", "img2.png"]
    assert await storage.list("img/c") == ["img/cat.png"]
    assert await storage.list("doc/a") == ["doc/a/b"]
    assert await storage.list("./doc//") == ["doc/a/b", "doc/z"]
    assert await storage.list("nothing/") == []


async def test_stat_reports_size_and_a_utc_modification_time(storage: Storage) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    await storage.write("x/y", b"12345")
    info = await storage.stat("x/y")
    assert isinstance(info, ObjectInfo)
    assert info.path == "x/y"
    assert info.size == 5
    assert info.modified.tzinfo is not None
    assert before <= info.modified <= datetime.now(UTC) + timedelta(seconds=2)


async def test_paths_are_normalized(storage: Storage) -> None:
    await storage.write("./a//b/./c", b"1")
    assert await storage.read("a/b/c") == b"1"
    assert (await storage.stat("a//b/c")).path == "a/b/c"
    assert await storage.list() == ["a/b/c"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../x", "would leave the storage root"),
        ("a/../../x", "would leave the storage root"),
        ("a/../b", "would leave the storage root"),
        ("/etc/passwd", "drop the leading '/'"),
        ("", "the path is empty"),
        (".", "the path is empty"),
        ("a/", "names a folder"),
        ("a\\..\\b", "backslash"),
        ("a\x00b", "NUL"),
        (".svcgen-tmp-1234", "reserved"),
        (7, "paths are str"),
    ],
)
async def test_paths_outside_the_root_or_malformed_are_refused(
    storage: Storage, path: Any, reason: str
) -> None:
    for call in (
        lambda: storage.read(path),
        lambda: storage.write(path, b"x"),
        lambda: storage.delete(path),
        lambda: storage.stat(path),
    ):
        with pytest.raises(InvalidPathError, match=f"refuses path .*{reason}") as e:
            await call()
        assert isinstance(e.value, StorageError)
        assert isinstance(e.value, ValueError)
    assert await storage.list() == []


@pytest.mark.parametrize("prefix", ["../", "/abs", "a/../b"])
async def test_list_refuses_escaping_prefixes(storage: Storage, prefix: str) -> None:
    with pytest.raises(InvalidPathError):
        await storage.list(prefix)


async def test_non_bytes_data_is_refused_with_the_fix(storage: Storage) -> None:
    with pytest.raises(StorageError, match="stores bytes, got str: encode it first"):
        await storage.write("a", "text")  # type: ignore[arg-type]
    assert await storage.list() == []


@pytest.mark.parametrize(
    "make",
    [
        lambda p: MemoryStorage(name="s"),
        lambda p: FsStorage(name="s", path=p),
    ],
)
async def test_use_before_open_and_after_close_is_a_clear_error(
    make: Callable[[Path], Storage], tmp_path: Path
) -> None:
    storage = make(tmp_path / "root")
    assert isinstance(storage, Storage)
    assert isinstance(storage, Resource)
    with pytest.raises(
        StorageError, match=r"'s' is not open: .*await storage.open\(\)"
    ):
        await storage.read("a")
    with pytest.raises(StorageError, match="is not open"):
        await storage.list()
    await storage.close()
    await storage.open()
    await storage.open()
    await storage.write("a", b"1")
    await storage.close()
    with pytest.raises(StorageError, match="is not open"):
        await storage.write("a", b"2")
    await storage.open()  # memory keeps its objects across close/open, like a disk
    assert await storage.read("a") == b"1"
    await storage.close()


def test_normalize_path() -> None:
    assert normalize_path("s", "a//b/./c") == "a/b/c"
    assert normalize_path("s", "", prefix=True) == ""
    assert normalize_path("s", "img/", prefix=True) == "img/"
    assert normalize_path("s", "./img//ca", prefix=True) == "img/ca"


# -- filesystem -----------------------------------------------------------------


@pytest.fixture
async def fs(tmp_path: Path) -> AsyncIterator[FsStorage]:
    storage = FsStorage(name="files", path=tmp_path / "root")
    await storage.open()
    try:
        yield storage
    finally:
        await storage.close()


def _root(tmp_path: Path) -> Path:
    return tmp_path / "root"


async def test_fs_objects_are_plain_files_under_the_root(
    fs: FsStorage, tmp_path: Path
) -> None:
    await fs.write("a/b.txt", b"hello")
    file = _root(tmp_path) / "a" / "b.txt"
    assert file.read_bytes() == b"hello"
    mask = os.umask(0)
    os.umask(mask)
    assert file.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 0600
    again = FsStorage(name="other", path=_root(tmp_path))
    await again.open()
    assert await again.read("a/b.txt") == b"hello"


async def test_fs_delete_removes_emptied_folders_but_not_the_root(
    fs: FsStorage, tmp_path: Path
) -> None:
    await fs.write("a/b/c/d", b"1")
    await fs.write("a/keep", b"2")
    assert await fs.delete("a/b/c/d")
    assert not (_root(tmp_path) / "a" / "b").exists()
    assert (_root(tmp_path) / "a" / "keep").exists()
    assert await fs.delete("a/keep")
    assert _root(tmp_path).is_dir()
    assert list(_root(tmp_path).iterdir()) == []


async def test_fs_write_is_atomic_for_concurrent_readers(fs: FsStorage) -> None:
    size = 1 << 20
    versions = [bytes([65 + i]) * size for i in range(4)]
    await fs.write("big", versions[0])
    stop = asyncio.Event()
    seen: set[bytes] = set()

    async def writer() -> None:
        for i in range(40):
            await fs.write("big", versions[i % 4])
        stop.set()

    async def reader() -> None:
        while not stop.is_set():
            data = await fs.read("big")
            assert len(data) == size
            assert data == data[:1] * size, "a reader saw a partial write"
            seen.add(data[:1])

    await asyncio.gather(writer(), reader(), reader())
    assert len(seen) >= 2  # readers really overlapped with several writes
    assert await fs.list() == ["big"]  # no temporary files left behind


async def test_fs_list_skips_stray_temporary_files(
    fs: FsStorage, tmp_path: Path
) -> None:
    await fs.write("d/real", b"1")
    (_root(tmp_path) / "d" / ".svcgen-tmp-deadbeef").write_bytes(b"partial")
    assert await fs.list() == ["d/real"]


async def test_fs_symlinks_out_of_the_root_are_refused(
    fs: FsStorage, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    root = _root(tmp_path)
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "leak").symlink_to(outside / "secret")
    for path in ("out/secret", "leak"):
        with pytest.raises(InvalidPathError, match="symlink leads it outside"):
            await fs.read(path)
        with pytest.raises(InvalidPathError, match="symlink leads it outside"):
            await fs.stat(path)
        with pytest.raises(InvalidPathError, match="symlink leads it outside"):
            await fs.delete(path)
    with pytest.raises(InvalidPathError, match="symlink leads it outside"):
        await fs.write("out/new", b"x")
    with pytest.raises(InvalidPathError, match="symlink leads it outside"):
        await fs.write("leak", b"overwritten")
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_bytes() == b"secret"
    assert await fs.list() == []


async def test_fs_symlinks_inside_the_root_are_followed(
    fs: FsStorage, tmp_path: Path
) -> None:
    await fs.write("real/file", b"data")
    root = _root(tmp_path)
    (root / "alias").symlink_to(root / "real" / "file")
    assert await fs.read("alias") == b"data"
    assert await fs.list() == ["alias", "real/file"]


async def test_fs_root_may_itself_be_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real-root"
    real.mkdir()
    link = tmp_path / "link-root"
    link.symlink_to(real, target_is_directory=True)
    storage = FsStorage(name="s", path=link)
    await storage.open()
    await storage.write("a/b", b"1")
    assert (real / "a" / "b").read_bytes() == b"1"
    assert await storage.list() == ["a/b"]


async def test_fs_object_and_folder_cannot_share_a_path(fs: FsStorage) -> None:
    await fs.write("a/b", b"1")
    with pytest.raises(StorageError, match="is a folder of other objects"):
        await fs.write("a", b"2")
    await fs.write("f", b"1")
    with pytest.raises(StorageError, match="a part of its folder is an object"):
        await fs.write("f/g", b"2")
    assert await fs.list() == ["a/b", "f"]


async def test_fs_root_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    storage = FsStorage(name="s", path=blocker / "root")
    with pytest.raises(StorageError, match="cannot create its root folder"):
        await storage.open()


async def test_application_opens_and_closes_storage(tmp_path: Path) -> None:
    storage = FsStorage(name="files", path=tmp_path / "root")
    app = Application(name="svc", resources=[storage], handle_signals=False)
    serving = asyncio.create_task(app.serve())
    await asyncio.wait_for(app.wait_started(), 10)
    await storage.write("k", b"v")
    app.shutdown()
    assert await asyncio.wait_for(serving, 10) == 0
    with pytest.raises(StorageError, match="is not open"):
        await storage.read("k")
