"""Per-core workers: ``SVCGEN_WORKERS=N`` runs N worker processes under one parent.

One Python process runs one core's worth of handlers. A service on a machine with
more cores (or a pod with more than one CPU) can run several copies of itself under
one parent instead of several pods: ``SVCGEN_WORKERS=2`` (or ``auto``, one per
CPU the process may use). Each worker is the service's own entry point run again,
a full Application with its own broker connections, in the consumer groups every
replica joins, so the brokers share the work between workers as between replicas.

The parent:

* builds the application once before starting any worker, so a refused setting
  stops the start with one sentence and exit status 3, as with one process;
* starts the workers with ``SVCGEN_WORKER_INDEX`` (0..N-1) set; their HTTP and
  health listeners bind with ``SO_REUSEPORT``, so all of them listen on the one
  port and the kernel spreads connections (each worker answers its own probes and
  ``/metrics``);
* handles the signals for all: SIGTERM or SIGINT is passed to every worker, which
  drains as one process does; a second one is passed on too (the workers stop at
  once); the parent exits when all have, 0 if every worker drained (else the first
  failing status);
* restarts a worker that dies while the service runs (a crash, an OOM kill), after
  a pause that doubles from 1 s up to 30 s while workers keep dying within a minute
  of their start; its unsettled messages come back as after any crash (the broker
  redelivers them to a live worker or to its replacement). A worker that fails to
  *start* (exit status 3: a broker or resource it cannot reach) stops the service
  with that status, as one process would, so the orchestrator's restart policy and
  start-up probes see it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from .application import EXIT_OK, EXIT_START_FAILED
from .errors import ConfigurationError

log = logging.getLogger(__name__)

WORKERS_VAR: Final = "SVCGEN_WORKERS"
WORKER_INDEX_VAR: Final = "SVCGEN_WORKER_INDEX"
MAX_WORKERS: Final = 64
RESTART_PAUSE: Final = 1.0
RESTART_PAUSE_MAX: Final = 30.0
STABLE_AFTER: Final = 60.0
"""A worker that ran this long before dying restarts after the shortest pause."""
POLL: Final = 0.05


def worker_count(env: Mapping[str, str]) -> int:
    """How many workers ``SVCGEN_WORKERS`` asks for (1 when unset, or inside a worker)."""
    if env.get(WORKER_INDEX_VAR):
        return 1  # a worker runs its service, never workers of its own
    raw = env.get(WORKERS_VAR, "").strip().lower()
    if not raw:
        return 1
    if raw == "auto":
        return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))
    if raw.isdigit() and 1 <= int(raw) <= MAX_WORKERS:
        return int(raw)
    raise ConfigurationError(
        f"{WORKERS_VAR}={env[WORKERS_VAR]!r} is not a number of worker processes: "
        f"set it to a whole number from 1 to {MAX_WORKERS}, or auto (one per CPU)"
    )


def in_worker(env: Mapping[str, str] | None = None) -> bool:
    """This process is one of several workers (its listeners share their ports)."""
    return bool((os.environ if env is None else env).get(WORKER_INDEX_VAR))


def shared_listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT``, so every worker
    listens on the one port (the kernel spreads new connections among them)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def worker_command() -> list[str]:
    """The command line that started this process: each worker runs it again."""
    return [sys.executable, *sys.orig_argv[1:]]


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes]
    started: float
    pause: float = RESTART_PAUSE


@dataclass
class Supervisor:
    """Runs ``count`` workers of ``command`` until a signal, restarting crashed ones."""

    service: str
    count: int
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Callable[[], float] = time.monotonic
    _signals: int = 0
    _workers: dict[int, _Worker] = field(default_factory=dict)
    _due: dict[int, tuple[float, float]] = field(default_factory=dict)

    def run(self) -> int:
        """Start the workers and supervise them; the exit status of the service."""
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for index in range(self.count):
                self._start(index, RESTART_PAUSE)
            log.info("%s: %d workers started", self.service, self.count)
            return self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._kill_all()

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals == 1:
            log.info(
                "%s: %s received; draining %d workers",
                self.service,
                name,
                len(self._workers),
            )
        else:
            log.warning(
                "%s: second %s received; workers stop at once", self.service, name
            )
        for worker in self._workers.values():
            _send(worker.process, signal.SIGTERM)

    def _start(self, index: int, pause: float) -> None:
        env = {**self.env, WORKER_INDEX_VAR: str(index), WORKERS_VAR: str(self.count)}
        process = subprocess.Popen(list(self.command), env=env)
        self._workers[index] = _Worker(index, process, self.clock(), pause)
        log.info("%s: worker %d started (pid %d)", self.service, index, process.pid)

    def _supervise(self) -> int:
        status = EXIT_OK
        while self._workers or (self._due and not self._signals):
            for index, worker in list(self._workers.items()):
                code = worker.process.poll()
                if code is None:
                    continue
                del self._workers[index]
                if code < 0:  # killed by a signal: the status a shell reports
                    code = 128 - code
                if self._signals:
                    status = status or code
                    log.info("%s: worker %d exited with %d", self.service, index, code)
                elif code == EXIT_START_FAILED:
                    log.error(
                        "%s: worker %d could not start (status %d); stopping the "
                        "service",
                        self.service,
                        index,
                        code,
                    )
                    self._stop_others()
                    return self._wait_all(EXIT_START_FAILED)
                else:
                    self._schedule_restart(worker, code)
            now = self.clock()
            for index, (when, pause) in list(self._due.items()):
                if self._signals:
                    self._due.clear()
                    break
                if now >= when:
                    del self._due[index]
                    self._start(index, pause)
            time.sleep(POLL)
        return status

    def _schedule_restart(self, worker: _Worker, code: int) -> None:
        ran = self.clock() - worker.started
        pause = RESTART_PAUSE if ran >= STABLE_AFTER else worker.pause
        log.warning(
            "%s: worker %d (pid %d) died with status %d after %.1f s; restarting it "
            "in %.1f s",
            self.service,
            worker.index,
            worker.process.pid,
            code,
            ran,
            pause,
        )
        self._due[worker.index] = (
            self.clock() + pause,
            min(pause * 2, RESTART_PAUSE_MAX),
        )

    def _stop_others(self) -> None:
        self._due.clear()
        for worker in self._workers.values():
            _send(worker.process, signal.SIGTERM)

    def _wait_all(self, status: int) -> int:
        for worker in list(self._workers.values()):
            worker.process.wait()
        self._workers.clear()
        return status

    def _kill_all(self) -> None:
        """Whatever is still running when ``run`` leaves (an error in the parent)."""
        for worker in self._workers.values():
            _send(worker.process, signal.SIGKILL)
            worker.process.wait()


def _send(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if process.poll() is None:
        process.send_signal(sig)
