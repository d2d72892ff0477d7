"""The ``svcgen add-*`` verbs: each adds one item to service.yaml, regenerates, and
creates the handler stub it needs (the library calls are in ``commands``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .cli_base import dir_option, report, wrapped


@click.command("add-consumer")
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
@dir_option
@wrapped
def add_consumer(root: Path, **options: Any) -> None:
    """Add a consumer to service.yaml, regenerate, and create its handler stub.

    \b
    Examples:
      svcgen add-consumer order_created --broker events --source orders.created \\
          --group orders --concurrency 16 --message orders.models:OrderCreated
      svcgen add-consumer order_paid --broker events --source orders.paid \\
          --dedupe header:svcgen-message-id --dedupe-window 72h
    """
    from . import commands

    report(commands.add_consumer(root, **options))


@click.command("add-route")
@click.argument("name")
@click.option(
    "--method",
    required=True,
    type=click.Choice(["GET", "POST", "PUT", "PATCH", "DELETE"], case_sensitive=False),
)
@click.option(
    "--path", "path", required=True, help="URL path, e.g. /orders/{order_id}."
)
@dir_option
@wrapped
def add_route(root: Path, name: str, method: str, path: str) -> None:
    """Add an HTTP route to service.yaml, regenerate, and create its handler stub.

    \b
    Example:
      svcgen add-route get_order --method GET --path '/orders/{order_id}'
    """
    from . import commands

    report(commands.add_route(root, name=name, method=method, path=path))


@click.command("add-publisher")
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
@dir_option
@wrapped
def add_publisher(root: Path, **options: Any) -> None:
    """Add a publisher to service.yaml and regenerate (handlers get ctx.NAME).

    \b
    Example:
      svcgen add-publisher order_shipped --broker events --target orders.shipped \\
          --message orders.models:OrderShipped --outbox
    """
    from . import commands

    report(commands.add_publisher(root, **options))


@click.command("add-task")
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
@dir_option
@wrapped
def add_task(root: Path, **options: Any) -> None:
    """Add a task queue to service.yaml, regenerate, and create its handler stub.

    Handlers enqueue it with ``await ctx.tasks.NAME.enqueue(args, delay=..., key=...)``.

    \b
    Example:
      svcgen add-task send_receipt --broker jobs \\
          --args orders.models:ReceiptArgs --concurrency 8 --max-attempts 5
    """
    from . import commands

    report(commands.add_task(root, **options))


@click.command("add-schedule")
@click.argument("name")
@click.option("--task", required=True, help="The task (in service.yaml) it enqueues.")
@click.option("--cron", default=None, help="Five-field cron, e.g. '0 3 * * *'.")
@click.option(
    "--timezone", default=None, help="IANA timezone of --cron (default: UTC)."
)
@click.option("--every", default=None, help="A period instead of --cron, e.g. 30s.")
@dir_option
@wrapped
def add_schedule(root: Path, **options: Any) -> None:
    """Add a schedule that enqueues TASK once per fire time, across replicas.

    \b
    Examples:
      svcgen add-schedule nightly_report --task send_report \\
          --cron '0 3 * * *' --timezone Europe/Berlin
      svcgen add-schedule heartbeat --task ping --every 30s
    """
    from . import commands

    report(commands.add_schedule(root, **options))


@click.command("add-resource")
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
@dir_option
@wrapped
def add_resource(root: Path, **options: Any) -> None:
    """Give the service its cache, database or storage (ctx.cache, ...), regenerate.

    Without --url or --path, redis, postgres and fs get a ${VAR:-default} setting.

    \b
    Examples:
      svcgen add-resource cache --kind redis
      svcgen add-resource database --kind postgres --url '${DATABASE_URL}'
      svcgen add-resource storage --kind fs --path /var/lib/orders
    """
    from . import commands

    report(commands.add_resource(root, **options))


VERBS: tuple[click.Command, ...] = (
    add_consumer,
    add_route,
    add_publisher,
    add_task,
    add_schedule,
    add_resource,
)
