"""Client ids and persistent sessions: which ids this process and host hold.

A consumer's client id names its persistent session on the server. Within a host, an
id is held by one live process at a time (a ``flock`` in the temp dir, dropped by the
kernel when the process dies), so a restarted process resumes its predecessor's session
and two live processes never share one. This module also remembers the ids another
connection took over (the next subscribe picks another), the sessions this process
created (tests delete them with ``clear_session``) and the ones it already had on a
server (a resume that finds none is worth a warning).
"""

from __future__ import annotations

import hashlib
import os
import tempfile

from .link import Link, Server

try:
    import fcntl
except ImportError:  # Windows: client ids are then unique per process only
    fcntl = None  # type: ignore[assignment]

in_use: dict[str, int | None] = {}
"""Client ids of live subscriptions in this process, with their host-wide lock."""
taken: set[str] = set()
"""Client ids another connection took over; the next subscribe picks another."""
sessions: set[str] = set()
"""Every persistent session id this process created (tests clean them up)."""
resumed: set[tuple[str, int, str]] = set()
"""(host, port, client id) of sessions this process already had on that server."""


def claim_id(cid: str) -> bool:
    """Take the host-wide lock of ``cid``; False when another live process holds it.

    The lock is a ``flock`` on a file named after the id, so the kernel drops it when
    its process dies, SIGKILL included: a restarted process gets the lowest free id
    again and resumes its predecessor's session, while two live processes on one host
    never share an id (Mosquitto would disconnect one for the other, back and forth).
    """
    if fcntl is None:
        in_use[cid] = None
        return True
    name = hashlib.sha256(cid.encode()).hexdigest()[:32]
    try:
        directory = os.path.join(tempfile.gettempdir(), "svcgen-mqtt")
        os.makedirs(directory, exist_ok=True)
        fd = os.open(os.path.join(directory, name), os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError:
        in_use[cid] = None  # cannot coordinate through the disk: per process only
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    in_use[cid] = fd
    return True


def release_id(cid: str) -> None:
    """Give up ``cid``: this process no longer uses it."""
    fd = in_use.pop(cid, None)
    if fd is not None:
        os.close(fd)


async def clear_session(url: str, client_id: str, timeout: float = 5.0) -> None:
    """Delete the server's session of ``client_id`` (connect clean, then disconnect)."""
    link = Link(Server.parse(url), client_id)
    await link.open(clean_start=True, timeout=timeout)
    await link.close()
    sessions.discard(client_id)
