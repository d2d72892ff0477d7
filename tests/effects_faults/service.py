"""A generated service with a dedupe consumer and an outbox publisher, run as a
``python -m <service>`` process against a real broker and the loopback PostgreSQL;
shared by the fault test (``test_effects_faults.py``) and the cost benchmark
(``benchmarks/effects.py``).

The consumer ``work`` reads ``{"id": n}`` messages and inserts one row per message into
``<schema>.items``; in the ``outbox`` variant it also publishes the message through the
outbox publisher ``shipped``, and a second consumer ``downstream`` (dedupe on the default
``svcgen-message-id`` key) reads what was published and inserts a row per message
into ``<schema>.downstream``. Neither table has a unique constraint on ``id``: a message
whose effect ran twice shows as two rows, so the test counts effects by id.

Every run's tables, the effects tables included, live in one random schema of the
``test`` database, dropped at the end (``Database.drop``).
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import asyncpg

from svcgen import commands

Variant = Literal["plain", "dedupe", "outbox"]

SKIP_LINE: Final = re.compile(r"consumer (\w+): message .* already done; acking it")

DATABASE_URL: Final = os.environ.get(
    "SVCGEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

SPEC: Final = """\
name: {name}
brokers:
  main: {{kind: {kind}, url: "${{EFX_BROKER_URL:-unset}}"}}
resources:
  database:
    kind: postgres
    url: "${{EFX_DATABASE_URL:-unset}}"
    pool: {{max: {pool}}}
consumers:
  - name: work
    broker: main
    source: {source}
    concurrency: {concurrency}
    timeout: 30s
    dead_letter: none
{work_extra}{downstream}{publishers}shutdown:
  drain_timeout: 20s
"""

DOWNSTREAM: Final = """\
  - name: downstream
    broker: main
    source: {target}
    concurrency: {concurrency}
    timeout: 30s
    dead_letter: none
    dedupe: {{key: "header:svcgen-message-id"}}
{options}"""

PUBLISHERS: Final = """\
publishers:
  - name: shipped
    broker: main
    target: {target}
    outbox: true
"""

WORK: Final = """\
from __future__ import annotations

import json
import os

from svcgen_runtime import InboundMessage, Outcome

from {name}._generated.context import Context

INSERT = 'INSERT INTO "{{}}".items (id) VALUES ($1)'.format(os.environ["EFX_SCHEMA"])


async def handle(ctx: Context, message: bytes, raw: InboundMessage) -> Outcome | None:
    number = json.loads(message)["id"]
    await ctx.database.execute(INSERT, number)
{publish}    return None
"""

PUBLISH: Final = "    await ctx.shipped.publish(message, key=str(number))\n"

DOWNSTREAM_HANDLER: Final = """\
from __future__ import annotations

import json
import os

from svcgen_runtime import InboundMessage, Outcome

from {name}._generated.context import Context

INSERT = 'INSERT INTO "{{}}".downstream (id, message_id) VALUES ($1, $2)'.format(
    os.environ["EFX_SCHEMA"]
)


async def handle(ctx: Context, message: bytes, raw: InboundMessage) -> Outcome | None:
    number = json.loads(message)["id"]
    await ctx.database.execute(INSERT, number, raw.headers.get("svcgen-message-id"))
    return None
"""

# The user-owned entry point: the effects tables go to the run's own schema (the
# generated app constructs ``Effects`` with the default schema ``svcgen``, shared by
# every service of a database), so the run can drop them with its schema.
MAIN: Final = """\
from __future__ import annotations

import logging
import os
from typing import Any

import svcgen_runtime.effects as effects_module


class SchemaEffects(effects_module.Effects):
    \"\"\"Effects whose tables live in the schema ``EFX_SCHEMA``.\"\"\"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("schema", os.environ["EFX_SCHEMA"])
        super().__init__(**kwargs)


effects_module.Effects = SchemaEffects  # type: ignore[misc]

from {name}._generated.app import run  # noqa: E402  (after the replacement)

if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if os.environ.get("EFX_LOG_SKIPS") == "1":
        # A dedupe skip is logged at DEBUG: the test counts those lines.
        logging.getLogger("svcgen_runtime.effects").setLevel(logging.DEBUG)
    run()
"""


def spec_options(options: dict[str, str]) -> str:
    if not options:
        return ""
    return "    options:\n" + "".join(f"      {k}: {v}\n" for k, v in options.items())


@dataclass
class Run:
    """One ``python -m <service>`` process."""

    proc: subprocess.Popen[bytes]
    err: Path

    def stderr(self, tail: int = 3000) -> str:
        return self.err.read_text(errors="replace")[-tail:]

    def skipped(self) -> collections.Counter[str]:
        """Deliveries each dedupe consumer acked without running its handler, from
        the runtime's log line for each (stderr is line-buffered: a SIGKILL loses
        none that was written)."""
        return collections.Counter(SKIP_LINE.findall(self.stderr(10_000_000)))


@dataclass
class Database:
    """The run's schema in the ``test`` database, through one asyncpg connection."""

    schema: str
    conn: Any = None

    async def create(self) -> None:
        self.conn = await asyncpg.connect(DATABASE_URL)
        await self.conn.execute(
            f'CREATE SCHEMA "{self.schema}";'
            f'CREATE TABLE "{self.schema}".items (id integer NOT NULL);'
            f'CREATE TABLE "{self.schema}".downstream '
            "(id integer NOT NULL, message_id text);"
        )

    async def value(self, sql: str) -> Any:
        return await self.conn.fetchval(sql.replace("{s}", f'"{self.schema}"'))

    async def rows(self, sql: str) -> list[Any]:
        return list(await self.conn.fetch(sql.replace("{s}", f'"{self.schema}"')))

    async def drop(self) -> None:
        if self.conn is None:
            return
        try:
            await self.conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        finally:
            await self.conn.close()


@dataclass
class Service:
    root: Path
    name: str
    url: str
    tmp: Path
    database: Database
    log_skips: bool = False
    """Log each delivery a dedupe consumer skips (``Run.skipped`` counts them)."""
    runs: list[Run] = field(default_factory=list)

    def start(self) -> Run:
        n = len(self.runs)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(self.root / "src"), os.environ.get("PYTHONPATH")])
            ),
            "EFX_BROKER_URL": self.url,
            "EFX_DATABASE_URL": DATABASE_URL,
            "EFX_SCHEMA": self.database.schema,
            "HEALTH_PORT": "0",
            "EFX_LOG_SKIPS": "1" if self.log_skips else "0",
        }
        err = self.tmp / f"err-{n}.log"
        with err.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", self.name],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
                cwd=self.root,
            )
        run = Run(proc, err)
        self.runs.append(run)
        return run

    @property
    def current(self) -> Run:
        return self.runs[-1]

    async def until(
        self, what: str, check: Callable[[], Awaitable[bool]], timeout: float
    ) -> None:
        """Poll ``check`` every 10 ms; fail when the process exits or time is up."""
        deadline = time.monotonic() + timeout
        while not await check():
            run = self.current
            if run.proc.poll() is not None:
                raise AssertionError(
                    f"the service exited ({run.proc.returncode}) while waiting for "
                    f"{what}:\n{run.stderr()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {what} within {timeout:.0f}s:\n{run.stderr()}"
                )
            await asyncio.sleep(0.01)

    async def wait_started(self, timeout: float) -> None:
        run = self.current

        async def started() -> bool:
            return ": started" in run.stderr(100_000)

        await self.until("start", started, timeout)

    async def stop(self, sig: int, timeout: float) -> int:
        run = self.current
        run.proc.send_signal(sig)
        return await asyncio.to_thread(run.proc.wait, timeout)

    def kill_all(self) -> None:
        for run in self.runs:
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()


def generate(
    tmp: Path,
    *,
    kind: str,
    url: str,
    source: str,
    target: str,
    variant: Variant,
    concurrency: int,
    options: dict[str, str] | None = None,
    downstream: bool = True,
) -> Service:
    """``svcgen new`` + ``generate`` of the service in ``variant``: ``plain`` (the
    consumer alone), ``dedupe`` (with ``dedupe`` on the body's ``id``) or ``outbox``
    (dedupe and an outbox publish per message; with ``downstream``, the consumer
    ``downstream`` of what was published)."""
    suffix = secrets.token_hex(4)
    name = f"effects_{kind}_{suffix}"
    root = commands.new(name, brokers=[kind], http=False, directory=tmp / name)
    extra = spec_options(options or {})
    if variant != "plain":
        extra = '    dedupe: {key: "body:id"}\n' + extra
    outbox = variant == "outbox"
    downstream = downstream and outbox
    (root / "service.yaml").write_text(
        SPEC.format(
            name=name,
            kind=kind,
            source=source,
            concurrency=concurrency,
            pool=min(concurrency, 20) + 4,
            work_extra=extra,
            downstream=DOWNSTREAM.format(
                target=target,
                concurrency=concurrency,
                options=spec_options(options or {}),
            )
            if downstream
            else "",
            publishers=PUBLISHERS.format(target=target) if outbox else "",
        )
    )
    package = root / "src" / name
    (package / "handlers" / "event_received.py").unlink()
    commands.generate(root)
    (package / "handlers" / "work.py").write_text(
        WORK.format(name=name, publish=PUBLISH if outbox else "")
    )
    if downstream:
        (package / "handlers" / "downstream.py").write_text(
            DOWNSTREAM_HANDLER.format(name=name)
        )
    if variant != "plain":
        (package / "__main__.py").write_text(MAIN.format(name=name))
    schema = f"efx_{suffix}"
    return Service(root, name, url, tmp, Database(schema))
