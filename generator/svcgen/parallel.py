"""A second CPU for black: a forked helper takes about half of a large batch.

Only the console script allows it (``use_processes``): a library caller's process
may run threads, which ``fork`` does not mix well with. This module imports
nothing heavy, so the CLI can allow it before knowing which verb runs.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from typing import Final

Jobs = Mapping[str, tuple[str, str]]
"""Key → (template, text): the texts to format."""
Work = Callable[[Jobs], dict[str, str]]
"""Formats jobs (and stores them in black's cache): key → black's output."""

FORK_FROM: Final = 16384
"""``split`` forks a helper only for at least this much text (characters): a fork
costs milliseconds, black about a second per 200 KB."""

_processes = False


def use_processes(allowed: bool) -> None:
    """Let ``split`` fork a helper process."""
    global _processes
    _processes = allowed


def split(jobs: Jobs, work: Work) -> dict[str, str]:
    """``work(jobs)``, with about half of the text done by a forked helper when
    processes are allowed, a second CPU is free and the batch is large."""
    helper = _Helper.start(jobs, work)
    if helper is None:
        return work(jobs)
    results = work({k: job for k, job in jobs.items() if k not in helper.jobs})
    results.update(helper.collect())
    return results


def _free_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _Helper:
    """A forked process that runs ``work`` on a share of the jobs and sends back
    its output as JSON through a pipe. Whatever goes wrong there (a crash, a
    template black cannot format) makes ``collect`` run those jobs here instead,
    where errors are reported as usual."""

    def __init__(
        self, jobs: dict[str, tuple[str, str]], work: Work, pid: int, pipe: int
    ) -> None:
        self.jobs = jobs
        self._work = work
        self._pid = pid
        self._pipe = pipe

    @classmethod
    def start(cls, todo: Jobs, work: Work) -> _Helper | None:
        if not (_processes and hasattr(os, "fork") and _free_cpus() > 1):
            return None
        if threading.active_count() > 1:
            return None  # a thread holding a lock at the fork would hold it forever
        if len(todo) < 2 or sum(len(text) for _, text in todo.values()) < FORK_FROM:
            return None
        import black  # noqa: F401 - imported once, before the fork, for both

        share: dict[str, tuple[str, str]] = {}
        theirs = ours = 0
        for key, job in sorted(todo.items(), key=lambda kv: -len(kv[1][1])):
            if theirs <= ours:  # the larger texts first, to the lighter side
                share[key] = job
                theirs += len(job[1])
            else:
                ours += len(job[1])
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; coverage does not follow it
            os.close(read)
            try:
                data = json.dumps(work(share)).encode()
            except BaseException:
                data = b""
            try:
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(data)
            finally:
                os._exit(0)
        os.close(write)
        return cls(share, work, pid, read)

    def collect(self) -> dict[str, str]:
        with os.fdopen(self._pipe, "rb") as pipe:
            data = pipe.read()
        os.waitpid(self._pid, 0)
        try:
            out = json.loads(data)
        except ValueError:
            out = None
        if not isinstance(out, dict) or set(out) != set(self.jobs):
            return self._work(self.jobs)
        return {str(k): str(v) for k, v in out.items()}
