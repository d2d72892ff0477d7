"""``svcgen dlq``'s library: find a consumer's dead letters from the service's spec
and environment, and run one operation on them with every failure as one sentence.

The consumer (or task worker: a task's dead letters are a consumer's like any other,
named after the task) is looked up in the plan ``svcgen generate`` renders, so the
broker kind, source, group, dead-letter destination and broker options are the ones
the generated ``app.py`` passes: the broker's options merged with its own, each
replaced by its ``SVCGEN_<SECTION>_<NAME>_<KEY>`` variable when that is set, read by
the runtime's own readers. The broker URL resolves ``${VAR}`` and ``${VAR:-default}``
from the environment exactly as the generated ``settings.py`` does (unset or empty
gives the default; unset without a default is an error naming the variable).

Exit status: 2 for anything the user can fix in the command, the spec or the
environment (an unknown consumer, no dead-letter destination, the memory kind, a
missing extra, an unset variable, an id that is not there); 3 when the broker could
not be reached or failed mid-way (after which nothing unconfirmed was removed, so
the command can simply be run again).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import EXIT_BAD_INPUT, EXIT_INTERNAL, SvcgenError, visible
from .plan_records import ConsumerPlan, OptionValue, Plan, TaskPlan

if TYPE_CHECKING:
    from svcgen_runtime.deadletters import DeadLetterPlace, DeadLetterQueue

T = TypeVar("T")

EXIT_BROKER = EXIT_INTERNAL
"""The broker could not be reached or failed mid-way (3, as a failed start-up)."""


class DlqError(SvcgenError):
    """``svcgen dlq`` cannot go on; the message says why and what to do."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Target:
    """Where one consumer's dead letters are: its broker kind and URL, and the place
    the runtime's ``open_dead_letters`` opens."""

    kind: str
    url: str
    place: DeadLetterPlace


def locate(root: Path, name: str, environ: Mapping[str, str]) -> Target:
    """The dead letters of consumer (or task) ``name`` of the service in ``root``."""
    from .commands import validate
    from .plan import make_plan

    plan = make_plan(validate(root))
    found = _find(plan, name)
    kind = found.broker_kind
    what = f"{'task' if isinstance(found, TaskPlan) else 'consumer'} {name!r}"
    if kind == "memory":
        raise DlqError(
            f"{what} is on a memory broker, whose dead letters live inside the "
            "service's process where svcgen cannot reach them: in a test, read them "
            "with RunningService.dead_letters(broker, destination) from "
            "svcgen_runtime.testing"
        )
    if found.dead_letter is None:
        raise DlqError(
            f"{what} has no dead-letter destination (dead_letter: none), so its "
            "failed messages are dropped after logging: set dead_letter in "
            "service.yaml to keep them"
        )
    source = found.queue if isinstance(found, TaskPlan) else found.source
    from svcgen_runtime.deadletters import DeadLetterPlace

    place = DeadLetterPlace(
        consumer=found.name,
        dead_letter=found.dead_letter,
        source=source,
        group=found.group,
        options=_options(plan, found.option_values, environ),
    )
    return Target(kind=kind, url=_url(plan, found.broker, environ), place=place)


def _find(plan: Plan, name: str) -> ConsumerPlan | TaskPlan:
    for c in plan.consumers:
        if c.name == name:
            return c
    for t in plan.tasks:
        if t.name == name:
            return t
    names = sorted({c.name for c in plan.consumers} | {t.name for t in plan.tasks})
    has = ", ".join(names) if names else "none"
    raise DlqError(
        f"service.yaml has no consumer or task named {visible(repr(name))}: name one "
        f"of its consumers or tasks ({has})"
    )


def _url(plan: Plan, broker: str, environ: Mapping[str, str]) -> str:
    """The broker's URL as the generated ``settings.py`` reads it."""
    setting = next(s for s in plan.settings if s.attr == f"{broker}_url")
    out: list[str] = []
    for part in setting.parts:
        if part.var is None:
            out.append(part.text)
            continue
        value = environ.get(part.var)
        if part.default is not None:
            out.append(value or part.default)
        elif value is None:
            raise DlqError(
                f"the environment variable {part.var} is not set: broker {broker!r} "
                f"needs it for its url, so set {part.var} as the service has it"
            )
        else:
            out.append(value)
    return "".join(out)


def _options(
    plan: Plan, values: tuple[OptionValue, ...], environ: Mapping[str, str]
) -> dict[str, Any]:
    """The ``options={...}`` app.py passes: service.yaml's values, overridden by the
    environment as the generated ``settings.py`` reads them, in the adapter's units;
    an option neither sets is left out, as the consumer leaves it out."""
    from svcgen_runtime.errors import ConfigurationError
    from svcgen_runtime.overrides import KEYS, in_units

    defaults = {t.attr: t.default for t in plan.tunings}
    out: dict[str, Any] = {}
    for o in values:
        try:
            value = KEYS[o.key](environ, f"SVCGEN_{o.attr.upper()}", defaults[o.attr])
        except ConfigurationError as exc:
            raise DlqError(str(exc)) from None
        if value is None:  # unset: the consumer leaves it out, the broker default
            continue
        out[o.runtime] = (
            value if o.per_second is None else in_units(value, o.per_second)
        )
    return out


def run(target: Target, action: Callable[[DeadLetterQueue], Awaitable[T]]) -> T:
    """Open ``target``'s dead letters, run ``action`` on them, close; every runtime
    failure becomes a ``DlqError`` (no traceback, the URL without its password)."""
    return asyncio.run(_run(target, action))


async def _run(target: Target, action: Callable[[DeadLetterQueue], Awaitable[T]]) -> T:
    from svcgen_runtime.deadletters import DeadLetterNotFound, open_dead_letters
    from svcgen_runtime.errors import (
        BrokerConnectionError,
        BrokerError,
        MissingExtraError,
        SvcgenRuntimeError,
        redacted,
    )

    module = f"svcgen_runtime.deadletters.{target.kind}"
    if importlib.util.find_spec(module) is None:
        raise DlqError(
            f"svcgen dlq cannot read {target.kind} dead letters with this "
            "svcgen-runtime: upgrade svcgen-runtime, or read the dead-letter "
            f"destination {target.place.dead_letter!r} with the broker's own tools"
        )
    url = target.url
    try:
        queue = await open_dead_letters(target.kind, url, target.place)
        try:
            return await action(queue)
        finally:
            await queue.close()
    except MissingExtraError as exc:
        raise DlqError(str(exc)) from None
    except DeadLetterNotFound as exc:
        raise DlqError(_clean(str(exc), url)) from None
    except BrokerConnectionError as exc:
        raise DlqError(
            f"{target.kind} broker at {redacted(url)}: {_clean(str(exc), url)}",
            EXIT_BROKER,
        ) from None
    except BrokerError as exc:
        raise DlqError(_clean(str(exc), url), EXIT_BROKER) from None
    except SvcgenRuntimeError as exc:  # ConfigurationError: the spec's options
        raise DlqError(_clean(str(exc), url)) from None


def _clean(message: str, url: str) -> str:
    """``message`` on one line, with ``url``'s password hidden should it appear."""
    from svcgen_runtime.errors import redacted

    if url:
        message = message.replace(url, redacted(url))
    return visible(message)
