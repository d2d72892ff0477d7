"""The spec's lifecycle hooks and middleware: ``hooks``, ``middleware`` and a
consumer's ``middleware``, each a list of ``module:function`` import paths.

An import path is untrusted text that becomes an import statement in app.py, so
it is held to what such a statement can say and nothing more: dotted Python
identifiers, a colon and a snake_case function name, no keywords and no dunder
names (``__import__``, ``__builtins__``). app.py imports each under an alias of
its own (``plan_hooks``), so no name can shadow one of app.py's.

Also the base model of every spec model (``spec_models`` imports it), kept here
so that module stays within its size.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .spec_values import ADDRESS_MAX, EMPTY_LIST, check_import_part


class SpecModel(BaseModel):
    """A mapping of service.yaml: unknown keys refused, values as written."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True
    )


_FUNCTION_REF: Final = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
)
_EXAMPLE: Final = "such as shop.middleware:log_context"


def check_function_ref(value: str) -> str:
    """``value`` if it is ``dotted.module:function`` as app.py may import it."""
    if len(value) > ADDRESS_MAX:
        raise ValueError(
            f"{value[:40]!r}... is longer than {ADDRESS_MAX} characters; shorten "
            "the module path"
        )
    if not _FUNCTION_REF.match(value):
        raise ValueError(
            f"{value[:60]!r} is not an import path: write module:function, {_EXAMPLE}"
        )
    module, function = value.split(":")
    for part in (*module.split("."), function):
        if part.startswith("__"):  # (no keyword starts with __)
            raise ValueError(
                f"{value!r} has the name {part!r}; a name starting with __ is "
                f"Python's own: name your module and function, {_EXAMPLE}"
            )
        check_import_part(value, part)
    if function == "annotations":  # a stub of it starts: from __future__ import ...
        raise ValueError(
            f"{value!r} names 'annotations', which the module's own "
            "'from __future__ import annotations' takes; rename the function"
        )
    if function != function.lower():
        raise ValueError(
            f"{value!r} names {function!r}; name a function in snake_case, such as "
            f"{function.lower()}"
        )
    return value


FunctionRef = Annotated[str, AfterValidator(check_function_ref)]
FunctionRefs = Annotated[list[FunctionRef], EMPTY_LIST]


class HooksSpec(SpecModel):
    """Functions run once per process, each ``async def hook(ctx) -> None``, one
    after another in listed order."""

    on_start: FunctionRefs = Field(default_factory=list)
    """After the resources open and the brokers connect, before any consumer takes
    a message or a route a request; an exception fails the start (exit 3)."""
    on_stop: FunctionRefs = Field(default_factory=list)
    """After the drain, before the brokers and resources close (in listed order,
    not reversed); an exception is logged and the next hook still runs."""


class MiddlewareSpec(SpecModel):
    """Functions around every handler, the first listed outermost: each sees the
    message, the context and the outcome, and may return another outcome."""

    consumers: FunctionRefs = Field(default_factory=list)
    """Around every consumer's handler: ``async def mw(received, ctx, call_next) ->
    Outcome`` (``svcgen_runtime.middleware``); an exception in one is the
    handler's (retried, then dead-lettered), the consumer's timeout covers them."""
    http: FunctionRefs = Field(default_factory=list)
    """Around every route: ``async def mw(request, ctx, call_next) -> Response``
    (``svcgen_runtime.http.route_chain``); an exception in one is a 500."""
