"""The scalar values of a spec as pydantic types: durations, addresses, texts, ...

Each type is a plain ``str`` or ``float`` with a validator whose ``ValueError`` is
the message the user reads; the spec's models are built from these.
"""

from __future__ import annotations

import keyword
import re
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from .names import NAME_MAX, check_name, check_service_name

DURATION_PATTERN: Final = r"^\d+(\.\d+)?(ms|s|m|h|d)$"
DURATION_MAX: Final = 366 * 24 * 3600.0
"""The longest duration (a year): longer ones overflow timers and clocks."""
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_MESSAGE_REF = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
)
ENV_REFERENCE: Final = re.compile(
    r"\$\{(?P<var>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}"
)


def describe(value: object) -> str:
    """``value`` as an error message names it: ``a string ('x')``, ``a list``, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def parse_duration(value: object) -> float:
    """``250ms`` / ``30s`` / ``5m`` / ``1h`` / ``7d`` in seconds."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"expected a duration such as 250ms, 30s, 5m or 1h, got {describe(value)}"
        )
    match = _DURATION.match(value.strip())
    if match is None:
        raise ValueError(
            f"{value[:40]!r} is not a duration: write a number and a unit, such as "
            "250ms, 30s, 5m or 1h"
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not seconds <= DURATION_MAX:
        raise ValueError(
            f"{value[:40]!r} is longer than {DURATION_MAX / 3600:g}h (a year), the "
            "longest duration svcgen takes; write a shorter one, such as 24h"
        )
    return seconds


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")
"""Characters that have no place in a value that reaches code or a file name."""
_CONTROL_IN_TEXT = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]"
)
"""The same for free text (descriptions), where newlines and tabs are fine."""


def control_character(value: str, *, text: bool = False) -> str | None:
    """The first control character of ``value`` (``repr``-quoted), or None."""
    found = (_CONTROL_IN_TEXT if text else _CONTROL).search(value)
    return None if found is None else repr(found.group())


def _check_text(value: str) -> str:
    bad = control_character(value, text=True)
    if bad is not None:
        raise ValueError(
            f"contains the control character {bad}; remove it (newlines and tabs "
            "are fine)"
        )
    return value


def _check_plain(value: str) -> str:
    bad = control_character(value)
    if bad is not None:
        raise ValueError(f"contains the control character {bad}; remove it")
    return value


STUB_NAMES: Final = frozenset(
    {"Ack", "BaseModel", "BROKERS", "Context", "InboundMessage", "Outcome", "Tasks"}
)
"""Names the user-owned stubs import beside a message class under their own name
(app.py aliases a class that clashes with its own imports), and app.py's one
capitalised global."""


def check_import_part(value: str, part: str) -> None:
    """A module or name of the import path ``value`` is one Python can import: no
    keyword, at most ``NAME_MAX`` characters."""
    if keyword.iskeyword(part):
        raise ValueError(
            f"{value!r} has the Python keyword {part!r}, which cannot be "
            f"imported; rename it, such as {part}_"
        )
    if len(part) > NAME_MAX:
        raise ValueError(
            f"{value!r} has a part longer than {NAME_MAX} characters; shorten it"
        )


def _check_message_ref(value: str) -> str:
    if not _MESSAGE_REF.match(value):
        raise ValueError(
            f"{value!r} is not a message reference: write module:Class, such as "
            "orders.models:OrderCreated"
        )
    if len(value) > ADDRESS_MAX:
        raise ValueError(
            f"{value[:40]!r}... is longer than {ADDRESS_MAX} characters; shorten "
            "the module path"
        )
    module, cls = value.split(":")
    for part in (*module.split("."), cls):
        check_import_part(value, part)
    if not cls[0].isupper():
        raise ValueError(
            f"{value!r} names the class {cls!r}; name a message class in CapWords "
            f"(starting with a capital), such as "
            f"{''.join(p.capitalize() for p in cls.split('_') if p) or 'Message'}"
        )
    if cls in STUB_NAMES:
        raise ValueError(
            f"{value!r} names the class {cls!r}, a name the generated code uses "
            f"itself; rename the class, such as {cls.capitalize()}Message"
        )
    return value


def _check_env_syntax(value: str) -> str:
    _check_plain(value)
    rest = ENV_REFERENCE.sub("", value)
    if "${" in rest or "$" in rest:
        raise ValueError(
            f"{value!r} has a malformed environment reference: write ${{VAR}} or "
            "${VAR:-default}"
        )
    return value


def _check_positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be longer than 0, such as 30s")
    return value


def _check_not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


ADDRESS_MAX: Final = 200
"""Longest topic, queue, subject, stream or group: brokers add suffixes to it
(``.retry``, ``.dlq``, ``.delay.<ms>``) and cap names near 250 bytes."""
_ADDRESS_REFUSED = re.compile(r"[\s\"'\\`]")


def _check_address(value: str) -> str:
    """A broker address as any broker may take it; per-kind rules are in
    ``spec_checks``."""
    _check_not_blank(value)
    bad = control_character(value)
    if bad is not None:
        raise ValueError(f"contains the control character {bad}; remove it")
    found = _ADDRESS_REFUSED.search(value)
    if found is not None:
        raise ValueError(
            f"{value!r} contains {found.group()!r}; a topic, queue, subject or group "
            "takes no spaces, quotes or backslashes, such as orders.created"
        )
    if len(value.encode("utf-8")) > ADDRESS_MAX:
        raise ValueError(
            f"is {len(value.encode('utf-8'))} bytes long; brokers take at most "
            f"{ADDRESS_MAX} here, suffixes such as .retry and .dlq included"
        )
    return value


MESSAGE_ID_HEADER: Final = "svcgen-message-id"
"""The header every outbox message carries (``svcgen_runtime.effects``): its stable
id, the default dedupe key."""
DEFAULT_DEDUPE_KEY: Final = f"header:{MESSAGE_ID_HEADER}"
HEADER_NAME_MAX: Final = 200
_HEADER_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
"""A dedupe header name as ``svcgen_runtime.effects.Dedupe`` takes it: letters,
digits, ``_``, ``.`` and ``-``, which every broker keeps as they are."""
_BODY_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_dedupe_key(value: str) -> str:
    """``header:<name>`` (``_HEADER_NAME``, at most ``HEADER_NAME_MAX``
    characters) or ``body:<field>`` (a top-level JSON field, an identifier)."""
    source, _, name = value.partition(":")
    example = f"such as {DEFAULT_DEDUPE_KEY} or body:order_id"
    if source == "header":
        if not _HEADER_NAME.fullmatch(name) or len(name) > HEADER_NAME_MAX:
            raise ValueError(
                f"{value[:60]!r} does not name a header: write header: and a name "
                f"of at most {HEADER_NAME_MAX} letters, digits, '_', '.' and '-', "
                f"{example}"
            )
    elif source == "body":
        if not _BODY_FIELD.fullmatch(name) or len(name) > NAME_MAX:
            raise ValueError(
                f"{value[:60]!r} does not name a body field: write body: and a "
                f"top-level JSON field of at most {NAME_MAX} letters, digits and "
                f"underscores, {example}"
            )
    else:
        raise ValueError(
            f"{value[:60]!r} is not a dedupe key: write header:<name> or "
            f"body:<field>, {example}"
        )
    return value


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration such as 250ms, 30s, 5m or 1h.",
        }
    ),
]
PositiveDuration = Annotated[Duration, AfterValidator(_check_positive)]
"""A duration where zero makes no sense (a timeout, a period, a window)."""
Name = Annotated[str, AfterValidator(check_name)]
Address = Annotated[str, AfterValidator(_check_address)]
Text = Annotated[str, AfterValidator(_check_text)]
"""Free text (a description): it becomes docstrings and comments."""
Plain = Annotated[str, AfterValidator(_check_plain)]
ServiceName = Annotated[str, AfterValidator(check_service_name)]
MessageRef = Annotated[str, AfterValidator(_check_message_ref)]
EnvString = Annotated[str, AfterValidator(_check_env_syntax)]
NonBlank = Annotated[str, AfterValidator(_check_not_blank)]
DedupeKey = Annotated[str, AfterValidator(_check_dedupe_key)]


EMPTY_LIST = BeforeValidator(lambda v: [] if v is None else v)
EMPTY_DICT = BeforeValidator(lambda v: {} if v is None else v)
"""A key left empty (``consumers:``) means none, as a YAML reader expects."""
