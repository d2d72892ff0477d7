"""NATS JetStream dead letters: the messages on the dead-letter subject's stream.

The runtime publishes a dead letter to the consumer's ``dead_letter`` subject through
JetStream (PubAck awaited), into the stream that stores that subject (the
``dead_letter_stream`` option, else the stream found by subject, which the adapter
creates as ``<subject with _ for .>``). Ids are stream sequences.

* ``list`` reads the stream by sequence with ``STREAM.MSG.GET`` (next message on the
  subject from a sequence): no consumer is created and nothing changes; it stops at
  the stream's last sequence when the command began.
* ``replay`` publishes each to its source through JetStream, waits for the PubAck,
  then deletes that sequence from the dead-letter stream. The copy carries
  ``Nats-Msg-Id: svcgen-replay:<stream>:<sequence>``: a replay interrupted after the
  publish and run again within the source stream's duplicate window (two minutes by
  default) is stored once; later, at most that one message arrives twice.
* ``purge`` deletes the selected sequences; all of them with one subject purge (up
  to the last sequence read) when every message there is this consumer's.

Messages of other consumers sharing the subject (``x-svcgen-consumer`` naming
another) are neither shown nor sent nor purged.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Final

from ..errors import require

require("nats", "nats")

import nats.js.errors  # noqa: E402
from nats.js.client import JetStreamContext  # noqa: E402

from ..brokers.nats.connection import NatsConnection  # noqa: E402
from ..brokers.nats.failures import translated  # noqa: E402
from ..message import KEY_HEADER  # noqa: E402
from . import DeadLetter, DeadLetterPlace, replay_headers  # noqa: E402
from .shared import belongs, check_targets, chosen, replay_each  # noqa: E402

MSG_ID: Final = "Nats-Msg-Id"
REPLAY_ID: Final = "svcgen-replay:{stream}:{seq}"

Held = list[tuple[DeadLetter, int]]
"""Dead letters with their stream sequences, oldest first."""


class NatsDeadLetters:
    """One consumer's dead letters in a JetStream stream (see the module)."""

    def __init__(
        self, connection: NatsConnection, place: DeadLetterPlace, stream: str | None
    ) -> None:
        self._connection = connection
        self._place = place
        self.stream = stream
        self._only_ours = True
        """Whether the last scan met only this consumer's dead letters."""

    async def list(self, limit: int | None = None) -> list[DeadLetter]:
        held, _ = await self._scan(limit)
        return [letter for letter, _ in held]

    async def replay(
        self,
        ids: Collection[str] | None,
        *,
        rate: float | None = None,
        sent: Callable[[DeadLetter], None] | None = None,
    ) -> int:
        held, _ = await self._scan(None)
        entries = chosen(held, ids, self._place.dead_letter)
        check_targets((letter for letter, _ in entries), self._place, _wildcard)

        async def send(letter: DeadLetter, seq: int) -> None:
            headers = {
                name: value
                for name, value in replay_headers(
                    letter, group=self._place.group
                ).items()
                if not name.lower().startswith("nats-")
            }
            headers[MSG_ID] = REPLAY_ID.format(stream=self.stream, seq=seq)
            await self._connection._publish(
                letter.target(self._place), letter.body, headers, letter.key
            )

        async def remove(letter: DeadLetter, seq: int) -> None:
            await self._delete(seq)

        return await replay_each(
            entries, rate=rate, send=send, remove=remove, sent=sent
        )

    async def purge(self, ids: Collection[str] | None) -> int:
        held, last = await self._scan(None)
        entries = chosen(held, ids, self._place.dead_letter)
        if ids is None and last and self._only_ours:
            _, js = await self._connection._ready()
            with translated(f"purging {self._place.dead_letter!r} from {self.stream}"):
                await js.purge_stream(
                    self._stream(), seq=last + 1, subject=self._place.dead_letter
                )
            return len(entries)
        for _, seq in entries:
            await self._delete(seq)
        return len(entries)

    async def close(self) -> None:
        await self._connection.close()

    # -- reading and deleting ------------------------------------------------------

    def _stream(self) -> str:
        assert self.stream is not None
        return self.stream

    async def _scan(self, limit: int | None) -> tuple[Held, int]:
        """This consumer's dead letters (at most ``limit``) with their sequences,
        and the last sequence of the stream when the scan began (0: none)."""
        self._only_ours = True
        if self.stream is None:
            return [], 0
        _, js = await self._connection._ready()
        subject = self._place.dead_letter
        held: Held = []
        with translated(f"reading {subject!r} from stream {self.stream}"):
            state = (await js.stream_info(self.stream)).state
            last, seq = state.last_seq, max(state.first_seq, 1)
            while seq <= last and (limit is None or len(held) < limit):
                raw = await _next(js, self.stream, seq, subject)
                if raw is None or raw.seq is None or raw.seq > last:
                    break
                seq = raw.seq + 1
                headers = dict(raw.headers or {})
                if not belongs(headers, self._place):
                    self._only_ours = False
                    continue
                key = headers.pop(KEY_HEADER, None)
                letter = DeadLetter(str(raw.seq), raw.data or b"", headers, key)
                held.append((letter, raw.seq))
        return held, last

    async def _delete(self, seq: int) -> None:
        _, js = await self._connection._ready()
        try:
            with translated(f"deleting dead letter {seq} from {self.stream}"):
                await js.delete_msg(self._stream(), seq)
        except Exception as exc:
            if not _gone(exc.__cause__):
                raise


async def _next(
    js: JetStreamContext, stream: str, seq: int, subject: str
) -> nats.js.api.RawStreamMsg | None:
    """The first message on ``subject`` at or after ``seq``; None past the last."""
    try:
        return await js.get_msg(stream, seq=seq, subject=subject, next=True)
    except nats.js.errors.NotFoundError:
        return None


def _gone(exc: BaseException | None) -> bool:
    """The message was deleted already (another run, or a purge): done all the same."""
    return (
        isinstance(exc, nats.js.errors.APIError)
        and "no message found" in (exc.description or "")
    ) or isinstance(exc, nats.js.errors.NotFoundError)


def _wildcard(subject: str) -> bool:
    return any(token in ("*", ">") for token in subject.split("."))


async def open_queue(url: str, place: DeadLetterPlace) -> NatsDeadLetters:
    """The dead letters of ``place`` on the NATS server at ``url``."""
    connection = NatsConnection("dlq", url)
    try:
        _, js = await connection._ready()
        with translated(f"finding the stream of {place.dead_letter!r}"):
            stream = await connection._existing_stream(
                js, place.dead_letter, place.options.get("dead_letter_stream")
            )
    except BaseException:
        await connection.close()
        raise
    return NatsDeadLetters(connection, place, stream)


__all__ = ["NatsDeadLetters", "open_queue"]
