"""The MQTT adapter against Mosquitto on 127.0.0.1:1883, through Consumer + Application."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pydantic
import pytest

from svcgen_runtime import message as m
from svcgen_runtime.application import Application
from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.mqtt import MqttBroker
from svcgen_runtime.brokers.mqtt.client_ids import sessions
from svcgen_runtime.brokers.mqtt.link import Link, Server
from svcgen_runtime.brokers.mqtt.topics import default_retry_topic, subscription_filter
from svcgen_runtime.consumer import Consumer
from svcgen_runtime.errors import BrokerConnectionError, BrokerError, ConfigurationError
from svcgen_runtime.message import InboundMessage
from svcgen_runtime.outcome import Ack, Nack, Outcome, Retry
from svcgen_runtime.retry import RetryPolicy
from tests.support import free_port, until

from ..contract.harness import unique
from ..contract.harness_mqtt import URL, Harness, wait_for_port

pytestmark = pytest.mark.broker

Handler = Callable[[bytes, InboundMessage], Awaitable[Outcome | None]]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    yield h
    made = [c for c in sessions if any(f"/{t}" in c for t in h.sources)]
    await h.cleanup()
    # The cleanup really deleted them: a resume finds no session (and, with no
    # Session Expiry Interval, leaves none behind).
    for cid in made:
        link = Link(Server.parse(URL), cid)
        present = await link.open(clean_start=False)
        await link.close()
        assert not present, f"session {cid} survived the cleanup"


def make_consumer(
    h: Harness,
    broker: MqttBroker,
    source: str,
    handler: Handler,
    *,
    name: str = "c",
    group: str | None = None,
    concurrency: int = 4,
    retry: RetryPolicy | None = None,
    options: dict[str, Any] | None = None,
    dead_letter: str | None = "",
) -> Consumer[bytes]:
    extra: dict[str, Any] = {} if dead_letter == "" else {"dead_letter": dead_letter}
    return Consumer(
        name=name,
        broker=broker,
        source=source,
        handler=handler,
        group=group or f"g-{source.rsplit('/', 1)[-1]}",
        concurrency=concurrency,
        timeout=10.0,
        retry=retry or RetryPolicy(max_attempts=3, initial=0.05, jitter=False),
        options={**h.consumer_options(), **(options or {})},
        **extra,
    )


@contextlib.asynccontextmanager
async def running(
    broker: MqttBroker, *consumers: Consumer[bytes], drain: float = 5.0
) -> AsyncIterator[Application]:
    app = Application(
        name="t",
        brokers=[broker],
        consumers=list(consumers),
        handle_signals=False,
        drain_timeout=drain,
    )
    task = asyncio.create_task(app.serve())
    await asyncio.wait_for(app.wait_started(), 10)
    try:
        yield app
    finally:
        app.shutdown()
        await asyncio.wait_for(task, 20)


def test_a_retry_topic_spells_out_the_sources_wildcards() -> None:
    assert default_retry_topic("g", "a/+/b/#") == "svcgen/retry/g/a/%2B/b/%23"
    assert subscription_filter("g", "a/+", shared=True) == "$share/g/a/+"
    assert subscription_filter("g", "a/+", shared=False) == "a/+"


async def test_ack_settles_every_message(harness: Harness) -> None:
    source = harness.source("ack")
    broker = harness.broker()
    seen: list[tuple[bytes, int, str | None]] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        seen.append((body, msg.delivery_count, msg.key))
        await asyncio.sleep(0.01)

    c = make_consumer(harness, broker, source, handle, concurrency=4)
    async with running(broker, c):
        for i in range(30):
            await broker.publish(source, b"%d" % i, key=f"k{i % 3}", headers={"h": "v"})
        await until(lambda: c.stats.acked == 30)
    assert sorted(int(b) for b, _, _ in seen) == list(range(30))
    assert {n for _, n, _ in seen} == {1}
    assert {k for _, _, k in seen} == {"k0", "k1", "k2"}
    assert 1 <= c.stats.peak_in_flight <= 4

    # Everything was PUBACKed: the resumed session redelivers nothing.
    again: list[bytes] = []

    async def record(body: bytes, msg: InboundMessage) -> None:
        again.append(body)

    broker2 = harness.broker()
    c2 = make_consumer(harness, broker2, source, record, group=c.spec.group)
    async with running(broker2, c2):
        await asyncio.sleep(1.0)
    assert again == []


async def test_requeue_increments_delivery_count(harness: Harness) -> None:
    source = harness.source("requeue")
    broker = harness.broker()
    counts: list[int] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        counts.append(msg.delivery_count)
        return Nack(requeue=True) if msg.delivery_count < 3 else Ack()

    c = make_consumer(
        harness, broker, source, handle, retry=RetryPolicy(max_attempts=5)
    )
    async with running(broker, c):
        await broker.publish(source, b"x")
        await until(lambda: c.stats.acked == 1)
    assert counts == [1, 2, 3]
    assert c.stats.requeued == 2


async def test_retry_after_waits_then_redelivers(harness: Harness) -> None:
    source = harness.source("retry")
    broker = harness.broker()
    times: list[tuple[float, int]] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        times.append((time.monotonic(), msg.delivery_count))
        return Retry(after=1.0) if msg.delivery_count == 1 else Ack()

    c = make_consumer(harness, broker, source, handle)
    async with running(broker, c):
        await broker.publish(source, b"x")
        await until(lambda: c.stats.acked == 1)
    (t1, n1), (t2, n2) = times
    assert (n1, n2) == (1, 2)
    assert 1.0 <= t2 - t1 <= 2.0, t2 - t1


async def test_graceful_stop_parks_a_waiting_retry_with_its_due_time(
    harness: Harness,
) -> None:
    source = harness.source("park")
    broker = harness.broker()
    first: list[float] = []

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        first.append(time.time())
        return Retry(after=2.0)

    c = make_consumer(harness, broker, source, handle)
    async with running(broker, c):
        await broker.publish(source, b"x")
        await until(lambda: c.stats.retried == 1)
    # Stopped 0.x s into the 2 s delay: the copy waits in the session with its due
    # time; the next consumer defers it instead of handling it early.
    later: list[tuple[float, InboundMessage]] = []

    async def record(body: bytes, msg: InboundMessage) -> None:
        later.append((time.time(), msg))

    c2 = make_consumer(harness, broker, source, record, group=c.spec.group)
    async with running(broker, c2):
        await until(lambda: len(later) == 1, timeout=5)
    handled_at, msg = later[0]
    assert handled_at - first[0] >= 2.0
    assert float(msg.headers[m.DUE_HEADER]) == pytest.approx(first[0] + 2.0, abs=0.1)
    assert msg.headers[m.DEFERRED_HEADER] == "1"
    assert msg.delivery_count == 3  # parked copy (2), then the deferral's copy (3)


async def test_dead_letter_keeps_headers_and_is_kept_in_a_declared_session(
    harness: Harness,
) -> None:
    source = harness.source("dlq")
    dlq = f"{source}.dlq"
    broker = harness.broker()

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        if body == b"reject":
            return Nack(requeue=False)
        raise ValueError(f"boom {msg.delivery_count}")

    c = make_consumer(
        harness,
        broker,
        source,
        handle,
        retry=RetryPolicy(max_attempts=2, initial=0.05, jitter=False),
    )
    async with running(broker, c):
        await broker.publish(source, b"reject", headers={"trace": "t1"})
        await broker.publish(source, b"fail")
        await until(lambda: c.stats.dead_lettered == 2)

    # The dead letters were published while nobody read the DLQ topic: the session
    # the adapter declared for (group, dlq) kept them, for any reader that resumes it.
    letters: list[InboundMessage] = []

    async def read(body: bytes, msg: InboundMessage) -> None:
        letters.append(msg)

    reader = make_consumer(
        harness,
        broker,
        dlq,
        read,
        name="r",
        dead_letter=None,
        options={
            "client_id": broker.dead_letter_client_id(c.spec.group, dlq),
            "shared": False,
        },
    )
    async with running(broker, reader):
        await until(lambda: len(letters) == 2)
    by_body = {x.body: x.headers for x in letters}
    rejected, failed = by_body[b"reject"], by_body[b"fail"]
    assert rejected["trace"] == "t1"
    assert rejected[m.DLQ_REASON] == "rejected"
    assert rejected[m.DLQ_SOURCE] == source
    assert rejected[m.DLQ_ATTEMPTS] == "1"
    assert rejected[m.DLQ_CONSUMER] == "c"
    assert failed[m.DLQ_REASON] == "exhausted"
    assert failed[m.DLQ_ATTEMPTS] == "2"
    assert failed[m.DLQ_ERROR_TYPE] == "ValueError"
    assert failed[m.DLQ_ERROR_MESSAGE] == "boom 2"
    assert float(failed[m.DLQ_FAILED_AT]) > 0


async def test_release_leaves_message_to_the_session(harness: Harness) -> None:
    source = harness.source("release")
    broker = harness.broker()
    started = asyncio.Event()

    async def stuck(body: bytes, msg: InboundMessage) -> None:
        started.set()
        await asyncio.sleep(60)

    c = make_consumer(harness, broker, source, stuck, concurrency=1)
    async with running(broker, c, drain=0.2) as app:
        await broker.publish(source, b"held")
        await asyncio.wait_for(started.wait(), 5)
    assert app.forced and c.stats.released == 1 and c.stats.acked == 0

    got: list[InboundMessage] = []

    async def record(body: bytes, msg: InboundMessage) -> None:
        got.append(msg)

    c2 = make_consumer(harness, broker, source, record, group=c.spec.group)
    async with running(broker, c2):
        await until(lambda: len(got) == 1)
    assert got[0].body == b"held"
    assert got[0].position["dup"] is True  # MQTT's only hint; no count


async def test_unsettleable_messages_filling_the_window_make_the_consumer_not_ready(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Released after a failed settle, they are tried again without a reconnect; while
    they hold every in-flight slot nothing else comes, and the consumer says so."""
    source = harness.source("window")
    broker = harness.broker()
    seen: list[bytes] = []

    async def handle(body: bytes, msg: InboundMessage) -> None:
        seen.append(body)
        if body.startswith(b"poison"):
            raise ValueError("poison")

    async def refused(msg: InboundMessage, headers: Any) -> None:
        raise BrokerError("the dead-letter destination refused the message (test)")

    c = make_consumer(
        harness,
        broker,
        source,
        handle,
        concurrency=2,
        retry=RetryPolicy(max_attempts=1),
        options={"receive_maximum": 2},
    )
    async with running(broker, c, drain=0.5):
        monkeypatch.setattr(c._sub, "dead_letter", refused)
        await broker.publish(source, b"poison-1")
        await broker.publish(source, b"poison-2")
        await until(lambda: c.stats.settle_failures >= 2, 10, "two failures")
        await broker.publish(source, b"good")
        await until(lambda: not c.ready, 20, "not ready")
        for _ in range(20):  # and it stays so: no empty fetch resets the count
            await asyncio.sleep(0.1)
            assert not c.ready
        assert seen.count(b"poison-1") >= 3 and seen.count(b"poison-2") >= 3
        assert b"good" not in seen and c.stats.dead_lettered == 0
        monkeypatch.undo()
        await until(lambda: b"good" in seen and c.ready, 30, "the good one")
        assert c.stats.dead_lettered == 2 and c.stats.acked == 1


async def test_buffer_is_bounded_although_mosquitto_overshoots(
    harness: Harness,
) -> None:
    """Mosquitto 2.0 sends past Receive Maximum after PUBACKs; reading pauses."""
    source = harness.source("bound")
    broker = harness.broker()
    await broker.connect()
    spec = SubscriptionSpec(
        consumer="b",
        source=source,
        group=unique("g"),
        concurrency=2,
        options={**harness.consumer_options(), "buffer": 6},
    )
    sub = await broker.subscribe(spec)
    try:
        for i in range(60):
            await broker.publish(source, b"%d" % i)
        await asyncio.sleep(0.3)
        assert len(sub._buffer) == 2  # Receive Maximum = concurrency holds at first
        first = await sub.fetch(2, 1.0)
        for msg in first:
            await sub.ack(msg)
        await asyncio.sleep(0.5)
        assert 2 < len(sub._buffer) <= 6  # the overshoot, capped by the buffer
        bodies = [int(x.body) for x in first]
        while len(bodies) < 60:
            batch = await sub.fetch(5, 2.0)
            assert batch, "the paused reader did not resume"
            assert len(sub._buffer) <= 6
            for msg in batch:
                bodies.append(int(msg.body))
                await sub.ack(msg)
        assert sorted(bodies) == list(range(60))
    finally:
        await sub.close()
        await broker.close()


async def test_replicas_compete_through_a_shared_subscription(
    harness: Harness,
) -> None:
    source = harness.source("shared")
    group = unique("g")
    a, b = harness.broker("a"), harness.broker("b")
    seen: dict[str, list[bytes]] = {"a": [], "b": []}

    def recorder(who: str) -> Handler:
        async def handle(body: bytes, msg: InboundMessage) -> None:
            seen[who].append(body)
            await asyncio.sleep(0.005)

        return handle

    ca = make_consumer(harness, a, source, recorder("a"), name="a", group=group)
    cb = make_consumer(harness, b, source, recorder("b"), name="b", group=group)
    async with running(a, ca), running(b, cb):
        assert ca._sub is not None and cb._sub is not None
        ids = {ca._sub.client_id, cb._sub.client_id}  # type: ignore[attr-defined]
        assert len(ids) == 2
        for i in range(40):
            await a.publish(source, b"%d" % i)
        await until(lambda: len(seen["a"]) + len(seen["b"]) == 40)
        await asyncio.sleep(0.2)
    assert seen["a"] and seen["b"]
    assert sorted(int(x) for x in seen["a"] + seen["b"]) == list(range(40))


async def test_server_side_cut_resumes_without_loss(harness: Harness) -> None:
    source = harness.source("cut")
    broker = harness.broker()
    seen: set[bytes] = set()
    slow = asyncio.Event()

    async def handle(body: bytes, msg: InboundMessage) -> None:
        if body.startswith(b"a") and not slow.is_set():
            await asyncio.sleep(0.3)  # some are in flight when the cut comes
        seen.add(body)

    c = make_consumer(harness, broker, source, handle, concurrency=4)
    async with running(broker, c):
        for i in range(10):
            await broker.publish(source, b"a%d" % i)
        await asyncio.sleep(0.1)
        before = c._sub
        await harness.cut_connections()
        slow.set()
        # Published while the consumer is away (it backs off before resubscribing).
        for i in range(20):
            await broker.publish(source, b"b%d" % i)
        await until(lambda: c._sub is not None and c._sub is not before and c.consuming)
        await until(lambda: len(seen) == 30, timeout=15)
    assert seen == {b"a%d" % i for i in range(10)} | {b"b%d" % i for i in range(20)}
    # The cut hit deliveries in flight: their PUBACKs failed and the session
    # redelivered them on the new connection.
    assert c.stats.settle_failures >= 1
    assert c.stats.received == 30 + c.stats.settle_failures


CHILD = """
import asyncio, sys
from svcgen_runtime.application import Application
from svcgen_runtime.consumer import Consumer
from svcgen_runtime.errors import BrokerConnectionError, ConfigurationError
{imports}

async def handle(body, msg):
    print("got", body.decode(), flush=True)
    await asyncio.sleep(3600)

async def main():
    broker = {expr}
    c = Consumer(name="crash", broker=broker, source={source!r}, handler=handle,
                 group={group!r}, concurrency=4, options={options!r})
    app = Application(name="child", brokers=[broker], consumers=[c], handle_signals=False)
    await app.serve()

asyncio.run(main())
"""


async def test_sigkill_mid_handler_redelivers_on_reconnect(harness: Harness) -> None:
    source = harness.source("crash")
    group = unique("g")
    imports, expr = harness.broker_script().rsplit("\n", 1)
    script = CHILD.format(
        imports=imports,
        expr=expr,
        source=source,
        group=group,
        options=dict(harness.consumer_options()),
    )
    broker = harness.broker()
    await broker.connect()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    try:
        await asyncio.sleep(1.5)  # the child connects and subscribes
        for i in range(4):
            await broker.publish(source, b"%d" % i)
        got: set[bytes] = set()
        async with asyncio.timeout(10):
            while len(got) < 4:
                line = await child.stdout.readline()
                assert line, "the child exited early"
                got.add(line.split()[1])
        assert got == {b"0", b"1", b"2", b"3"}
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    # Published while no process holds the session: kept in it.
    for i in range(4, 6):
        await broker.publish(source, b"%d" % i)

    seen: list[InboundMessage] = []

    async def record(body: bytes, msg: InboundMessage) -> None:
        seen.append(msg)

    c = make_consumer(harness, broker, source, record, name="crash", group=group)
    async with running(broker, c):
        await until(lambda: len(seen) == 6)
        await asyncio.sleep(0.3)
    assert sorted(int(x.body) for x in seen) == list(range(6))
    redelivered = [x for x in seen if int(x.body) < 4]
    assert all(x.position["dup"] for x in redelivered)
    assert all(x.delivery_count == 1 for x in seen)  # no attempt property yet


@contextlib.asynccontextmanager
async def private_mosquitto() -> AsyncIterator[
    tuple[int, Callable[[], Awaitable[None]]]
]:
    """A Mosquitto of this test's own (persistence on), so the test may restart it."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        # Mosquitto started as root drops to the user "mosquitto", which must be
        # able to write its database here.
        os.chmod(tmp, 0o777)
        conf = Path(tmp, "mosquitto.conf")
        text = (
            f"listener {port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {tmp}/\n"
        )
        await asyncio.to_thread(conf.write_text, text)
        procs: list[asyncio.subprocess.Process] = []

        async def start() -> None:
            procs.append(
                await asyncio.create_subprocess_exec(
                    exe,
                    "-c",
                    str(conf),
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            )
            await wait_for_port(port=port)

        async def restart() -> None:
            proc = procs[-1]
            proc.send_signal(signal.SIGTERM)  # Mosquitto writes its database on exit
            await proc.wait()
            await start()

        await start()
        try:
            yield port, restart
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                    await proc.wait()


@pytest.mark.parametrize("shared", [False, True])
async def test_broker_restart_keeps_sessions_and_in_flight_messages(
    shared: bool,
) -> None:
    """A restart of a Mosquitto with persistence: the session and its unacked survive.

    Mosquitto 2.0.11 restores plain subscriptions of offline sessions from its
    database, but not shared ones: with ``shared`` the messages published between the
    restart and the consumer's return are not kept (documented in the adapter), so
    that case publishes only once the consumer is back.
    """
    async with private_mosquitto() as (port, restart):
        broker = MqttBroker("r", f"mqtt://127.0.0.1:{port}", keepalive=10)
        source = f"restart/{unique('t')}"
        seen: list[bytes] = []
        hold = asyncio.Event()

        async def handle(body: bytes, msg: InboundMessage) -> None:
            if body.startswith(b"a") and not hold.is_set():
                await asyncio.sleep(0.5)  # in flight while the server goes down
            seen.append(body)

        c = Consumer(
            name="c",
            broker=broker,
            source=source,
            handler=handle,
            group="g",
            concurrency=4,
            options={"session_expiry": 60, "shared": shared},
        )
        async with running(broker, c):
            for i in range(4):
                await broker.publish(source, b"a%d" % i)
            await asyncio.sleep(0.1)
            before = c._sub
            await restart()
            hold.set()
            if shared:
                await until(lambda: c._sub not in (None, before) and c.consuming)
            for i in range(10):
                await broker.publish(source, b"b%d" % i)
            resumed_after_publish = c._sub is None or c._sub is before
            await until(lambda: len(set(seen)) == 14, timeout=15)
        assert set(seen) == {b"a%d" % i for i in range(4)} | {
            b"b%d" % i for i in range(10)
        }
        # The four handled during the outage could not be PUBACKed: redelivered.
        assert c.stats.settle_failures == 4
        assert seen.count(b"a0") == 2
        if not shared:
            assert resumed_after_publish  # the b's waited in the offline session


async def test_unreachable_server_and_unknown_option_fail_in_one_sentence(
    harness: Harness,
) -> None:
    port = free_port()  # nothing listens here once closed
    down = MqttBroker("down", f"mqtt://127.0.0.1:{port}", connect_timeout=2.0)
    with pytest.raises(BrokerConnectionError, match=f"127.0.0.1:{port}"):
        await down.connect()
    broker = harness.broker()
    spec = SubscriptionSpec(
        consumer="c", source=harness.source("opts"), group="g", options={"qos": 2}
    )
    with pytest.raises(ConfigurationError, match="unknown mqtt option"):
        await broker.subscribe(spec)


async def test_live_processes_on_one_host_never_share_a_client_id(
    harness: Harness,
) -> None:
    """Another live process holding ``/0`` makes us take ``/1``; once it dies
    (SIGKILL), ``/0`` is free again, so a restart resumes its session."""
    source = harness.source("ids")
    broker = harness.broker()
    await broker.connect()
    spec = SubscriptionSpec(
        consumer="t",
        source=source,
        group=unique("g"),
        options=dict(harness.consumer_options()),
    )
    zero = broker.client_id(spec.group, source)
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys, time\n"
        "from svcgen_runtime.brokers.mqtt.client_ids import claim_id\n"
        "assert claim_id(sys.argv[1])\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n",
        zero,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 10) == b"held\n"
        sub = await broker.subscribe(spec)
        assert sub.client_id == zero[:-1] + "1"
        await sub.close()
    finally:
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
    sub = await broker.subscribe(spec)
    try:
        assert sub.client_id == zero
    finally:
        await sub.close()
        await broker.close()


class Order(pydantic.BaseModel):
    id: int
    amount: float


async def test_poison_with_a_multi_line_pydantic_error_is_dead_lettered_once(
    harness: Harness,
) -> None:
    # Issue 9: the error text in x-svcgen-error-message has newlines; Mosquitto
    # refused the PUBLISH as malformed UTF-8 and dropped the connection, and the
    # session redelivered the same window for ever (0 dead letters).
    source = harness.source("pydantic")
    broker = harness.broker()
    handled: list[int] = []

    async def handle(order: Order, msg: InboundMessage) -> None:
        handled.append(order.id)

    c: Consumer[Any] = make_consumer(harness, broker, source, handle)  # type: ignore[arg-type]
    c.decode = Order.model_validate_json
    bodies = [
        b'{"amount": "lots"}' if i % 10 == 0 else b'{"id": %d, "amount": 1}' % i
        for i in range(100)
    ]
    async with running(broker, c):
        for body in bodies:
            await broker.publish(source, body)
        await until(lambda: c.stats.acked + c.stats.dead_lettered == 100, timeout=20)
        await asyncio.sleep(0.5)  # nothing comes back
    assert c.stats.dead_lettered == 10
    assert c.stats.settle_failures == 0
    assert c.stats.received == 100
    assert sorted(handled) == [i for i in range(100) if i % 10]


async def test_a_wildcard_source_retries_and_dead_letters(harness: Harness) -> None:
    # No message can be sent to a topic name with '+' in it: the retry topic and the
    # dead-letter topic that svcgen generates for `devices/+/telemetry` spell the
    # wildcard %2B. Before, every retry and dead letter of such a consumer failed.
    base = harness.source("wild")
    source = f"{base}/+/t"
    dlq = f"{base}/%2B/t.dlq"  # what the generator writes for it (golden `mqtt`)
    broker = harness.broker()
    runs: dict[bytes, int] = {}

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        runs[body] = msg.delivery_count
        if body == b"reject":
            return Nack(requeue=False)
        return Retry(after=0.05) if msg.delivery_count == 1 else Ack()

    c = make_consumer(harness, broker, source, handle, group="g-wild", dead_letter=dlq)
    async with running(broker, c):
        await broker.publish(f"{base}/a/t", b"retry")
        await broker.publish(f"{base}/b/t", b"reject")
        await until(lambda: c.stats.acked == 1 and c.stats.dead_lettered == 1)
    assert runs == {b"retry": 2, b"reject": 1}
    assert c.stats.retried == 1
    assert c.stats.settle_failures == 0


async def test_concurrent_subscribes_declare_the_dead_letter_session_once(
    harness: Harness,
) -> None:
    """Two consumers of one group and one dead-letter topic start together (the
    Application subscribes concurrently): the dead-letter session is opened once,
    never by two connections at a time (the server would drop one of them)."""
    source = harness.source("dl-once")
    dlq = f"{source}.dlq"
    opened: list[tuple[str, str]] = []
    inside = 0
    most = 0

    class Counting(MqttBroker):
        async def _declare_once(self, group: str, topic: str, expiry: int) -> None:
            nonlocal inside, most
            inside += 1
            most = max(most, inside)
            try:
                if (group, topic) not in self._declared:
                    opened.append((group, topic))
                await super()._declare_once(group, topic, expiry)
            finally:
                inside -= 1

    plain = harness.broker()
    broker = Counting(
        plain.name, URL, keepalive=10, session_expiry=plain.session_expiry
    )

    async def handle(body: bytes, msg: InboundMessage) -> Outcome:
        return Nack(requeue=False)

    one = make_consumer(harness, broker, source, handle, name="one", group="g-once")
    two = make_consumer(harness, broker, source, handle, name="two", group="g-once")
    async with running(broker, one, two):
        assert one.ready and two.ready
        await broker.publish(source, b"bad")
        await until(lambda: one.stats.dead_lettered + two.stats.dead_lettered == 1)
    assert most == 1, "two declares of one dead-letter session ran at once"
    assert opened == [("g-once", dlq)]
