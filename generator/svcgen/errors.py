"""The generator's exceptions: one root, each carrying what the CLI prints and its exit code."""

from __future__ import annotations

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
        where = f"{filename}:{self.line}:{self.column}"
        return (
            f"{where}: {self.path}: {self.message}"
            if self.path
            else (f"{where}: {self.message}")
        )


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
