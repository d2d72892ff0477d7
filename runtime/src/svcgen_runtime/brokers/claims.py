"""Host-wide claims on names, and this replica's name.

Some names must be held by one live process at a time on a host: an MQTT client id
(its persistent session), a Kafka static member's instance id. A claim is a ``flock``
on a file in the temp dir named after the name, so the kernel drops it when its
process dies, SIGKILL included: a restarted process claims the lowest free name
again and so takes its predecessor's, while two live processes never share one.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
from collections.abc import Callable

try:
    import fcntl
except ImportError:  # Windows: names are then unique per process only
    fcntl = None  # type: ignore[assignment]

REPLICA_VARIABLE = "SVCGEN_REPLICA_NAME"
"""The environment variable that names this replica (default: the host's name)."""

in_use: dict[str, int | None] = {}
"""Names this process holds, with their host-wide lock (None: not coordinated)."""


def replica_name() -> str:
    """This replica's name, stable across its restarts: ``$SVCGEN_REPLICA_NAME``, else
    the host name (in Kubernetes the pod's name, kept by a container restarted in its
    pod, and by a StatefulSet's pod across replacements)."""
    return os.environ.get(REPLICA_VARIABLE, "").strip() or socket.gethostname()


def claim_id(name: str) -> bool:
    """Take the host-wide lock of ``name``; False when another live process holds it."""
    if fcntl is None:
        in_use[name] = None
        return True
    digest = hashlib.sha256(name.encode()).hexdigest()[:32]
    try:
        directory = os.path.join(tempfile.gettempdir(), "svcgen-claims")
        os.makedirs(directory, exist_ok=True)
        fd = os.open(os.path.join(directory, digest), os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError:
        in_use[name] = None  # cannot coordinate through the disk: per process only
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    in_use[name] = fd
    return True


def release_id(name: str) -> None:
    """Give up ``name``: this process no longer uses it."""
    fd = in_use.pop(name, None)
    if fd is not None:
        os.close(fd)


def lowest_free(
    name: Callable[[int], str],
    *,
    key: Callable[[str], str] = str,
    skip: Callable[[str], bool] = lambda _: False,
) -> str:
    """``name(n)`` for the lowest ``n`` whose claim (on ``key(name(n))``) no process
    here holds and that ``skip`` does not refuse, claimed."""
    index = 0
    while True:
        candidate = name(index)
        claim = key(candidate)
        if claim not in in_use and not skip(candidate) and claim_id(claim):
            return candidate
        index += 1
