"""MQTT throughput: Consumer+Application over MqttBroker vs a raw paho-mqtt loop.

Both sides first create a persistent MQTT 5 session subscribed (QoS 1, shared
subscription) to a fresh topic, pre-load ``n`` ~100-byte JSON messages into it while
it is offline, then reconnect with Receive Maximum = ``concurrency``, ``json.loads``
each body and PUBACK each message after its handler (paho ``manual_ack``). The raw
loop has the runtime's shape: paho driven by the asyncio loop through its socket
callbacks, one reader filling a buffer that pauses reading at ``2 * concurrency``
(Mosquitto overshoots Receive Maximum), ``concurrency`` worker coroutines. Only the
consume phase is timed; two interleaved rounds, the best of each side.

Mosquitto keeps at most 1,000 queued messages per session by default
(``max_queued_messages``), so a session cannot hold 50,000 pre-loaded messages on the
shared server: unless ``MQTT_BENCH_URL`` names a suitably configured server, this
starts a private ``mosquitto`` on a free loopback port with ``max_queued_messages 0``
(no limit), uses it for both sides and stops it afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from svcgen_runtime import Application, Consumer, InboundMessage
from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.mqtt import MqttBroker
from svcgen_runtime.brokers.mqtt.client_ids import clear_session
from svcgen_runtime.brokers.mqtt.link import READ_BATCH, coalesce_pubacks

GROUP: Final = "bench"
WINDOW: Final = 500
"""Publishes in flight while pre-loading."""


def _body(i: int) -> bytes:
    doc = {"id": i, "kind": "order.created", "sku": f"SKU-{i % 997:05d}", "qty": 1}
    raw = json.dumps(doc).encode()
    doc["pad"] = "x" * max(0, 100 - len(raw) - 10)
    return json.dumps(doc).encode()


@contextlib.asynccontextmanager
async def _server() -> AsyncIterator[tuple[str, int]]:
    url = os.environ.get("MQTT_BENCH_URL")
    if url:
        parts = urlsplit(url)
        yield parts.hostname or "127.0.0.1", parts.port or 1883
        return
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp, "mosquitto.conf")
        text = (
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 0\nmax_inflight_messages 1000\n"
        )
        await asyncio.to_thread(conf.write_text, text)
        proc = await asyncio.create_subprocess_exec(
            exe,
            "-c",
            str(conf),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                break
            yield "127.0.0.1", port
        finally:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()


class _Raw:
    """A paho client on the running loop: the few lines any asyncio user writes."""

    def __init__(self, client_id: str, *, manual_ack: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.sock: Any = None
        self.reading = False
        self.connected = asyncio.Event()
        self.acked = asyncio.Event()
        self.pubacks = 0
        self.received = 0
        c = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5,
            manual_ack=manual_ack,
            reconnect_on_failure=False,
        )
        c.max_inflight_messages_set(WINDOW)

        def opened(_c: Any, _u: Any, sock: Any) -> None:
            self.sock = sock
            self.resume()

        def closed(_c: Any, _u: Any, sock: Any) -> None:
            self.pause()
            loop.remove_writer(sock)

        def on_publish(*_: Any) -> None:
            self.pubacks += 1
            self.acked.set()

        c.on_socket_open = opened
        c.on_socket_close = closed

        def writable() -> None:
            coalesce_pubacks(c)  # the adapter's helper: one send for many PUBACKs
            c.loop_write()

        def want_write(_c: Any, _u: Any, sock: Any) -> None:
            loop.add_writer(sock, writable)

        def done_writing(_c: Any, _u: Any, sock: Any) -> None:
            loop.remove_writer(sock)

        c.on_socket_register_write = want_write
        c.on_socket_unregister_write = done_writing
        c.on_connect = lambda *_: self.connected.set()
        c.on_subscribe = lambda *_: self.acked.set()
        c.on_publish = on_publish
        self.client = c
        self.misc: asyncio.Task[None] | None = None

    def pause(self) -> None:
        if self.reading:
            self.loop.remove_reader(self.sock)
            self.reading = False

    def readable(self) -> None:
        # As the adapter: keep reading while PUBLISHes come (paho reads one packet
        # per loop_read when nothing is outgoing).
        for _ in range(READ_BATCH):
            before = self.received
            if self.client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return
            if self.received == before or not self.reading:
                return

    def resume(self) -> None:
        if not self.reading and self.sock is not None:
            self.loop.add_reader(self.sock, self.readable)
            self.reading = True

    async def connect(
        self,
        host: str,
        port: int,
        *,
        clean: bool,
        receive_max: int = 0,
        expiry: int = 600,
    ) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if expiry:
            props.SessionExpiryInterval = expiry
        if receive_max:
            props.ReceiveMaximum = receive_max
        self.client.connect(host, port, 30, clean_start=clean, properties=props)
        await self.connected.wait()

        async def misc() -> None:
            while True:
                await asyncio.sleep(1.0)
                self.client.loop_misc()

        self.misc = asyncio.create_task(misc())

    async def disconnect(self) -> None:
        if self.misc is not None:
            self.misc.cancel()
        self.client.disconnect()
        for _ in range(100):
            if self.sock is None or not self.client.want_write():
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)


async def _preload(host: str, port: int, topic: str, n: int) -> None:
    pub = _Raw(f"bench-pub-{secrets.token_hex(4)}")
    await pub.connect(host, port, clean=True, expiry=0)
    sent = 0
    while pub.pubacks < n:
        while sent < n and sent - pub.pubacks < WINDOW:
            pub.client.publish(topic, _body(sent), qos=1)
            sent += 1
        pub.acked.clear()
        await pub.acked.wait()
    await pub.disconnect()


async def _runtime(host: str, port: int, n: int, concurrency: int) -> float:
    topic = f"svcgen-bench/runtime-{secrets.token_hex(6)}"
    url = f"mqtt://{host}:{port}"
    broker = MqttBroker("bench", url)
    await broker.connect()
    spec = SubscriptionSpec(consumer="bench", source=topic, group=GROUP)
    sub = await broker.subscribe(spec)  # the session exists before the pre-load
    cid = sub.client_id
    await sub.close()
    await broker.close()
    await _preload(host, port, topic, n)

    handled = 0
    done = asyncio.Event()

    async def handle(payload: Any, msg: InboundMessage) -> None:
        nonlocal handled
        handled += 1
        if handled == n:
            done.set()

    consumer: Consumer[Any] = Consumer(
        name="bench",
        broker=broker,
        source=topic,
        group=GROUP,
        handler=handle,
        decode=json.loads,
        concurrency=concurrency,
    )
    app = Application(
        name="bench", brokers=[broker], consumers=[consumer], handle_signals=False
    )
    try:
        started = time.perf_counter()
        task = asyncio.create_task(app.serve())
        await done.wait()
        app.shutdown()  # the drain and close flush the last PUBACKs: timed too
        code = await task
        took = time.perf_counter() - started
        assert code == 0, code
        assert consumer.stats.acked == n, consumer.stats
    finally:
        for c in (cid, broker.dead_letter_client_id(GROUP, f"{topic}.dlq")):
            await clear_session(url, c)
    return n / took


async def _raw(
    host: str, port: int, n: int, concurrency: int, *, timeouts: bool = True
) -> float:
    topic = f"svcgen-bench/raw-{secrets.token_hex(6)}"
    cid = f"bench-raw-{secrets.token_hex(4)}"
    setup = _Raw(cid, manual_ack=True)
    await setup.connect(host, port, clean=True)
    setup.acked.clear()
    setup.client.subscribe(f"$share/{GROUP}/{topic}", qos=1)
    await setup.acked.wait()
    await setup.disconnect()
    await _preload(host, port, topic, n)

    bound = 2 * concurrency
    buffer: asyncio.Queue[tuple[int, bytes | bytearray]] = asyncio.Queue()
    handled = 0
    done = asyncio.Event()
    raw = _Raw(cid, manual_ack=True)

    def on_message(_c: Any, _u: Any, m: paho.MQTTMessage) -> None:
        raw.received += 1
        buffer.put_nowait((m.mid, m.payload))  # keep what the handler needs, not m
        if buffer.qsize() >= bound:
            raw.pause()

    raw.client.on_message = on_message

    async def handle(payload: Any) -> None:
        return None

    async def worker() -> None:
        nonlocal handled
        while True:
            mid, payload = await buffer.get()
            if buffer.qsize() <= bound // 2:
                raw.resume()
            if timeouts:
                async with asyncio.timeout(30.0):
                    await handle(json.loads(payload))
            else:
                await handle(json.loads(payload))
            raw.client.ack(mid, 1)
            handled += 1
            if handled == n:
                done.set()

    started = time.perf_counter()
    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    await raw.connect(host, port, clean=False, receive_max=concurrency)
    await done.wait()
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    await raw.disconnect()  # flushes the last PUBACKs
    took = time.perf_counter() - started
    cleaner = _Raw(cid)
    await cleaner.connect(host, port, clean=True, expiry=0)
    await cleaner.disconnect()
    return n / took


ROUNDS: Final = 2
"""Interleaved rounds; each side reports its best (the machine is shared and noisy)."""


async def run(n: int, concurrency: int) -> dict[str, float]:
    raw: list[float] = []
    runtime: list[float] = []
    bare: list[float] = []
    async with _server() as (host, port):
        for _ in range(ROUNDS):
            raw.append(await _raw(host, port, n, concurrency))
            runtime.append(await _runtime(host, port, n, concurrency))
            bare.append(await _raw(host, port, n, concurrency, timeouts=False))
    return {"runtime": max(runtime), "raw": max(raw), "raw_bare": max(bare)}


if __name__ == "__main__":
    result = asyncio.run(run(50_000, 64))
    print(
        f"mqtt: runtime {result['runtime']:,.0f} msg/s, raw {result['raw']:,.0f} msg/s, "
        f"ratio {result['runtime'] / result['raw']:.2f}"
    )
