"""Start-up overrides of service.yaml's tuning numbers from environment variables.

A generated ``settings.py`` reads each tuning number (a consumer's concurrency,
timeout and retry, a task's, the drain) with one of the readers here: an unset or
empty variable gives service.yaml's value, a set one replaces it (logged once at
INFO, so the start-up log shows what differs from the spec), and a value that
cannot be read raises ``ConfigurationError`` with one sentence naming the
variable, what it takes and service.yaml's value. The generated ``run()`` goes
through ``run_or_refuse``, which turns that error into one logged line and exit
status 3 (``EXIT_START_FAILED``, as a failed start-up gives), before any broker,
resource or listener is touched.

Durations are written as in service.yaml: a number and a unit, ``250ms``, ``30s``,
``5m``, ``1h`` or ``7d``. A broker option that service.yaml leaves unset is a field whose
default is None (the broker's own default applies); its variable sets it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Final, TypeVar

from . import loops, workers
from .application import EXIT_START_FAILED, Application
from .errors import ConfigurationError

log = logging.getLogger(__name__)

T = TypeVar("T")

_DURATION: Final = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DURATION_MAX: Final = 366 * 24 * 3600.0
"""The longest duration, as in service.yaml (a year)."""
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def duration_text(seconds: float) -> str:
    """``seconds`` as service.yaml would write it: ``250ms``, ``30s``, ``5m``, ``1h``."""
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{seconds / size:g}{unit}"
    if seconds >= 1.0 or seconds == 0:
        return f"{seconds:g}s"
    return f"{seconds * 1000:g}ms"


UNSET: Final = "unset (the broker's default)"
"""How a default of None (a broker option service.yaml leaves out) is shown."""


def _read(
    env: Mapping[str, str],
    name: str,
    default: T,
    parse: Callable[[str], T | None],
    *,
    form: str,
    shown: str,
) -> T:
    """``parse(env[name])`` or ``default`` when unset or empty; a sentence when the
    value does not parse (``parse`` returns None)."""
    shown = UNSET if default is None else shown
    raw = env.get(name, "")
    if not raw.strip():
        return default
    value = parse(raw.strip())
    if value is None:
        raise ConfigurationError(
            f"{name}={raw[:40]!r} is not {form}: correct it, or unset it to use "
            f"service.yaml's {shown}"
        )
    if value != default:
        log.info("%s=%s overrides service.yaml's %s", name, raw.strip(), shown)
    return value


def whole(
    env: Mapping[str, str], name: str, default: int | None, *, low: int, high: int
) -> int | None:
    """A whole number from ``low`` to ``high``, such as a concurrency or attempts."""

    def parse(raw: str) -> int | None:
        if not re.fullmatch(r"\d{1,12}", raw):
            return None
        value = int(raw)
        return value if low <= value <= high else None

    form = f"a whole number from {low} to {high}"
    return _read(env, name, default, parse, form=form, shown=str(default))


def number(
    env: Mapping[str, str], name: str, default: float, *, low: float, high: float
) -> float:
    """A number from ``low`` to ``high`` (a fraction, a rate)."""

    def parse(raw: str) -> float | None:
        try:
            value = float(raw)
        except ValueError:
            return None
        return value if math.isfinite(value) and low <= value <= high else None

    form = f"a number from {low:g} to {high:g}"
    return _read(env, name, default, parse, form=form, shown=f"{default:g}")


def duration(
    env: Mapping[str, str], name: str, default: float | None, *, positive: bool = True
) -> float | None:
    """A duration in seconds, written ``250ms``, ``30s``, ``5m`` or ``1h``; above zero
    unless ``positive`` is False."""

    def parse(raw: str) -> float | None:
        match = _DURATION.match(raw)
        if match is None:
            return None
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        if seconds > DURATION_MAX or (positive and seconds <= 0):
            return None
        return seconds

    above = "above zero" if positive else "of zero or more"
    form = f"a duration {above} such as 250ms, 30s, 5m or 1h (at most 8784h)"
    shown = "" if default is None else duration_text(default)
    return _read(env, name, default, parse, form=form, shown=shown)


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """true/false (also 1/0, yes/no, on/off, in any case)."""

    def parse(raw: str) -> bool | None:
        lowered = raw.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else None

    shown = "true" if default else "false"
    return _read(env, name, default, parse, form="true or false", shown=shown)


def choice(
    env: Mapping[str, str], name: str, default: str | None, *, choices: Sequence[str]
) -> str | None:
    """One of ``choices``, spelled exactly (such as a queue type)."""

    def parse(raw: str) -> str | None:
        return raw if raw in choices else None

    form = "one of " + ", ".join(choices)
    return _read(env, name, default, parse, form=form, shown=str(default))


def check_retry(initial: float, most: float, prefix: str) -> None:
    """service.yaml's rule for overrides too: the first wait may not exceed the
    longest; ``prefix`` is the variables' common start (``SVCGEN_CONSUMER_PAID_RETRY``)."""
    if initial > most:
        raise ConfigurationError(
            f"{prefix}_INITIAL ({duration_text(initial)}) exceeds {prefix}_MAX "
            f"({duration_text(most)}): lower the one or raise the other"
        )


Reader = Callable[[Mapping[str, str], str, Any], Any]

KEYS: Final[dict[str, Reader]] = {
    "concurrency": partial(whole, low=1, high=10000),
    "timeout": duration,
    "max_attempts": partial(whole, low=1, high=1000),
    "retry_initial": partial(duration, positive=False),
    "retry_max": partial(duration, positive=False),
    "key_window": duration,
    "dedupe_window": duration,
    "drain_timeout": duration,
    # broker options of a consumer or task, as service.yaml's ``options`` takes them
    "partitions": partial(whole, low=1, high=10000),
    "replication_factor": partial(whole, low=1, high=100),
    "session_timeout": duration,
    "membership": partial(choice, choices=("dynamic", "static")),
    "queue_type": partial(choice, choices=("classic", "quorum")),
    "delivery_limit": partial(whole, low=1, high=1000000),
    "ack_wait": duration,
    "max_deliver": partial(whole, low=1, high=1000000),
    "replicas": partial(whole, low=1, high=5),
    "storage": partial(choice, choices=("file", "memory")),
    "claim_idle": duration,
    "maxlen": partial(whole, low=1, high=1000000000),
    "session_expiry": partial(duration, positive=False),
}
"""How each tuning key is read: the key is the end of a ``Settings`` field's name
(``consumer_paid_concurrency`` → ``concurrency``), the bounds are service.yaml's.
Where one key ends with another (``session_timeout``, ``timeout``) both are read
alike, so a field ``consumer_x_session_timeout`` reads the same whichever it is
(service.yaml refuses a spec where both would exist)."""

_BY_LENGTH: Final = sorted(KEYS, key=len, reverse=True)
SECTIONS: Final = ("SVCGEN_CONSUMER_", "SVCGEN_TASK_", "SVCGEN_SHUTDOWN_")
"""The starts of the variables the scheme names (svcgen's own tools use other
``SVCGEN_`` variables, such as ``SVCGEN_BUILD_NO_ISOLATION``)."""


def tunings(settings: type[Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Every field of the dataclass ``settings`` that has a default (service.yaml's
    value), read from ``SVCGEN_<FIELD NAME>`` with its key's reader in ``KEYS``;
    a retry's first wait is then checked against its longest (``check_retry``). A
    set variable of the scheme (``SECTIONS``) that names no field (a typo) is logged
    as a warning."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(settings):
        if field.default is dataclasses.MISSING:
            continue
        key = next((k for k in _BY_LENGTH if field.name.endswith("_" + k)), None)
        if key is None:
            raise TypeError(f"{field.name} ends with no tuning key of {sorted(KEYS)}")
        out[field.name] = KEYS[key](env, "SVCGEN_" + field.name.upper(), field.default)
    known = {"SVCGEN_" + name.upper() for name in out}
    for var in sorted(env):
        if var.startswith(SECTIONS) and var not in known:
            log.warning(
                "%s is set but names no tuning number of this service (settings.py "
                "lists them): check its spelling",
                var,
            )
    for name, value in out.items():
        if name.endswith("_retry_initial"):
            retry = name.removesuffix("_initial")
            check_retry(value, out[retry + "_max"], "SVCGEN_" + retry.upper())
    _check_options(out)
    return out


def _check_options(values: Mapping[str, Any]) -> None:
    """service.yaml's rules between broker options, for overrides too: NATS delivers
    a message at least ``max_attempts`` times (else it stops before the retry policy
    dead-letters it); a RabbitMQ delivery limit needs quorum queues."""
    for name, value in values.items():
        if value is None:
            continue
        if name.endswith("_max_deliver"):
            attempts = values.get(name.removesuffix("_max_deliver") + "_max_attempts")
            if attempts is not None and value < attempts:
                raise ConfigurationError(
                    f"SVCGEN_{name.upper()} ({value}) is below the {attempts} "
                    "attempts of its retry policy, so the server would stop "
                    "delivering a failing message before it is dead-lettered: raise "
                    "it or lower the attempts"
                )
        if name.endswith("_delivery_limit"):
            queue_type = values.get(
                name.removesuffix("_delivery_limit") + "_queue_type"
            )
            if queue_type != "quorum":
                raise ConfigurationError(
                    f"SVCGEN_{name.upper()} ({value}) needs quorum queues, but the "
                    f"queue type is {queue_type or 'classic'}: set the queue type to "
                    "quorum or unset the delivery limit"
                )


def in_units(seconds: float | None, per_second: int) -> int | None:
    """A duration setting in the whole units a broker option takes (``per_second``
    1000: milliseconds); None (unset) stays None."""
    return None if seconds is None else round(seconds * per_second)


def run_or_refuse(
    build: Callable[[], Application],
    service: str,
    env: Mapping[str, str] | None = None,
) -> int:
    """``build().run()``'s exit status, on the event loop ``SVCGEN_EVENT_LOOP``
    names (``loops``), or that of ``SVCGEN_WORKERS`` worker processes running it
    (``workers``); when ``build`` or the loop choice refuses a setting (a
    ``ConfigurationError``), one logged line and ``EXIT_START_FAILED`` instead of a
    traceback: nothing has connected at that point."""
    env = os.environ if env is None else env
    try:
        factory = loops.loop_factory(env)
        count = workers.worker_count(env)
        app = build()  # checks every setting, connects nothing
    except ConfigurationError as exc:
        log.error("%s: start-up refused: %s", service, exc)
        return EXIT_START_FAILED
    if count > 1:
        return workers.Supervisor(service, count, workers.worker_command()).run()
    return loops.run(app.serve(), factory)
