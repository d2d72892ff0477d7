"""The contract suite's view of NATS JetStream on 127.0.0.1:4222."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Final

import nats

from svcgen_runtime.brokers.nats import NatsBroker, subject_matches

from .harness import unique

URL: Final = "nats://127.0.0.1:4222"
PORT: Final = 4222


async def cut_server_side(client_ports: Sequence[int]) -> int:
    """Destroy the server's end of the connections from ``client_ports``; return how many.

    ``ss -K`` (root, a kernel with INET_DIAG_DESTROY) closes the sockets nats-server
    holds for those clients, exactly as if the server had dropped them: they see a
    reset and reconnect. Other clients of the server (other tests) are left alone.
    """
    if not client_ports:
        return 0
    peers = " or ".join(f"dport = :{p}" for p in client_ports)
    proc = await asyncio.create_subprocess_exec(
        "ss",
        "-K",
        "-t",
        "-n",
        "state",
        "established",
        f"( sport = :{PORT} ) and ( {peers} )",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"ss -K failed ({proc.returncode}): {err.decode().strip()}")
    killed = [ln for ln in out.decode().splitlines()[1:] if f":{PORT}" in ln]
    return len(killed)


async def hold_store(name: str | None) -> str | None:
    """Create (``name`` None) or delete (``name``) the stream that keeps the shared
    server's store directory from emptying; None when there is no server to hold.

    nats-server 2.9/2.10 removes the account's ``streams`` directory when its last
    stream is deleted (``os.Remove`` after ``store.Delete``), and a stream created
    in that instant by another test process fails with "error creating store for
    stream" (the directory vanished under its ``mkdir``). A file-stored stream held
    by every test process for its whole run keeps that directory non-empty.
    """
    try:
        nc = await nats.connect(URL, connect_timeout=2, max_reconnect_attempts=0)
    except Exception:
        return None  # no server: nothing to hold (the NATS tests say so themselves)
    try:
        js = nc.jetstream()
        if name is not None:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(name)
            return None
        held = unique("svcgen-test-store-hold")
        await js.add_stream(name=held, subjects=[held.replace("-", ".", 1)])
        return held
    finally:
        await nc.close()


def client_port(broker: NatsBroker) -> int | None:
    """The local port of the broker's live connection (read from nats-py's transport)."""
    nc: Any = broker._nc
    writer = getattr(getattr(nc, "_transport", None), "_io_writer", None)
    if nc is None or not nc.is_connected or writer is None:
        return None
    sockname = writer.get_extra_info("sockname")
    return int(sockname[1]) if sockname else None


class Harness:
    """Sources are subjects ``svcgen-test.<prefix>-<hex>``; the adapter names their
    streams ``svcgen-test_<prefix>-<hex>`` and ``…_dlq``, which ``cleanup`` deletes."""

    kind = "nats"
    supports_crash = True

    def __init__(self) -> None:
        self.sources: list[str] = []
        self.streams: list[str] = []
        self.brokers: weakref.WeakSet[NatsBroker] = weakref.WeakSet()

    def broker(self, name: str = "test") -> NatsBroker:
        broker = NatsBroker(name, URL, connect_timeout=5.0, reconnect_wait=0.25)
        self.brokers.add(broker)
        return broker

    def source(self, prefix: str) -> str:
        subject = f"svcgen-test.{unique(prefix)}"
        self.sources.append(subject)
        return subject

    def stream(self, prefix: str) -> str:
        """A unique stream name for tests that pass the ``stream`` option."""
        name = unique(f"svcgen-test-{prefix}")
        self.streams.append(name)
        return name

    def consumer_options(self) -> Mapping[str, Any]:
        return {}

    def ack_wait(self) -> float:
        return 2.0

    async def cut_connections(self) -> None:
        """Cut, from the server side, the connections of the brokers this harness made
        (not other tests' clients of the shared server)."""
        ports = [p for b in self.brokers if (p := client_port(b)) is not None]
        if await cut_server_side(ports) == 0:
            raise AssertionError(f"no nats connection of this harness to cut ({ports})")

    async def refuse_publishes(self, target: str) -> bool:
        # With no stream storing the subject, JetStream answers "no responders".
        nc = await nats.connect(URL, connect_timeout=5)
        try:
            js = nc.jetstream()
            for info in await js.streams_info():
                if target in (info.config.subjects or []):
                    assert info.config.name is not None
                    await js.delete_stream(info.config.name)
        finally:
            await nc.close()
        return True

    async def cleanup(self) -> None:
        if not self.sources and not self.streams:
            return
        nc = await nats.connect(URL, connect_timeout=5)
        try:
            js = nc.jetstream()
            doomed = set(self.streams)
            for info in await js.streams_info():
                subjects = info.config.subjects or []
                if any(
                    subject_matches(f"{source}.>", s) or s == source
                    for source in self.sources
                    for s in subjects
                ):
                    assert info.config.name is not None
                    doomed.add(info.config.name)
            for name in sorted(doomed):
                try:
                    await js.delete_stream(name)
                except nats.js.errors.NotFoundError:
                    pass
        finally:
            self.sources.clear()
            self.streams.clear()
            await nc.close()

    def broker_script(self) -> str:
        return (
            "from svcgen_runtime.brokers.nats import NatsBroker\n"
            f"NatsBroker('test', {URL!r})"
        )
