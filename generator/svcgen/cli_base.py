"""What every ``svcgen`` verb shares: the error wrapper (messages, not tracebacks),
``--dir`` and the report of files written.

Exit status: 0 ok, 1 drift (``check``), 2 bad input, 3 internal error. Bad input
never shows a traceback unless ``--debug`` is given. A verb imports ``commands``
(pydantic, the spec models, the plan: about 0.2 s) in its body, so ``svcgen
--help`` and ``--version`` stay fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .errors import EXIT_BAD_INPUT, EXIT_INTERNAL, SvcgenError

F = TypeVar("F", bound=Callable[..., Any])


def _traceback(debug: bool) -> None:
    """Print the exception being handled with its traceback, under ``--debug``."""
    if debug:
        import traceback  # only --debug needs it (and textwrap): start-up speed

        traceback.print_exc()


def wrapped(func: F) -> F:
    """Run a command in the one error wrapper: messages, not tracebacks."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except SvcgenError as exc:
            _traceback(debug)
            click.echo(str(exc), err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:
            # The disk refused (a name too long, a directory where a file goes, no
            # space...): the environment, not a bug, so bad input with its cause.
            _traceback(debug)
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(
                f"{where}{exc.strerror or exc}; check that path (its name, what is "
                "there, the free space) and run svcgen again",
                err=True,
            )
            sys.exit(EXIT_BAD_INPUT)
        except Exception as exc:
            _traceback(debug)
            click.echo(
                f"internal error: {type(exc).__name__}: {exc} (this is a bug in "
                "svcgen; run again with --debug for the traceback and report it)",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


dir_option = click.option(
    "--dir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The service's directory (the one holding service.yaml).",
)


def report(report: Any) -> None:
    for rel in report.written:
        click.echo(f"wrote {rel}")
    for rel in report.deleted:
        click.echo(f"deleted {rel}")
    for rel in report.created:
        click.echo(f"created {rel}")
    click.echo(report.summary())
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
