"""One generated service run as several replica processes, and what each one did.

``generate`` writes a service with one consumer, ``work``, whose handler appends
``S <id> <time> <pid>`` when it starts a message and ``F <id> <time> <pid>`` when it
finishes it to
its process's own file (``os.write`` on an ``O_APPEND`` descriptor: the line is in the
kernel before the handler returns, so before the ack, and a SIGKILL cannot lose it).
With ``REPLICA_BUFFERED=1`` (the benchmark) the handler does no I/O: it keeps the
``F`` lines in memory and a background task writes them every 20 ms.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from svcgen import commands

from .kinds import TUNING, Target

SPEC: Final = """\
name: {name}
brokers:
  main: {{kind: {kind}, url: "${{REPLICA_BROKER_URL:-unset}}"}}
consumers:
  - name: work
    broker: main
    source: {source}
    group: {group}
    concurrency: {concurrency}
    timeout: 30s
    dead_letter: none
{options}shutdown:
  drain_timeout: 20s
"""

WORK: Final = """\
from __future__ import annotations

import asyncio
import os
import time

from svcgen_runtime import InboundMessage, Outcome

from {name}._generated.context import Context

LOG = os.open(os.environ["REPLICA_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
SLEEP = float(os.environ.get("REPLICA_SLEEP", "0"))
BUFFERED = os.environ.get("REPLICA_BUFFERED") == "1"
PID = os.getpid()
lines: list[str] = []
flusher: list[asyncio.Task[None]] = []


async def flush_forever() -> None:
    while True:
        await asyncio.sleep(0.02)
        if lines:
            text = "".join(lines)
            lines.clear()
            os.write(LOG, text.encode())


async def handle(ctx: Context, message: bytes, raw: InboundMessage) -> Outcome | None:
    number = int(message)
    if BUFFERED:
        if not flusher:
            flusher.append(asyncio.get_running_loop().create_task(flush_forever()))
        lines.append(f"F {{number}} {{time.time():.4f}} {{PID}}\\n")
        return None
    os.write(LOG, f"S {{number}} {{time.time():.4f}} {{PID}}\\n".encode())
    if SLEEP:
        await asyncio.sleep(SLEEP)
    os.write(LOG, f"F {{number}} {{time.time():.4f}} {{PID}}\\n".encode())
    return None
"""


def _spec_options(kind: str, tuned: bool) -> str:
    """The consumer's ``options:`` block of ``kinds.TUNING`` (empty when untuned)."""
    tuning = TUNING.get(kind, {})
    if not tuning or not tuned:
        return ""
    keys = "".join(f"      {k}: {v}\n" for k, v in tuning.items())
    return "    options:\n" + keys


@dataclass
class Replica:
    """One ``python -m <service>`` process and the lines it wrote."""

    number: int
    proc: subprocess.Popen[bytes]
    log: Path
    err: Path
    started_at: float
    started: dict[int, float] = field(default_factory=dict)
    """First start time of each message id this process started."""
    finished: dict[int, float] = field(default_factory=dict)
    """First finish time of each id this process finished."""
    finish_count: int = 0
    by_pid: dict[int, tuple[set[int], set[int]]] = field(default_factory=dict)
    """Per process id: the ids it started and finished (several with SVCGEN_WORKERS)."""
    stopped_at: float | None = None
    """When the test signalled it (a replica that exits without one fails the wait)."""
    ready_at: float | None = None
    """When the test first saw it report ``started`` (consumers subscribed)."""
    _offset: int = 0

    def read(self) -> None:
        """Take in the complete lines written since the last read."""
        if not self.log.exists():
            return
        with self.log.open("rb") as f:
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self._offset += end
        for line in data[:end].decode().splitlines():
            what, number, stamp, pid = line.split()
            table = self.started if what == "S" else self.finished
            if what == "F":
                self.finish_count += 1
            table.setdefault(int(number), float(stamp))
            started, finished = self.by_pid.setdefault(int(pid), (set(), set()))
            (started if what == "S" else finished).add(int(number))

    def in_flight(self) -> set[int]:
        return set(self.started).difference(self.finished)

    def stderr(self, tail: int = 3000) -> str:
        return self.err.read_text(errors="replace")[-tail:]

    def check_ready(self) -> bool:
        """Whether the process logged ``<service>: started in``; ``ready_at`` is then
        that line's time (logging's ``asctime``, local time, to the millisecond)."""
        if self.ready_at is None:
            for line in self.err.read_text(errors="replace").splitlines():
                if ": started in" in line:
                    stamp = dt.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
                    self.ready_at = stamp.timestamp()
                    break
        return self.ready_at is not None

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the process so far (``/proc/<pid>/stat``)."""
        return proc_cpu_seconds(self.proc.pid)


def children(pid: int) -> set[int]:
    """The child processes of ``pid`` (a service's workers, ``SVCGEN_WORKERS``)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in text.split()}


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (fields 14 and 15 of its stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


@dataclass
class Service:
    """A generated service in ``root`` and its replica processes."""

    root: Path
    name: str
    target: Target
    tmp: Path
    sleep: float = 0.0
    buffered: bool = False
    replicas: list[Replica] = field(default_factory=list)

    def start(self, **env_vars: str) -> Replica:
        """Start a replica process (``env_vars`` added to its environment)."""
        n = len(self.replicas)
        log, err = self.tmp / f"replica-{n}.log", self.tmp / f"replica-{n}.err"
        env = {
            **os.environ,
            "PYTHONPATH": str(self.root / "src"),
            "REPLICA_BROKER_URL": self.target.url,
            "REPLICA_LOG": str(log),
            "REPLICA_SLEEP": str(self.sleep),
            "REPLICA_BUFFERED": "1" if self.buffered else "0",
            "HEALTH_PORT": "0",
            **env_vars,
        }
        with err.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", self.name],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
                cwd=self.root,
            )
        replica = Replica(n, proc, log, err, time.time())
        self.replicas.append(replica)
        return replica

    def read(self) -> None:
        for replica in self.replicas:
            replica.read()
            replica.check_ready()

    def finished_ids(self) -> set[int]:
        return {n for r in self.replicas for n in r.finished}

    async def wait(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        """Poll ``check`` every 20 ms (reading every log first); fail with each
        live replica's stderr when ``timeout`` passes or a replica exits on its own."""
        deadline = time.monotonic() + timeout
        while True:
            self.read()
            if check():
                return
            for r in self.replicas:
                code = r.proc.poll()
                if code is not None and r.stopped_at is None:
                    raise AssertionError(
                        f"replica {r.number} exited ({code}) while waiting for "
                        f"{what}:\n{r.stderr()}"
                    )
            if time.monotonic() > deadline:
                tails = "\n".join(
                    f"--- replica {r.number}:\n{r.stderr(1500)}"
                    for r in self.replicas
                    if r.stopped_at is None
                )
                raise AssertionError(f"no {what} within {timeout:.0f}s:\n{tails}")
            await asyncio.sleep(0.02)

    def kill_all(self) -> None:
        for r in self.replicas:
            if r.proc.poll() is None:
                r.proc.kill()
                r.proc.wait()


def generate(
    tmp: Path,
    target: Target,
    *,
    concurrency: int,
    sleep: float,
    buffered: bool,
    tuned: bool = True,
) -> Service:
    """``svcgen new`` + ``generate`` of a one-consumer service on ``target``;
    ``tuned``: with the short crash-recovery settings of ``kinds.TUNING`` (else
    every setting at its default)."""
    name = f"replicas_{target.kind}_{secrets.token_hex(4)}"
    root = commands.new(name, brokers=[target.kind], http=False, directory=tmp / name)
    (root / "service.yaml").write_text(
        SPEC.format(
            name=name,
            kind=target.kind,
            source=target.source,
            group=target.group,
            concurrency=concurrency,
            options=_spec_options(target.kind, tuned),
        )
    )
    package = root / "src" / name
    (package / "handlers" / "event_received.py").unlink()
    commands.generate(root)
    (package / "handlers" / "work.py").write_text(WORK.format(name=name))
    return Service(root, name, target, tmp, sleep=sleep, buffered=buffered)
