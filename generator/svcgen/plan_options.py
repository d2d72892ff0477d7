"""Broker options in the plan: the broker's merged with a consumer's or task's, as
the literal keywords and ``options`` dicts app.py passes to the runtime.

Each spec key becomes the runtime option the kind's row names (``kinds.OptionInfo``),
durations in the unit the adapter takes. A consumer or task passes every key of its
kind from a ``Settings`` field (overridable at start-up like its other tuning
numbers); a key service.yaml leaves unset is None there, so the broker's default
applies (each default is named in docs/spec.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from .kinds import BROKERS, OptionInfo
from .layout import py_literal
from .plan_records import Arg, OptionValue, Tuning
from .spec_models import OptionsSpec


def _runtime_value(info: OptionInfo, value: object) -> object:
    if info.per_second is not None and isinstance(value, float):
        return round(value * info.per_second)
    return value


def _set_options(options: OptionsSpec) -> dict[str, int | float | str]:
    """The keys the spec sets (a key left out, or null, is unset)."""
    return {k: v for k, v in options.model_dump().items() if v is not None}


def merged_options(kind: str, layers: Iterable[OptionsSpec]) -> dict[str, object]:
    """The spec keys of ``kind`` set in ``layers``, a later layer winning."""
    known = BROKERS[kind].spec_options
    merged: dict[str, object] = {}
    for layer in layers:
        merged.update((k, v) for k, v in _set_options(layer).items() if k in known)
    return merged


def broker_args(kind: str, options: OptionsSpec) -> tuple[Arg, ...]:
    """The broker constructor's keywords for the options it takes (sorted)."""
    known = BROKERS[kind].spec_options
    args = [
        Arg(known[k].runtime, py_literal(_runtime_value(known[k], v)))
        for k, v in merged_options(kind, [options]).items()
        if known[k].broker
    ]
    return tuple(sorted(args))


def subscription_options(kind: str, prefix: str) -> tuple[OptionValue, ...]:
    """Every option of a consumer or task worker on ``kind``, each read from its
    ``Settings`` field ``<prefix>_<key>`` (``prefix``: ``consumer_paid``), sorted by
    the adapter's name for it."""
    values = (
        OptionValue(k, info.runtime, f"{prefix}_{k}", info.per_second)
        for k, info in BROKERS[kind].spec_options.items()
    )
    return tuple(sorted(values, key=lambda o: o.runtime))


def option_tunings(
    kind: str,
    prefix: str,
    source: str,
    broker: tuple[str, OptionsSpec],
    own: OptionsSpec,
) -> list[Tuning]:
    """The ``Settings`` fields of a consumer's or task's options on ``kind``, one per
    key the kind takes, in the key's order: service.yaml's value (its own, else its
    broker's, ``source`` and ``broker[0]`` saying where) or None when neither sets it.
    ``prefix``: ``consumer_paid``; ``source``: ``consumers.paid``."""
    known = BROKERS[kind].spec_options
    broker_name, broker_options = broker
    from_broker, from_own = _set_options(broker_options), _set_options(own)
    out = []
    for key in sorted(known):
        where = f"{source}.options.{key}"
        if key not in from_own and key in from_broker:
            where = f"brokers.{broker_name}.options.{key}"
        value = from_own.get(key, from_broker.get(key))
        out.append(Tuning(f"{prefix}_{key}", where, known[key].reader, value, True))
    return out
