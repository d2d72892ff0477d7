"""black's layout of the few shapes svcgen's templates print, so a render is already
black's output.

black still formats every file (``render.format_python``), but ``black.format_str``
formats a second time whenever its first pass changed anything; on a render that is
already black-stable it makes one pass, which halves the cost of a cold generate.
These helpers cover what the templates need (string literals, ``from`` imports, one
bracket pair with its arguments, nested calls); anything they get wrong is still
put right by black, only slower. ``tests/generator/test_golden.py`` holds every
golden case and the benchmark spec to "the render is black's output".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

WIDTH: Final = 88
"""black's line length (``render._BLACK_MODE``)."""

Split = Literal["fit", "items", "always"]


def py_literal(value: object) -> str:
    """A Python literal for a plain value, quoted as black quotes strings."""
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int | float | bool) or value is None:
        return repr(value)
    raise TypeError(f"no literal for {type(value).__name__}")


def docstring_text(text: str) -> str:
    """``text`` as it may stand inside a ``\"\"\"`` docstring and read back as itself:
    backslashes doubled, and each quote that could help close the docstring (one
    followed by another, or the last character) escaped. String literals go
    through ``py_literal``; these two are how spec values reach generated code."""
    text = text.replace("\\", "\\\\")
    return _CLOSING_QUOTE.sub('\\\\"', text)


_CLOSING_QUOTE: Final = re.compile(r'"(?="|\Z)')


def _string(text: str) -> str:
    """A string literal quoted as black quotes it: in double quotes unless they
    would need more backslashes than single quotes do."""
    if text.count('"') > text.count("'"):
        return repr(text)  # repr picks single quotes here, as black does
    body = "".join(
        '\\"' if ch == '"' else "'" if ch == "'" else repr(ch)[1:-1] for ch in text
    )
    return f'"{body}"'


@dataclass(frozen=True)
class Bracket:
    """``head`` + items separated by ", " + ``tail``: a call, a signature, a literal.

    ``head`` ends with the opening bracket and ``tail`` starts with the closing one.
    ``split`` is what black does when the whole does not fit on one line: ``fit``
    (a call or a signature) puts the items on one indented line when they fit
    there, else one a line; ``items`` (a list, a tuple, an import) goes straight
    to one a line; ``always`` lays out one a line even when everything would fit,
    as black does for a bracket whose last item has a trailing comma (its "magic
    trailing comma"), except in a one-item tuple (``one_tuple``).
    """

    head: str
    items: Sequence[Item]
    tail: str
    split: Split = "fit"
    one_tuple: bool = False
    """A tuple literal: one item keeps its comma (``("a",)``), and stays on one line."""
    lone_comma: bool = False
    """Split, a lone item gets a trailing comma too, as in an import or a signature."""
    flat_head: str | None = None
    """The head on one line, when it differs (``from m import`` has no bracket)."""
    flat_tail: str | None = None

    def flat(self) -> str:
        inner = ", ".join(flat(item) for item in self.items)
        if self.one_tuple and len(self.items) == 1:
            inner += ","
        head = self.head if self.flat_head is None else self.flat_head
        tail = self.tail if self.flat_tail is None else self.flat_tail
        return f"{head}{inner}{tail}"

    def can_be_flat(self) -> bool:
        """False when black lays it out one item a line whatever the width."""
        magic = self.split == "always" and not (self.one_tuple and len(self.items) == 1)
        return not (magic and self.items) and _all_flat(self.items)


@dataclass(frozen=True)
class Sum:
    """``head`` followed by ``a + b + ...``; split, black puts each ``+ operand`` on
    a line of its own at the same indentation (as in a keyword argument)."""

    head: str
    items: Sequence[str | Bracket]

    def flat(self) -> str:
        return self.head + " + ".join(flat(item) for item in self.items)

    def can_be_flat(self) -> bool:
        return _all_flat(self.items)


Item = str | Bracket | Sum


def flat(item: Item) -> str:
    return item if isinstance(item, str) else item.flat()


def _all_flat(items: Sequence[Item]) -> bool:
    """True when black may put every one of ``items`` on one line."""
    return all(isinstance(i, str) or i.can_be_flat() for i in items)


def prefixed(prefix: str, item: str | Bracket) -> str | Bracket:
    """``item`` with ``prefix`` (such as ``name=``) glued to its start."""
    if isinstance(item, str):
        return prefix + item
    flat_head = None if item.flat_head is None else prefix + item.flat_head
    return replace(item, head=prefix + item.head, flat_head=flat_head)


def lay_out(item: Item, indent: int = 0, suffix: str = "") -> str:
    """``item`` followed by ``suffix`` at ``indent`` spaces, as black lays it out."""
    return "\n".join(_lines(item, indent, suffix))


def _lines(item: Item, indent: int, suffix: str) -> list[str]:
    pad = " " * indent
    if isinstance(item, str):
        return [f"{pad}{item}{suffix}"]
    one = f"{pad}{item.flat()}{suffix}"
    if item.can_be_flat() and len(one) <= WIDTH:
        return [one]
    if isinstance(item, Sum):
        first, *rest = item.items
        lines = _lines(prefixed(item.head, first), indent, "")
        for n, operand in enumerate(rest, 1):
            end = suffix if n == len(rest) else ""
            lines += _lines(prefixed("+ ", operand), indent, end)
        return lines
    inner = indent + 4
    head, tail = f"{pad}{item.head}", f"{pad}{item.tail}{suffix}"
    if item.split == "fit" and _all_flat(item.items):
        body = " " * inner + ", ".join(flat(i) for i in item.items)
        if len(body) <= WIDTH:
            return [head, body, tail]
    if len(item.items) == 1 and not (item.split == "always" or item.lone_comma):
        return [head, *_lines(item.items[0], inner, ""), tail]  # no comma is added
    lines = [head]
    for i in item.items:
        lines += _lines(i, inner, ",")
    return [*lines, tail]


def import_line(line: str) -> str:
    """A ``from m import a, b`` line, split into one name a line when too long."""
    if len(line) <= WIDTH or " import " not in line:
        return line
    module, _, names = line.partition(" import ")
    return lay_out(
        Bracket(
            f"{module} import (",
            names.split(", "),
            ")",
            split="items",
            lone_comma=True,
            flat_head=f"{module} import ",
            flat_tail="",
        )
    )
