"""Kafka static membership (``membership: static``) against the real server (Tansu on
127.0.0.1:9092): members join under ``<replica name>-<n>`` instance ids, distinct per
process on a host; a closed subscription leaves its groups (aiokafka sends no
LeaveGroup for a static member; the adapter sends v3, which names the instance), so
its partitions go to the others at once and not when the session expires; a stopped
member's number is free for the next. The crash side (a SIGKILLed replica whose
replacement takes back its partitions within the session) is in ``tests/replicas``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from typing import Any

import pytest
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.protocol.group import HeartbeatRequest

from svcgen_runtime.brokers.kafka import KafkaBroker, KafkaSubscription
from svcgen_runtime.brokers.kafka.membership import (
    claim_instance,
    legal,
    release_instance,
)
from svcgen_runtime.errors import ConfigurationError
from tests.brokers.test_options_kafka import harness, spec
from tests.contract.harness_kafka import SESSION_TIMEOUT_MS, URL, Harness

__all__ = ["harness"]  # the fixture, shared with the other option tests

REBALANCE: float = 45.0
"""How long a rebalance of static members may take here before a test gives up. With
another Kafka test run going on beside it, the survivor of a leave had both partitions
8.05 s after it (three runs): its next heartbeat (a third of the 6 s session) finds
it unknown, and Tansu pauses a static member's join and its sync 3 s each. With two
whole test suites sharing the machine and the broker it took longer than 12 s once and
longer than 18 s once; this is a guard against a hang, not a timing claim (the timing
claims are the replica tests' recovery figures)."""


async def members(broker: KafkaBroker, group: str) -> int:
    """How many members the coordinator lists in ``group`` (DescribeGroups)."""
    admin = await broker._admin_client()
    (response,) = await admin.describe_consumer_groups([group])
    (described,) = response.to_object()["groups"]
    return len(described["members"])


def ids(sub: KafkaSubscription) -> list[str]:
    """The instance ids the subscription's two members joined under."""
    return [c._group_instance_id for c in sub._consumers]


def heartbeats(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """From now on, the ids of the group coordinators (one per aiokafka consumer)
    whose heartbeat the broker answered without an error (``_do_heartbeat`` also
    returns True for REBALANCE_IN_PROGRESS, so the answers are read here)."""
    answered: set[int] = set()
    original = GroupCoordinator._send_req

    async def noted(self: GroupCoordinator, request: Any) -> Any:
        response = await original(self, request)
        if isinstance(request, HeartbeatRequest) and response.error_code == 0:
            answered.add(id(self))
        return response

    monkeypatch.setattr(GroupCoordinator, "_send_req", noted)
    return answered


async def heartbeated(answered: set[int], *subs: KafkaSubscription) -> None:
    """Until each member of ``subs`` has had a heartbeat answered.

    Tansu 0.6 counts only heartbeats as a member's contact, not its join or sync,
    and pauses a static member's join and sync 3 s each: a member whose first
    heartbeat has not come yet is past the 6 s session when another member leaves,
    is dropped with it, and the group is left to re-form under the member that
    left as its leader, whose assignment never comes (its SyncGroup answers
    REBALANCE_IN_PROGRESS for good). Apache Kafka counts the join and the sync.
    """
    coordinators = [c._coordinator for sub in subs for c in sub._consumers]
    deadline = time.monotonic() + REBALANCE
    while not all(id(c) in answered for c in coordinators):
        assert time.monotonic() < deadline, "a member never had a heartbeat answered"
        await asyncio.sleep(0.05)


@pytest.mark.broker
@pytest.mark.slow
async def test_static_members_are_named_after_the_replica_and_leave_when_closed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SVCGEN_REPLICA_NAME", "pod a")  # the space is not legal
    answered = heartbeats(monkeypatch)
    source = harness.source("static")
    broker = KafkaBroker(
        "k",
        URL,
        partitions=2,
        session_timeout_ms=SESSION_TIMEOUT_MS,
        membership="static",
    )
    try:
        first, second = await asyncio.gather(
            broker.subscribe(spec(source, source)),
            broker.subscribe(spec(source, source)),
        )
        try:
            # two members of one process on one host: two numbers, in both groups
            assert sorted([ids(first), ids(second)]) == [
                ["pod_a-0", "pod_a-0"],
                ["pod_a-1", "pod_a-1"],
            ]
            assert await members(broker, source) == 2
            assert await members(broker, f"{source}.retry") == 2
            await heartbeated(answered, first, second)  # see heartbeated()
            await first.close()
            # left at once: right after the close the coordinator no longer lists
            # two members (without the leave it would until the session expired;
            # Tansu lists none while the group re-forms, Apache Kafka the other one)
            assert await members(broker, source) < 2
            assert await members(broker, f"{source}.retry") < 2
            # and the one left is handed both partitions by the rebalance that follows
            deadline = time.monotonic() + REBALANCE
            while len(second._consumers[0].assignment()) < 2:
                assert time.monotonic() < deadline, "the survivor never got both"
                await asyncio.sleep(0.1)
        finally:
            await second.close()
        assert await members(broker, source) == 0
    finally:
        await broker.close()


@pytest.mark.broker
async def test_an_unknown_membership_is_refused_before_anything_joins(
    harness: Harness,
) -> None:
    broker = KafkaBroker("k", URL)
    try:
        with pytest.raises(ConfigurationError, match="membership 'sticky' is not one"):
            await broker.subscribe(
                spec(harness.source("static-bad"), "static-bad-g", membership="sticky")
            )
    finally:
        await broker.close()


def test_instance_ids_are_claimed_lowest_first_and_freed_when_released() -> None:
    group = f"claims-{time.time_ns()}"
    a = claim_instance(group, "web-7")
    b = claim_instance(group, "web-7")
    assert (a, b) == ("web-7-0", "web-7-1")
    release_instance(group, a)
    assert claim_instance(group, "web-7") == "web-7-0"
    assert claim_instance(f"{group}.other", "web-7") == "web-7-0"  # per group
    for g, iid in (
        (group, "web-7-0"),
        (group, "web-7-1"),
        (f"{group}.other", "web-7-0"),
    ):
        release_instance(g, iid)


def test_an_id_another_live_process_holds_is_skipped() -> None:
    group = f"claims-{time.time_ns()}"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from svcgen_runtime.brokers.kafka.membership import claim_instance\n"
            "print(claim_instance(sys.argv[1], 'web'), flush=True)\n"
            "sys.stdin.read()\n",
            group,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "web-0"
        mine = claim_instance(group, "web")
        assert mine == "web-1"
        release_instance(group, mine)
    finally:
        holder.kill()
        holder.communicate()  # waits, and closes the pipes
    # killed, its claim is gone with it (the kernel drops the lock)
    again = claim_instance(group, "web")
    assert again == "web-0"
    release_instance(group, again)


def test_ids_are_made_legal_for_kafka() -> None:
    assert legal("pod-1.svc_x") == "pod-1.svc_x"
    assert legal("pod/1 ü") == "pod_1__"
    long = legal("x" * 300)
    assert len(long) == 249
    assert long != legal("x" * 301)


CHILD = """
import asyncio, os, sys
from svcgen_runtime.brokers.base import SubscriptionSpec
from svcgen_runtime.brokers.kafka import KafkaBroker

async def main():
    broker = KafkaBroker("child", sys.argv[1], partitions=2,
                         session_timeout_ms=int(sys.argv[3]), membership="static")
    await broker.subscribe(SubscriptionSpec(consumer="child", source=sys.argv[2],
                                            group=sys.argv[2]))
    print("joined", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@pytest.mark.broker
@pytest.mark.slow
async def test_a_killed_static_member_with_no_replacement_expires_with_its_session(
    harness: Harness,
) -> None:
    source = harness.source("static-dead")
    broker = KafkaBroker(
        "k",
        URL,
        partitions=2,
        session_timeout_ms=SESSION_TIMEOUT_MS,
        membership="static",
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        URL,
        source,
        str(SESSION_TIMEOUT_MS),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "SVCGEN_REPLICA_NAME": "the-child"},
    )
    try:
        sub = await broker.subscribe(spec(source, source))
        try:
            assert child.stdout is not None
            joined = await asyncio.wait_for(child.stdout.readline(), 60)
            assert joined.strip() == b"joined"
            held = sub._consumers[0].assignment
            deadline = time.monotonic() + REBALANCE
            while len(held()) != 1:  # one partition each
                assert time.monotonic() < deadline, f"never split: {held()}"
                await asyncio.sleep(0.1)
            child.kill()
            await child.wait()
            killed_at = time.monotonic()
            # no LeaveGroup came: the partition moves once the session has expired
            # and the group has rebalanced, as a dynamic member's does
            while len(held()) < 2:
                waited = time.monotonic() - killed_at
                assert waited < SESSION_TIMEOUT_MS / 1000 + REBALANCE, "never moved"
                await asyncio.sleep(0.1)
            assert time.monotonic() - killed_at > SESSION_TIMEOUT_MS / 1000 * 0.5
        finally:
            await sub.close()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        await broker.close()
