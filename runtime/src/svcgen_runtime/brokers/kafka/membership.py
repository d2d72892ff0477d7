"""Static group membership (KIP-345): a replica's stable instance id, and its leave.

With ``membership: static`` each consumer joins its group with a ``group.instance.id``
that stays the same across restarts of one replica: ``<replica>-<n>``, the replica's
name (``SVCGEN_REPLICA_NAME``, else the host name: a pod's name in Kubernetes, which a
container restarted in its pod keeps, and a StatefulSet's pod keeps across
replacements) and ``n`` the lowest number no live process on this host holds for the
group (so the processes of one replica, ``SVCGEN_WORKERS``, have distinct ids and a
restarted one takes its predecessor's). When a replica is killed, its replacement
joins under the same id and the coordinator hands it the dead member's partitions at
once, instead of waiting for the session to expire and then rebalancing.

aiokafka sends no LeaveGroup for a static member when it stops (the Java client's
default too: a rolling restart then moves no partitions). svcgen sends one (LeaveGroup
v3, which names the instance): a replica stopped on SIGTERM gives its partitions to the
others at once, as a dynamic member does, since nothing says a replacement with the same
name is coming (a Deployment's rollout, a scale-down). A broker without LeaveGroup v3
(Kafka < 2.4) gets none: the partitions then wait for the session to expire.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any, Final

from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.errors import KafkaError
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Int16, Int32, Schema, String

from ..claims import lowest_free, release_id, replica_name

log = logging.getLogger(__package__)

CHOICES: Final = ("dynamic", "static")
"""The values of the ``membership`` option."""

UNKNOWN_MEMBER_ID: Final = 25
"""A leave's error code when the coordinator no longer counts the member: gone already."""

_ILLEGAL: Final = re.compile(r"[^A-Za-z0-9._-]")
_MOST: Final = 249
"""Kafka's longest group instance id; its characters are ``[A-Za-z0-9._-]``."""


def legal(text: str) -> str:
    """``text`` as a legal group instance id: other characters become ``_`` and a
    text longer than Kafka allows keeps its start and ends with a hash of the whole."""
    clean = _ILLEGAL.sub("_", text)
    if len(clean) <= _MOST:
        return clean
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{clean[: _MOST - 17]}-{digest}"


def claim_instance(group: str, replica: str | None = None) -> str:
    """The lowest-numbered instance id of this replica in ``group`` that no live
    process on this host holds, claimed until ``release_instance``."""
    name = replica or replica_name()
    return lowest_free(
        lambda n: legal(f"{name}-{n}"), key=lambda iid: f"kafka/{group}/{iid}"
    )


def release_instance(group: str, instance_id: str) -> None:
    release_id(f"kafka/{group}/{instance_id}")


class _LeaveGroupResponse_v3(Response):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        (
            "members",
            Array(
                ("member_id", String("utf-8")),
                ("group_instance_id", String("utf-8")),
                ("error_code", Int16),
            ),
        ),
    )


class _LeaveGroupRequest_v3(RequestStruct):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    RESPONSE_TYPE = _LeaveGroupResponse_v3
    SCHEMA = Schema(
        ("group", String("utf-8")),
        (
            "members",
            Array(
                ("member_id", String("utf-8")), ("group_instance_id", String("utf-8"))
            ),
        ),
    )


class _StaticLeave(Request[_LeaveGroupRequest_v3]):  # type: ignore[misc]
    API_KEY = 13

    def __init__(self, group: str, member_id: str, instance_id: str) -> None:
        self._group = group
        self._member = (member_id, instance_id)

    def build(
        self, request_struct_class: type[_LeaveGroupRequest_v3]
    ) -> _LeaveGroupRequest_v3:
        return request_struct_class(self._group, [self._member])


def leave_when_stopped(coordinator: GroupCoordinator, instance_id: str) -> None:
    """Make ``coordinator`` send a LeaveGroup naming ``instance_id`` when its consumer
    stops (aiokafka's own sends none for a static member)."""

    async def leave() -> None:
        if coordinator.member_id:  # a member (Tansu's first generation is 0)
            request = _StaticLeave(
                coordinator.group_id, coordinator.member_id, instance_id
            )
            try:
                response: Any = await coordinator._send_req(request)
            except (KafkaError, NotImplementedError) as exc:
                log.warning(
                    "kafka group %s: leaving as %s failed (%s: %s); its partitions "
                    "move when the session expires",
                    coordinator.group_id,
                    instance_id,
                    type(exc).__name__,
                    exc,
                )
            else:
                codes = [response.error_code, *(m[2] for m in response.members)]
                if any(code not in (0, UNKNOWN_MEMBER_ID) for code in codes):
                    log.warning(
                        "kafka group %s: leaving as %s was refused (error codes %s); "
                        "its partitions move when the session expires",
                        coordinator.group_id,
                        instance_id,
                        codes,
                    )
        coordinator.reset_generation()

    coordinator._maybe_leave_group = leave
