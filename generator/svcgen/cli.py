"""The ``svcgen`` command: each verb maps its flags onto one library call.

Exit status: 0 ok, 1 drift (``check``), 2 bad input, 3 internal error. Bad input
never shows a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import click

from .cli_add import VERBS
from .cli_base import dir_option, report, wrapped
from .cli_dlq import dlq
from .errors import EXIT_DRIFT, EXIT_OK
from .kinds import BROKER_KINDS
from .names import check_service_name


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: svcgen's version and the installed svcgen-runtime's."""
    if value and not ctx.resilient_parsing:
        from .version import describe

        click.echo(describe())
        ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for every error.")
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_version,
    help="Show svcgen's and svcgen-runtime's versions and exit.",
)
def main(debug: bool) -> None:
    """Generate explicit, typed Python services from service.yaml."""


@main.command()
@click.argument("name")
@click.option(
    "--broker",
    "brokers",
    multiple=True,
    type=click.Choice(BROKER_KINDS),
    help="A broker kind the service uses (repeatable); default: memory.",
)
@click.option(
    "--no-http", is_flag=True, help="No HTTP routes (a health listener only)."
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to create it (default: ./NAME).",
)
@wrapped
def new(
    name: str, brokers: tuple[str, ...], no_http: bool, directory: Path | None
) -> None:
    """Create a new service NAME and generate its code.

    \b
    Example:
      svcgen new orders --broker kafka --dir services/orders
    """
    from . import commands

    try:
        check_service_name(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    root = commands.new(name, brokers=brokers, http=not no_http, directory=directory)
    click.echo(f"created {root}; next: cd {root} && pip install -e '.[test]' && pytest")


@main.command()
@dir_option
@wrapped
def generate(root: Path) -> None:
    """Regenerate src/<package>/_generated/ from service.yaml.

    \b
    Example:
      svcgen generate --dir services/orders
    """
    from . import commands

    report(commands.generate(root))


_DRIFT_LABELS = {
    "stale": "stale or hand-edited",
    "missing": "missing",
    "extra": "extra (no longer generated)",
    "not-generated": "hand-written in place of generated code",
}


@main.command()
@dir_option
@click.option(
    "--against",
    "ref",
    metavar="REF",
    default=None,
    help="Compare the message contracts with those at this git revision instead "
    "(exit 1 on a breaking change); the drift check is not run then.",
)
@click.option(
    "--all-changes",
    is_flag=True,
    help="With --against: list the non-breaking changes too.",
)
@wrapped
def check(root: Path, ref: str | None, all_changes: bool) -> None:
    """Exit 1 with a diff when generated code is stale, missing, extra or hand-edited.

    With --against REF, compare the service's message contracts (channels, models,
    groups, dead-letter destinations) with those at the git revision REF instead,
    one line per change with its file:line, and exit 1 on a breaking change. CI runs
    both, as two steps.

    \b
    Examples (in CI):
      svcgen check --dir services/orders
      svcgen check --dir services/orders --against origin/main
    """
    from . import commands

    if ref is not None:
        from .contracts import check_against

        contracts = check_against(root, ref, all_changes=all_changes)
        for line in contracts.lines():
            click.echo(line)
        sys.exit(contracts.exit_code)
    if all_changes:
        raise click.UsageError(
            "--all-changes lists contract changes: add --against REF"
        )

    drifts, notes = commands.check_with_notes(root)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if not drifts:
        click.echo("generated code is current")
        sys.exit(EXIT_OK)
    for drift in drifts:
        click.echo(drift.diff, nl=False)
    for drift in drifts:
        click.echo(f"{_DRIFT_LABELS[drift.kind]}: {drift.path}", err=True)
    click.echo(
        f"{len(drifts)} file(s) out of date: run svcgen generate and commit the result",
        err=True,
    )
    sys.exit(EXIT_DRIFT)


@main.command()
@dir_option
@wrapped
def validate(root: Path) -> None:
    """Check service.yaml and report every error with its line and column.

    \b
    Example:
      svcgen validate --dir services/orders
    """
    from . import commands

    spec = commands.validate(root)
    counts = [
        f"{len(spec.brokers)} broker(s)",
        f"{len(spec.consumers)} consumer(s)",
        f"{len(spec.publishers)} publisher(s)",
        f"{len(spec.http.routes) if spec.http else 0} route(s)",
    ]
    if spec.tasks or spec.schedules:
        counts += [f"{len(spec.tasks)} task(s)", f"{len(spec.schedules)} schedule(s)"]
    click.echo(f"service.yaml is valid: {spec.name}, {', '.join(counts)}")


@main.command()
@dir_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the document here (default: standard output).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "json", "html"]),
    default=None,
    help="Default: by the --output suffix (.json, .html), else yaml.",
)
@click.option(
    "--html",
    is_flag=True,
    help="One self-contained HTML page (same as --format html); opens offline.",
)
@click.option(
    "--no-schemas",
    is_flag=True,
    help="Do not import the message models for their JSON Schemas.",
)
@wrapped
def docs(
    root: Path, output: Path | None, fmt: str | None, html: bool, no_schemas: bool
) -> None:
    """Write an AsyncAPI 3.0 document of the service's messaging side.

    Servers are the brokers, channels the addresses it reads and writes, operations
    its consumers, task workers, publishers and task enqueues; message payloads are
    the JSON Schemas of the pydantic models in src/. --html writes the same
    document as one page that needs no network to view.

    \b
    Examples:
      svcgen docs -o asyncapi.yaml
      svcgen docs --html -o asyncapi.html
      svcgen docs --format json --no-schemas
    """
    from . import commands, writer

    if html and fmt not in (None, "html"):
        raise click.BadParameter(
            f"--html writes HTML, --format asks for {fmt}: give one of them",
            param_hint="--format",
        )
    if html:
        fmt = "html"
    elif fmt is None:
        suffix = output.suffix if output is not None else ""
        fmt = {".json": "json", ".html": "html", ".htm": "html"}.get(suffix, "yaml")
    text = commands.docs(root, fmt=fmt, schemas=not no_schemas)
    if output is None:
        click.echo(text, nl=False)
    else:
        writer.write_file(output, text)
        click.echo(f"wrote {output}")


@main.command()
@wrapped
def schema() -> None:
    """Print the JSON Schema of service.yaml (for editor completion).

    \b
    Example:
      svcgen schema > service.schema.json
    """
    from . import commands

    click.echo(commands.schema(), nl=False)


@main.command()
@dir_option
@click.option(
    "--adopt",
    is_flag=True,
    help="Record the installed skeleton for a service made before svcgen recorded one.",
)
@wrapped
def update(root: Path, adopt: bool) -> None:
    """Merge the installed svcgen's skeleton into this service (copier's three-way
    merge; exit 1 with <<<<<<< markers on conflicts; generated files untouched).

    \b
    Example:
      svcgen update && git diff
    """
    from . import commands

    report = commands.update(root, adopt=adopt)
    out, err = report.messages(adopted=adopt)
    click.echo("".join(f"{line}\n" for line in out), nl=False)
    click.echo("".join(f"{line}\n" for line in err), nl=False, err=True)
    sys.exit(EXIT_DRIFT if report.conflicts else EXIT_OK)


for _verb in VERBS:
    main.add_command(_verb)
main.add_command(dlq)


def run() -> None:
    """The console script: ``main`` tuned for a short run in a process of its own.

    A cold ``generate`` makes black build a syntax tree per file; with Python's
    default thresholds the collector walked those trees again and again (a tenth
    of the run on the benchmark spec). Like mypy's entry point, collect rarely;
    the process ends before that matters.
    """
    gc.freeze()  # everything imported so far lives as long as the process
    gc.set_threshold(200_000, 30, 30)
    main()


if __name__ == "__main__":
    run()
