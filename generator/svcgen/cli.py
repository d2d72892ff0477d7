"""The ``svcgen`` command: each verb maps its flags onto one library call.

Exit status: 0 ok, 1 drift (``check``), 2 bad input, 3 internal error. Bad input
never shows a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import functools
import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .errors import (
    EXIT_BAD_INPUT,
    EXIT_DRIFT,
    EXIT_INTERNAL,
    EXIT_OK,
    SvcgenError,
)
from .kinds import BROKER_KINDS
from .names import check_service_name

if TYPE_CHECKING:  # bound by _wrapped when a verb runs (see _load_commands)
    from . import commands

F = TypeVar("F", bound=Callable[..., Any])


def _traceback(debug: bool) -> None:
    """Print the exception being handled with its traceback, under ``--debug``."""
    if debug:
        import traceback  # only --debug needs it (and textwrap): start-up speed

        traceback.print_exc()


def _load_commands() -> None:
    """Bind the module-level name ``commands``, the library every verb calls.

    Importing it (pydantic, the spec models, the plan: about 0.2 s) is left to the
    first verb that runs, so ``svcgen --help`` and ``--version`` stay fast; the
    one import is here rather than in each verb.
    """
    global commands
    from . import commands


def _wrapped(func: F) -> F:
    """Run a command in the one error wrapper: messages, not tracebacks."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        try:
            _load_commands()
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


_dir = click.option(
    "--dir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The service's directory (the one holding service.yaml).",
)


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
@_wrapped
def new(
    name: str, brokers: tuple[str, ...], no_http: bool, directory: Path | None
) -> None:
    """Create a new service NAME and generate its code.

    \b
    Example:
      svcgen new orders --broker kafka --dir services/orders
    """
    try:
        check_service_name(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    root = commands.new(name, brokers=brokers, http=not no_http, directory=directory)
    click.echo(f"created {root}; next: cd {root} && pip install -e '.[test]' && pytest")


def _report(report: Any) -> None:
    for rel in report.written:
        click.echo(f"wrote {rel}")
    for rel in report.deleted:
        click.echo(f"deleted {rel}")
    for rel in report.created:
        click.echo(f"created {rel}")
    click.echo(report.summary())
    for note in report.notes:
        click.echo(f"note: {note}", err=True)


@main.command()
@_dir
@_wrapped
def generate(root: Path) -> None:
    """Regenerate src/<package>/_generated/ from service.yaml.

    \b
    Example:
      svcgen generate --dir services/orders
    """
    _report(commands.generate(root))


_DRIFT_LABELS = {
    "stale": "stale or hand-edited",
    "missing": "missing",
    "extra": "extra (no longer generated)",
    "not-generated": "hand-written in place of generated code",
}


@main.command()
@_dir
@_wrapped
def check(root: Path) -> None:
    """Exit 1 with a diff when generated code is stale, missing, extra or hand-edited.

    \b
    Example (in CI):
      svcgen check --dir services/orders
    """
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
@_dir
@_wrapped
def validate(root: Path) -> None:
    """Check service.yaml and report every error with its line and column.

    \b
    Example:
      svcgen validate --dir services/orders
    """
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
@_dir
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
    type=click.Choice(["yaml", "json"]),
    default=None,
    help="Default: json for an --output ending in .json, else yaml.",
)
@click.option(
    "--no-schemas",
    is_flag=True,
    help="Do not import the message models for their JSON Schemas.",
)
@_wrapped
def docs(root: Path, output: Path | None, fmt: str | None, no_schemas: bool) -> None:
    """Write an AsyncAPI 3.0 document of the service's messaging side.

    Servers are the brokers, channels the addresses it reads and writes, operations
    its consumers, task workers, publishers and task enqueues; message payloads are
    the JSON Schemas of the pydantic models in src/.

    \b
    Examples:
      svcgen docs -o asyncapi.yaml
      svcgen docs --format json --no-schemas
    """
    from . import writer

    if fmt is None:
        fmt = "json" if output is not None and output.suffix == ".json" else "yaml"
    text = commands.docs(root, fmt=fmt, schemas=not no_schemas)
    if output is None:
        click.echo(text, nl=False)
    else:
        writer.write_file(output, text)
        click.echo(f"wrote {output}")


@main.command()
@_wrapped
def schema() -> None:
    """Print the JSON Schema of service.yaml (for editor completion).

    \b
    Example:
      svcgen schema > service.schema.json
    """
    click.echo(commands.schema(), nl=False)


@main.command("add-consumer")
@click.argument("name")
@click.option("--broker", required=True, help="A broker named in service.yaml.")
@click.option("--source", required=True, help="Topic / queue / subject / stream.")
@click.option("--group", default=None, help="Consumer group (default: NAME).")
@click.option("--concurrency", type=int, default=None, help="Handlers in flight.")
@click.option(
    "--max-attempts", type=int, default=None, help="Deliveries before dead-lettering."
)
@click.option("--dead-letter", default=None, help="Dead-letter destination, or 'none'.")
@click.option("--message", default=None, help="The payload model, module:Class.")
@click.option(
    "--dedupe",
    default=None,
    metavar="KEY",
    help="Run each key's handler once: header:<name> or body:<field> (needs a "
    "postgres database).",
)
@click.option(
    "--dedupe-window", default=None, help="How long a key is kept (default 168h)."
)
@_dir
@_wrapped
def add_consumer(root: Path, **options: Any) -> None:
    """Add a consumer to service.yaml, regenerate, and create its handler stub.

    \b
    Examples:
      svcgen add-consumer order_created --broker events --source orders.created \\
          --group orders --concurrency 16 --message orders.models:OrderCreated
      svcgen add-consumer order_paid --broker events --source orders.paid \\
          --dedupe header:svcgen-message-id --dedupe-window 72h
    """
    _report(commands.add_consumer(root, **options))


@main.command("add-route")
@click.argument("name")
@click.option(
    "--method",
    required=True,
    type=click.Choice(["GET", "POST", "PUT", "PATCH", "DELETE"], case_sensitive=False),
)
@click.option(
    "--path", "path", required=True, help="URL path, e.g. /orders/{order_id}."
)
@_dir
@_wrapped
def add_route(root: Path, name: str, method: str, path: str) -> None:
    """Add an HTTP route to service.yaml, regenerate, and create its handler stub.

    \b
    Example:
      svcgen add-route get_order --method GET --path '/orders/{order_id}'
    """
    _report(commands.add_route(root, name=name, method=method, path=path))


@main.command("add-publisher")
@click.argument("name")
@click.option("--broker", required=True, help="A broker named in service.yaml.")
@click.option("--target", required=True, help="Topic / routing key / subject / stream.")
@click.option("--message", default=None, help="The payload model, module:Class.")
@click.option(
    "--outbox",
    is_flag=True,
    help="Send through the outbox, in the publishing transaction (needs a postgres "
    "database).",
)
@_dir
@_wrapped
def add_publisher(root: Path, **options: Any) -> None:
    """Add a publisher to service.yaml and regenerate (handlers get ctx.NAME).

    \b
    Example:
      svcgen add-publisher order_shipped --broker events --target orders.shipped \\
          --message orders.models:OrderShipped --outbox
    """
    _report(commands.add_publisher(root, **options))


@main.command("add-task")
@click.argument("name")
@click.option(
    "--broker",
    required=True,
    help="A broker named in service.yaml (redis, nats, rabbitmq, kafka or memory).",
)
@click.option("--args", default=None, help="The arguments' model, module:Class.")
@click.option("--concurrency", type=int, default=None, help="Tasks run at once.")
@click.option(
    "--max-attempts", type=int, default=None, help="Runs before dead-lettering."
)
@_dir
@_wrapped
def add_task(root: Path, **options: Any) -> None:
    """Add a task queue to service.yaml, regenerate, and create its handler stub.

    Handlers enqueue it with ``await ctx.tasks.NAME.enqueue(args, delay=..., key=...)``.

    \b
    Example:
      svcgen add-task send_receipt --broker jobs \\
          --args orders.models:ReceiptArgs --concurrency 8 --max-attempts 5
    """
    _report(commands.add_task(root, **options))


@main.command("add-schedule")
@click.argument("name")
@click.option("--task", required=True, help="The task (in service.yaml) it enqueues.")
@click.option("--cron", default=None, help="Five-field cron, e.g. '0 3 * * *'.")
@click.option(
    "--timezone", default=None, help="IANA timezone of --cron (default: UTC)."
)
@click.option("--every", default=None, help="A period instead of --cron, e.g. 30s.")
@_dir
@_wrapped
def add_schedule(root: Path, **options: Any) -> None:
    """Add a schedule that enqueues TASK once per fire time, across replicas.

    \b
    Examples:
      svcgen add-schedule nightly_report --task send_report \\
          --cron '0 3 * * *' --timezone Europe/Berlin
      svcgen add-schedule heartbeat --task ping --every 30s
    """
    _report(commands.add_schedule(root, **options))


@main.command("add-resource")
@click.argument("resource", type=click.Choice(["cache", "database", "storage"]))
@click.option(
    "--kind",
    required=True,
    type=click.Choice(["memory", "redis", "sqlite", "postgres", "fs"]),
    help="cache: memory|redis; database: sqlite|postgres; storage: memory|fs.",
)
@click.option("--url", default=None, help="redis or postgres URL; ${VAR:-default} ok.")
@click.option("--path", default=None, help="sqlite file or fs directory.")
@click.option("--prefix", default=None, help="Cache key prefix (default: name:).")
@_dir
@_wrapped
def add_resource(root: Path, **options: Any) -> None:
    """Give the service its cache, database or storage (ctx.cache, ...), regenerate.

    Without --url or --path, redis, postgres and fs get a ${VAR:-default} setting.

    \b
    Examples:
      svcgen add-resource cache --kind redis
      svcgen add-resource database --kind postgres --url '${DATABASE_URL}'
      svcgen add-resource storage --kind fs --path /var/lib/orders
    """
    _report(commands.add_resource(root, **options))


@main.command()
@_dir
@click.option(
    "--adopt",
    is_flag=True,
    help="Record the installed skeleton for a service made before svcgen recorded one.",
)
@_wrapped
def update(root: Path, adopt: bool) -> None:
    """Merge the installed svcgen's skeleton into this service (copier's three-way
    merge; exit 1 with <<<<<<< markers on conflicts; generated files untouched).

    \b
    Example:
      svcgen update && git diff
    """
    report = commands.update(root, adopt=adopt)
    out, err = report.messages(adopted=adopt)
    click.echo("".join(f"{line}\n" for line in out), nl=False)
    click.echo("".join(f"{line}\n" for line in err), nl=False, err=True)
    sys.exit(EXIT_DRIFT if report.conflicts else EXIT_OK)


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
