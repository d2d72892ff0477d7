"""What the dead-letter back ends share beyond the interface: whose dead letters a
place holds (Kafka, NATS, MQTT), picking them by id, and the replay loop.

A dead-letter destination can be shared by several consumers (one topic for a whole
service), so a back end shows, sends back and removes only the dead letters of its
place's consumer (``belongs``); one that no svcgen runtime wrote (no
``x-svcgen-consumer``) is shown to every consumer of the destination.

Every check that can refuse (an unknown id, a dead letter with no address to go back
to) runs before the first send (``chosen``, ``check_targets``), so a refused command
changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import TypeVar

from .. import message as m
from ..errors import ConfigurationError
from . import DeadLetter, DeadLetterNotFound, DeadLetterPlace, Pace

T = TypeVar("T")


def belongs(headers: Mapping[str, str], place: DeadLetterPlace) -> bool:
    """True when a dead letter with ``headers`` is ``place``'s consumer's."""
    consumer = headers.get(m.DLQ_CONSUMER)
    return consumer is None or consumer == place.consumer


def chosen(
    held: Sequence[tuple[DeadLetter, T]], ids: Collection[str] | None, place: str
) -> list[tuple[DeadLetter, T]]:
    """The entries of ``held`` whose letter has one of ``ids`` (None: all), in
    ``held``'s order; ``DeadLetterNotFound`` names the ids that are not there."""
    if ids is None:
        return list(held)
    wanted = set(ids)
    missing = wanted - {letter.id for letter, _ in held}
    if missing:
        raise not_found(missing, place)
    return [(letter, where) for letter, where in held if letter.id in wanted]


def not_found(missing: Iterable[str], place: str) -> DeadLetterNotFound:
    """The error for ids that are not dead letters in destination ``place``."""
    return DeadLetterNotFound(
        f"no dead letter with id {', '.join(sorted(missing))} in {place!r}: run "
        "`svcgen dlq list` for the ids there are (a replayed or purged one is gone)"
    )


def check_targets(
    letters: Iterable[DeadLetter],
    place: DeadLetterPlace,
    wildcard: Callable[[str], bool],
) -> None:
    """Refuse, before anything is sent, a dead letter whose way back is a
    subscription filter (a wildcard source): a message cannot be sent to one."""
    for letter in letters:
        target = letter.target(place)
        if wildcard(target):
            raise ConfigurationError(
                f"dead letter {letter.id} came from the wildcard source {target!r}, "
                "which nothing can be sent to: replay it by hand to the address it "
                "was published to"
            )


async def replay_each(
    entries: Sequence[tuple[DeadLetter, T]],
    *,
    rate: float | None,
    send: Callable[[DeadLetter, T], Awaitable[None]],
    remove: Callable[[DeadLetter, T], Awaitable[None]],
    sent: Callable[[DeadLetter], None] | None,
) -> int:
    """Send each entry's letter (``send`` returns once the broker confirmed it),
    then ``remove`` it, at most ``rate`` a second; return how many went.

    Interrupted anywhere, at most the one letter sent and not yet removed is sent
    again by the next run.
    """
    pace = Pace(rate)
    count = 0
    for letter, where in entries:
        await pace.wait()
        await send(letter, where)
        await remove(letter, where)
        count += 1
        if sent is not None:
            sent(letter)
    return count
