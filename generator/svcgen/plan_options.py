"""Broker options in the plan: the broker's merged with a consumer's or task's, as
the literal keywords and ``options`` dicts app.py passes to the runtime.

Each spec key becomes the runtime option the kind's row names (``kinds.OptionInfo``),
durations in the unit the adapter takes; a key left unset is left out, so the
runtime's default applies (each default is named in docs/spec.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from .formatting import py_literal
from .kinds import BROKERS, OptionInfo
from .plan_records import Arg, OptionValue
from .spec_models import OptionsSpec


def _runtime_value(info: OptionInfo, value: object) -> object:
    if info.per_second is not None and isinstance(value, float):
        return round(value * info.per_second)
    return value


def _set_options(options: OptionsSpec) -> dict[str, object]:
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


def subscription_options(
    kind: str, broker: OptionsSpec, own: OptionsSpec
) -> tuple[OptionValue, ...]:
    """The options of a consumer or task worker: the broker's overridden by its own,
    each with the runtime's name and value, sorted by that name."""
    known = BROKERS[kind].spec_options
    merged = merged_options(kind, [broker, own])
    values = (
        OptionValue(k, known[k].runtime, _runtime_value(known[k], v))
        for k, v in merged.items()
    )
    return tuple(sorted(values, key=lambda o: o.runtime))
