"""``svcgen dlq``: a consumer's dead letters on its real broker, from the command line.

``list``, ``show``, ``replay`` and ``purge`` read the service's ``service.yaml`` (and
the environment, as the service does) to find the broker, the dead-letter
destination and the source; ``dlq`` does the work through
``svcgen_runtime.deadletters``. Exit status: 0 ok, 2 bad input (the message says
what to change), 3 the broker could not be reached or failed mid-way (run again:
nothing unconfirmed was removed).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli_base import dir_option, wrapped

if TYPE_CHECKING:
    from svcgen_runtime.deadletters import DeadLetter, DeadLetterPlace

    from .dlq import Target

DEFAULT_RATE = 100.0
"""Dead letters a replay sends a second unless ``--rate`` says otherwise."""

consumer_argument = click.argument("consumer")


def _target(root: Path, consumer: str) -> Target:
    from .dlq import locate

    return locate(root, consumer, os.environ)


def _selection(ids: Sequence[str], everything: bool, verb: str) -> list[str] | None:
    """The ids given, or None for ``--all``; neither or both is bad input."""
    from .dlq import DlqError

    if everything and ids:
        raise DlqError(f"give dead-letter ids or --all to {verb}, not both")
    if not everything and not ids:
        raise DlqError(
            f"name the dead letters to {verb} by id (svcgen dlq list shows them), "
            "or pass --all"
        )
    return None if everything else list(dict.fromkeys(ids))


def _picked(
    letters: Sequence[DeadLetter], ids: Sequence[str], place: DeadLetterPlace
) -> list[DeadLetter]:
    """The ``letters`` with these ids, in their order; an id not among them is bad
    input, named."""
    from .dlq import DlqError
    from .errors import visible

    missing = sorted(set(ids) - {d.id for d in letters})
    if missing:
        raise DlqError(
            f"no dead letter with id {visible(', '.join(missing))} in "
            f"{place.dead_letter!r}: run svcgen dlq list to see the ids"
        )
    return [d for d in letters if d.id in ids]


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(stamp, datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _cell(value: Any) -> str:
    from .errors import visible

    return "-" if value is None else visible(str(value))


def table(letters: Sequence[DeadLetter], width: int) -> list[str]:
    """``list``'s lines: one per dead letter, the error message cut to ``width``."""
    heads = ("ID", "FAILED AT (UTC)", "REASON", "ATTEMPTS", "ERROR TYPE")
    rows = [
        (
            _cell(d.id),
            _when(d.failed_at),
            _cell(d.reason),
            _cell(d.attempts),
            _cell(d.error_type),
        )
        for d in letters
    ]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(heads)]

    def line(cells: Sequence[str], message: str, cut: bool = True) -> str:
        text = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        text += "  "
        room = max(width - len(text), 10)
        if cut and len(message) > room:
            message = message[: room - 1] + "…"
        return text + message

    out = [line(heads, "ERROR MESSAGE", cut=False)]
    out += [line(r, _cell(d.error_message)) for r, d in zip(rows, letters, strict=True)]
    return out


@click.group("dlq")
def dlq() -> None:
    """A consumer's (or task's) dead letters: list, show, replay, purge.

    \b
    The broker URL comes from service.yaml and the environment, as the
    service reads it (set RABBITMQ_URL, REDIS_URL, ... as the service has them).
    """


@dlq.command("list")
@consumer_argument
@click.option(
    "--limit", type=click.IntRange(min=1), help="Show at most N, oldest first."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead.")
@dir_option
@wrapped
def list_(consumer: str, limit: int | None, as_json: bool, root: Path) -> None:
    """List CONSUMER's dead letters, oldest first, none removed.

    \b
    Example:
      svcgen dlq list order_paid --limit 20
    """
    from .dlq import run

    letters = run(_target(root, consumer), lambda q: q.list(limit))
    if as_json:
        click.echo(json.dumps([d.summary() for d in letters], ensure_ascii=False))
        return
    width = shutil.get_terminal_size((120, 24)).columns
    for text in table(letters, width):
        click.echo(text)
    click.echo(f"{len(letters)} dead letter(s)", err=True)


@dlq.command()
@consumer_argument
@click.argument("ident", metavar="ID")
@dir_option
@wrapped
def show(consumer: str, ident: str, root: Path) -> None:
    """Print one dead letter's headers, then its body.

    The body is printed as UTF-8 text when it decodes, else base64; the line
    above it says which.
    """
    from .dlq import run
    from .errors import visible

    target = _target(root, consumer)
    letter = _picked(run(target, lambda q: q.list(None)), [ident], target.place)[0]
    click.echo(f"id: {visible(letter.id)}")
    if letter.key is not None:
        click.echo(f"key: {visible(letter.key)}")
    for name in sorted(letter.headers):
        click.echo(f"{visible(name)}: {visible(letter.headers[name])}")
    try:
        text = letter.body.decode("utf-8")
    except UnicodeDecodeError:
        click.echo(f"body ({len(letter.body)} bytes, base64):")
        click.echo(base64.b64encode(letter.body).decode("ascii"))
    else:
        click.echo(f"body ({len(letter.body)} bytes, utf-8):")
        click.echo(text)


@dlq.command()
@consumer_argument
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "everything", is_flag=True, help="Every dead letter.")
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=DEFAULT_RATE,
    show_default=True,
    help="At most N a second (0: no limit).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be sent; send nothing.")
@dir_option
@wrapped
def replay(
    consumer: str,
    ids: tuple[str, ...],
    everything: bool,
    rate: float,
    dry_run: bool,
    root: Path,
) -> None:
    """Send dead letters back to CONSUMER's source.

    Each goes with its own headers, the attempt count reset and the dead-letter
    headers kept as x-svcgen-replayed-*; it leaves the dead-letter destination
    only after the broker confirmed the send, so an interrupted replay loses
    nothing (run it again; see docs/operations.md#dead-letters).

    \b
    Example:
      svcgen dlq replay order_paid --all --rate 50
    """
    from .dlq import run
    from .errors import visible

    chosen = _selection(ids, everything, "replay")
    target = _target(root, consumer)
    place = target.place
    if dry_run:
        letters = run(target, lambda q: q.list(None))
        if chosen is not None:
            letters = _picked(letters, chosen, place)
        for d in letters:
            click.echo(f"would send {visible(d.id)} to {visible(d.target(place))}")
        click.echo(f"dry run: {len(letters)} dead letter(s) would be replayed")
        return

    def sent(letter: DeadLetter) -> None:
        click.echo(f"sent {visible(letter.id)} to {visible(letter.target(place))}")

    count = run(target, lambda q: q.replay(chosen, rate=rate or None, sent=sent))
    click.echo(
        f"replayed {count} dead letter(s) of {consumer} from {place.dead_letter} "
        f"to {place.source}"
    )


@dlq.command()
@consumer_argument
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "everything", is_flag=True, help="Every dead letter.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@dir_option
@wrapped
def purge(
    consumer: str, ids: tuple[str, ...], everything: bool, yes: bool, root: Path
) -> None:
    """Remove dead letters for good (asks first unless --yes).

    \b
    Example:
      svcgen dlq purge order_paid 1733270400000-0 --yes
    """
    from .dlq import DlqError, run

    chosen = _selection(ids, everything, "purge")
    target = _target(root, consumer)
    what = "every dead letter" if chosen is None else f"{len(chosen)} dead letter(s)"
    where = f"{target.place.dead_letter!r}"
    if not yes:
        if not sys.stdin.isatty():
            raise DlqError(
                f"purge removes {what} from {where} for good and stdin is not a "
                "terminal to confirm it on: pass --yes"
            )
        click.confirm(f"Remove {what} from {where} for good?", abort=True)
    count = run(target, lambda q: q.purge(chosen))
    click.echo(f"purged {count} dead letter(s) from {target.place.dead_letter}")
