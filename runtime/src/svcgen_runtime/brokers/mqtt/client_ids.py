"""Client ids and persistent sessions: which ids this process and host hold.

A consumer's client id names its persistent session on the server. Within a host, an
id is held by one live process at a time (``claims``: a ``flock`` the kernel drops when
the process dies), so a restarted process resumes its predecessor's session and two
live processes never share one (Mosquitto would disconnect one for the other). This module also remembers the ids another
connection took over (the next subscribe picks another), the sessions this process
created (tests delete them with ``clear_session``) and the ones it already had on a
server (a resume that finds none is worth a warning).
"""

from __future__ import annotations

from ..claims import claim_id, in_use, release_id
from .link import Link, Server

__all__ = [
    "claim_id",
    "clear_session",
    "in_use",
    "release_id",
    "resumed",
    "sessions",
    "taken",
]

taken: set[str] = set()
"""Client ids another connection took over; the next subscribe picks another."""
sessions: set[str] = set()
"""Every persistent session id this process created (tests clean them up)."""
resumed: set[tuple[str, int, str]] = set()
"""(host, port, client id) of sessions this process already had on that server."""


async def clear_session(url: str, client_id: str, timeout: float = 5.0) -> None:
    """Delete the server's session of ``client_id`` (connect clean, then disconnect)."""
    link = Link(Server.parse(url), client_id)
    await link.open(clean_start=True, timeout=timeout)
    await link.close()
    sessions.discard(client_id)
