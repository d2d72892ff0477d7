"""Broker options in the plan: the broker's merged with a consumer's or task's, as
the literal keywords and ``options`` dicts app.py passes to the runtime.

Each spec key becomes the runtime option the kind's row names (``kinds.OptionInfo``),
durations in the unit the adapter takes; a key left unset is left out, so the
runtime's default applies (each default is named in docs/spec.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from .formatting import Bracket, py_literal
from .kinds import BROKERS, OptionInfo
from .plan_records import Arg
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
) -> Bracket | None:
    """The ``options={...}`` of a consumer or task worker, laid out as black does
    (``formatting.lay_out``): the broker's options overridden by its own, under the
    runtime's names (sorted); None when neither sets any."""
    known = BROKERS[kind].spec_options
    merged = merged_options(kind, [broker, own])
    items = sorted(
        (known[k].runtime, _runtime_value(known[k], v)) for k, v in merged.items()
    )
    if not items:
        return None
    return Bracket(
        "options={",
        [f"{py_literal(k)}: {py_literal(v)}" for k, v in items],
        "}",
        split="items",
    )
