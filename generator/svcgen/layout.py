"""black's layout, printed by the templates: literals quoted as black quotes them,
docstrings, and brackets that fit on a line or split one item per line as black
splits them (``lay_out``), so black makes one pass over a render, or none (the stubs,
``formatting.parsed``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

WIDTH: Final = 88  # black's line length

# black's layout of the shapes the templates print; anything it gets wrong black
# still puts right, only slower (test_golden.py holds every render to black's output).

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
    backslashes doubled, and each quote that could help close it escaped."""
    text = text.replace("\\", "\\\\")
    return _CLOSING_QUOTE.sub('\\\\"', text)


_CLOSING_QUOTE: Final = re.compile(r'"(?="|\Z)')


def _string(text: str) -> str:
    """A string literal in double quotes, unless single ones need fewer backslashes."""
    if text.count('"') > text.count("'"):
        return repr(text)  # repr picks single quotes here, as black does
    body = "".join(
        '\\"' if ch == '"' else "'" if ch == "'" else repr(ch)[1:-1] for ch in text
    )
    return f'"{body}"'


@dataclass(frozen=True)
class Bracket:
    """``head`` + items separated by ", " + ``tail``: a call, a signature, a literal.

    ``split`` is what black does when the whole does not fit on one line: ``fit``
    (a call, a signature) puts the items on one indented line if they fit, else one
    a line; ``items`` (a list, an import) one a line; ``always`` one a line even when
    all would fit, as for black's "magic trailing comma".
    """

    head: str
    items: Sequence[Item]
    tail: str
    split: Split = "fit"
    lone_comma: bool = False
    """Split, a lone item gets a trailing comma too, as in an import or a signature."""

    def flat(self) -> str:
        return self.head + ", ".join(flat(item) for item in self.items) + self.tail

    def can_be_flat(self) -> bool:
        """False when black lays it out one item a line whatever the width."""
        magic = self.split == "always" and bool(self.items)
        return not magic and _all_flat(self.items)


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
    return (
        prefix + item
        if isinstance(item, str)
        else replace(item, head=prefix + item.head)
    )


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
    return "\n".join(
        [f"{module} import (", *(f"    {n}," for n in names.split(", ")), ")"]
    )
