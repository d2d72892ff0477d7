"""Give the consumer under test a core of its own (``latency.py --own-core``).

On a machine with few cores the consumer, the broker and the publisher share them, and
a burst of work in the consumer delays the broker's handling of what is being published
meanwhile: on Tansu that decides whether a fetch is held for the whole fetch wait, so a
consumer's CPU per message shows up in the tail as broker time (benchmarks/README.md,
"Kafka at the 500 ms default"). ``Cores`` pins this process to the lowest allowed CPU
and the broker's processes (every thread of whatever listens on the broker's port) and
the publisher to the rest, and puts everything back on ``restore()``. Linux only.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit


def port_of(url: str) -> int:
    """The TCP port of a broker URL (``scheme://host:port/…`` or ``host:port``)."""
    parsed = urlsplit(url if "://" in url else f"//{url}").port
    if parsed is None:
        raise ValueError(f"{url!r} names no port")
    return parsed


def listeners(port: int) -> set[int]:
    """The pids holding a socket that listens on TCP ``port`` (any address)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    pids: set[int] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    pids.add(int(proc.name))
                    break
        except OSError:
            continue
    return pids


def threads(pid: int) -> list[int]:
    """The thread ids of ``pid`` (just ``pid`` if they cannot be listed)."""
    try:
        return [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        return [pid]


class Cores:
    """This process on one CPU; the broker listening at ``url`` and the publisher on
    the rest."""

    def __init__(self, url: str) -> None:
        allowed = sorted(os.sched_getaffinity(0))
        if len(allowed) < 2:
            raise RuntimeError("--own-core needs at least two CPUs")
        self.mine = {allowed[0]}
        self.rest = set(allowed[1:])
        self.broker = listeners(port_of(url))
        if not self.broker:
            raise RuntimeError(f"no process of this user listens on {url}")
        self._saved: dict[int, set[int]] = {}

    def apply(self) -> None:
        for pid in self.broker:
            for tid in threads(pid):
                self.pin(tid, self.rest)
        self.pin(0, self.mine)

    def publisher(self, pid: int) -> None:
        """Move a publisher that was started on this process's CPU to the rest."""
        self.pin(pid, self.rest, save=False)

    def pin(self, tid: int, cpus: set[int], save: bool = True) -> None:
        """Move ``tid`` (0: this thread) to ``cpus``, remembering where it was."""
        key = tid or os.getpid()
        try:
            if save:
                self._saved.setdefault(key, os.sched_getaffinity(tid))
            os.sched_setaffinity(tid, cpus)
        except (ProcessLookupError, PermissionError):
            self._saved.pop(key, None)

    def restore(self) -> None:
        for tid, cpus in self._saved.items():
            try:
                os.sched_setaffinity(tid, cpus)
            except (ProcessLookupError, PermissionError):
                pass
        self._saved.clear()

    def describe(self) -> str:
        return (
            f"consumer on CPU {sorted(self.mine)}, broker pids {sorted(self.broker)} "
            f"and the publisher on CPUs {sorted(self.rest)}"
        )
