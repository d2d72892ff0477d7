"""The generator's exceptions: one root, each carrying what the CLI prints and its exit code."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


class SvcgenError(Exception):
    """Root of every error svcgen raises on purpose; ``exit_code`` is the CLI's status."""

    exit_code: int = EXIT_BAD_INPUT


@dataclass(frozen=True, order=True)
class SpecIssue:
    """One problem in service.yaml, at a 1-based line and column."""

    line: int
    column: int
    path: str
    message: str

    def format(self, filename: str) -> str:
        """``file:line:col: path: message`` on one line, whatever the spec held."""
        where = f"{visible(filename)}:{self.line}:{self.column}"
        message = visible(self.message)
        return (
            f"{where}: {visible(self.path)}: {message}"
            if self.path
            else (f"{where}: {message}")
        )


_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def visible(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``),
    so an issue stays on its line however the spec spelled a key or a value."""
    return _INVISIBLE.sub(lambda m: repr(m.group())[1:-1], text)


class SpecError(SvcgenError):
    """service.yaml is invalid; ``issues`` lists every problem found, sorted."""

    def __init__(self, issues: Sequence[SpecIssue], *, filename: str) -> None:
        self.issues = sorted(issues)
        self.filename = filename
        count = len(self.issues)
        lines = [issue.format(filename) for issue in self.issues]
        lines.append(f"{count} error{'s' if count != 1 else ''} in {filename}")
        super().__init__("\n".join(lines))


class WriterError(SvcgenError):
    """A file on disk stops svcgen from writing (for instance it lacks the header)."""


class EditError(SvcgenError):
    """An ``add-*`` command cannot apply its change to service.yaml."""


class ProjectError(SvcgenError):
    """The project directory is not usable (no service.yaml, target exists, ...)."""
