"""Checks of the ``options`` of brokers, consumers and tasks that the models cannot
make alone: each key belongs to the kind of the broker it reaches, and the merged
options (a broker's, overridden by a consumer's or task's) agree with each other
and with the retry policy.

The models type every key (``spec_models.OptionsSpec``, each kind's keys together);
an unknown key is theirs to report, a key of another kind is reported here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from .errors import SpecIssue
from .kinds import BROKERS
from .spec_checks import broker_kinds, entries, issue
from .spec_reader import Loc, Positions


def _takers(key: str) -> list[str]:
    return [k for k, row in BROKERS.items() if key in row.spec_options]


def _options(node: object) -> dict[str, Any]:
    if isinstance(node, dict):
        found = node.get("options")
        if isinstance(found, dict):
            return found
    return {}


def _foreign_keys(
    where: Loc, options: Mapping[str, Any], kind: str, owner: str, pos: Positions
) -> Iterator[SpecIssue]:
    """Each key of ``options`` that another kind takes, but not ``kind``."""
    own = sorted(BROKERS[kind].spec_options)
    for key in options:
        takers = _takers(str(key))
        if not takers or key in own:
            continue  # unknown to every kind: the models report it
        fix = (
            f"{kind} takes {', '.join(own)}"
            if own
            else f"a {kind} broker takes no options"
        )
        yield issue(
            pos,
            (*where, str(key)),
            f"{key!r} is an option of {' and '.join(takers)}, not of {kind}, the "
            f"kind of {owner}: remove it ({fix})",
            key=True,
        )


def option_issues(data: Mapping[str, Any], pos: Positions) -> Iterator[SpecIssue]:
    """Options of another kind, and merged options that contradict each other."""
    kinds = broker_kinds(data)
    brokers = data.get("brokers")
    brokers = brokers if isinstance(brokers, dict) else {}
    for name, kind in sorted(kinds.items()):
        where: Loc = ("brokers", name, "options")
        own = _options(brokers[name])
        yield from _foreign_keys(where, own, kind, f"broker {name!r}", pos)
    for section in ("consumers", "tasks"):
        for i, item in entries(data, section):
            broker = str(item.get("broker"))
            if broker not in kinds:
                continue  # no such broker: reported by the cross-reference checks
            kind = kinds[broker]
            owner = f"{section[:-1]} {item.get('name')!r}"
            where = (section, i, "options")
            own = _options(item)
            yield from _foreign_keys(
                where, own, kind, f"broker {broker!r} of {owner}", pos
            )
            # A broker's options take effect merged into its consumers' and tasks'.
            layers: list[tuple[Loc, Mapping[str, Any]]] = [
                (("brokers", broker, "options"), _options(brokers[broker])),
                (where, own),
            ]
            yield from _together(kind, layers, owner, item.get("retry"), pos)
    yield from _setting_clashes(data, kinds, pos)


ITEM_TUNINGS: Final = (
    "concurrency",
    "timeout",
    "max_attempts",
    "retry_initial",
    "retry_max",
)
"""The tuning keys of every consumer and task (a task has ``key_window`` too); its
broker kind's option keys are tuning keys of its as well."""


def _setting_clashes(
    data: Mapping[str, Any], kinds: Mapping[str, str], pos: Positions
) -> Iterator[SpecIssue]:
    """Two consumers (or tasks) whose start-up settings would share a name: each
    tuning number is the field ``<section>_<name>_<key>``, so a kafka consumer ``x``
    (key ``session_timeout``) and a consumer ``x_session`` (key ``timeout``) meet."""
    for section in ("consumers", "tasks"):
        single = section[:-1]
        taken: dict[str, str] = {}
        for i, item in entries(data, section):
            name, kind = item.get("name"), kinds.get(str(item.get("broker")))
            if not isinstance(name, str):
                continue
            keys = [*ITEM_TUNINGS, *(["key_window"] if section == "tasks" else [])]
            if section == "consumers" and item.get("dedupe") is not None:
                keys.append("dedupe_window")
            keys += sorted(BROKERS[kind].spec_options) if kind else []
            for key in keys:
                attr = f"{single}_{name}_{key}"
                other = taken.setdefault(attr, name)
                if other != name:
                    yield issue(
                        pos,
                        (section, i, "name"),
                        f"the {single}s {other!r} and {name!r} would both have the "
                        f"start-up setting SVCGEN_{attr.upper()}: rename one of them",
                    )
                    break


def _together(
    kind: str,
    layers: list[tuple[Loc, Mapping[str, Any]]],
    owner: str,
    retry: object,
    pos: Positions,
) -> Iterator[SpecIssue]:
    """Problems of the merged options of ``owner``, reported where the key that
    causes each was set (the last layer setting it)."""
    merged: dict[str, tuple[Loc, Any]] = {}
    for where, options in layers:
        for key, value in options.items():
            if value is not None:
                merged[str(key)] = ((*where, str(key)), value)
    if kind == "rabbitmq" and "delivery_limit" in merged:
        loc, _ = merged["delivery_limit"]
        queue_type = merged.get("queue_type", ((), "classic"))[1]
        if queue_type != "quorum":
            yield issue(
                pos,
                loc,
                f"delivery_limit needs quorum queues, but {owner} declares "
                f"{queue_type} ones: add queue_type: quorum to its options or the "
                "broker's, or remove delivery_limit",
            )
    if kind == "nats" and "max_deliver" in merged:
        loc, value = merged["max_deliver"]
        attempts = retry.get("max_attempts", 3) if isinstance(retry, dict) else 3
        if isinstance(value, int) and isinstance(attempts, int) and value < attempts:
            yield issue(
                pos,
                loc,
                f"max_deliver ({value}) is below the retry.max_attempts ({attempts}) "
                f"of {owner}: the server would stop delivering a failing message "
                "before it is dead-lettered; raise max_deliver to at least "
                f"{attempts} or lower max_attempts",
            )
