"""The contract suite's view of Mosquitto on 127.0.0.1:1883 (MQTT 5, QoS 1)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping
from typing import Any

from svcgen_runtime.brokers.mqtt import MqttBroker
from svcgen_runtime.brokers.mqtt.client_ids import clear_session, sessions

from .harness import unique

HOST = "127.0.0.1"
PORT = 1883
URL = f"mqtt://{HOST}:{PORT}"
SESSION_EXPIRY = 300
"""Test sessions expire on their own if a crashed child process leaves one behind."""


async def wait_for_port(
    host: str = HOST, port: int = PORT, timeout: float = 10.0
) -> None:
    """Wait until ``host:port`` accepts TCP connections."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)
        else:
            writer.close()
            await writer.wait_closed()
            return


async def _run(*argv: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({err.decode().strip()}); it needs root")
    return out.decode()


async def kill_server_side_sockets(port: int = PORT) -> int:
    """Destroy the server's end of this process's TCP connections to ``port``.

    ``ss -K`` on the server-side sockets (source port ``port``) whose peer is one of
    this process's client ports: Mosquitto sees "connection abort" and drops those
    clients (their sessions stay), the clients see a reset, the server keeps running,
    and other processes' connections (other test runs) are left alone. Returns how
    many connections were cut.
    """
    listing = await _run("ss", "-tnpH", f"( dport = :{port} )")
    mine = f"pid={os.getpid()},"
    ports = [
        line.split()[3].rsplit(":", 1)[1]
        for line in listing.splitlines()
        if mine in line and len(line.split()) > 3
    ]
    if ports:
        peers = " or ".join(f"dport = :{p}" for p in ports)
        await _run("ss", "-K", "-tn", f"( sport = :{port} ) and ( {peers} )")
    return len(ports)


class Harness:
    kind = "mqtt"
    supports_crash = True

    def __init__(self) -> None:
        self.sources: list[str] = []

    def broker(self, name: str = "test") -> MqttBroker:
        return MqttBroker(name, URL, keepalive=10, session_expiry=SESSION_EXPIRY)

    def source(self, prefix: str) -> str:
        topic = f"svcgen-test/{unique(prefix)}"
        self.sources.append(topic)
        return topic

    def consumer_options(self) -> Mapping[str, Any]:
        return {"session_expiry": SESSION_EXPIRY}

    def ack_wait(self) -> float:
        return 1.0  # MQTT has no ack timer: the session redelivers on reconnect

    async def cut_connections(self) -> None:
        if not await kill_server_side_sockets():
            raise RuntimeError("no connection of this process to Mosquitto to cut")
        await wait_for_port()

    async def refuse_publishes(self, target: str) -> bool:
        return False  # no server-side refusal to set up: the test fakes one

    async def cleanup(self) -> None:
        """Delete the persistent sessions made for this harness's topics."""
        doomed = [
            cid
            for cid in sorted(sessions)
            if any(f"/{topic}" in cid for topic in self.sources)
        ]
        for cid in doomed:
            await clear_session(URL, cid)
        self.sources.clear()

    def broker_script(self) -> str:
        return (
            "from svcgen_runtime.brokers.mqtt import MqttBroker\n"
            f"MqttBroker('test', {URL!r}, keepalive=10, "
            f"session_expiry={SESSION_EXPIRY}, host_id={socket.gethostname()!r})"
        )
