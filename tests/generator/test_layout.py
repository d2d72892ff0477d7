"""svcgen's layout helpers print what black prints, so black's pass changes nothing."""

from __future__ import annotations

import pytest

from svcgen import render
from svcgen.layout import Bracket, Item, Sum, import_line, lay_out, py_literal

LONG = "a_rather_long_name_for_a_value"


def _black(text: str) -> str:
    return render._run_black("test", text)


def _names(n: int, stem: str = "name") -> list[str]:
    return [f"{stem}_{i:02d}" for i in range(n)]


def _call(n: int) -> Bracket:
    return Bracket("value = build(", [f"{name}={name}" for name in _names(n)], ")")


# Shapes without a trailing comma: black's layout of the one-line form is ours.
FREE: dict[str, Item] = {
    "call that fits": _call(2),
    "call whose arguments fit on one line": _call(5),
    "call with one argument a line": _call(9),
    "call with one long argument": Bracket("value = build(", [f'"{"x" * 90}"'], ")"),
    "list that fits": Bracket("value = [", _names(3), "]", split="items"),
    "list too long": Bracket("value = [", _names(9), "]", split="items"),
    "one-tuple": Bracket("value = (", ['"a"'], ")", split="always", one_tuple=True),
    "nested calls": Bracket(
        "port = _port(",
        [
            Bracket("_env(", ["env", '"HTTP_PORT"', f'default="{LONG}"'], ")"),
            f'needed_by="{LONG}"',
        ],
        ")",
    ),
    "signature": Bracket(
        "async def handle(",
        ["ctx: Context", f"message: {LONG.title()}", "raw: InboundMessage"],
        ") -> Outcome | None:",
        lone_comma=True,
    ),
    "concatenation in a keyword argument": Bracket(
        "settings = Settings(",
        [
            Sum(
                "url=",
                [
                    '"amqp://"',
                    Bracket("_env(", ["env", '"USER"', f'default="{LONG}"'], ")"),
                    '"@"',
                    Bracket("_env(", ["env", '"HOST"', f'default="{LONG}"'], ")"),
                ],
            ),
            "port=8000",
        ],
        ")",
    ),
}

# Shapes with black's "magic trailing comma": one item a line, whatever the width.
MAGIC: dict[str, Item] = {
    "exploded list": Bracket("value = [", _names(2), "]", split="always"),
    "exploded tuple": Bracket(
        "value = (", _names(2), ")", split="always", one_tuple=True
    ),
    "call of an exploded list": Bracket(
        "value = dict.fromkeys(", [Bracket("[", _names(2), "]", split="always")], ")"
    ),
    "list holding an exploded call": Bracket(
        "value = [",
        ["first", Bracket("make(", _names(2), ")", split="always")],
        "]",
        split="items",
    ),
}


def _statement(item: Item, indent: int) -> str:
    text = lay_out(item, indent) + "\n"
    if item is FREE["signature"]:
        text += " " * (indent + 4) + "return None\n"
    return text if indent == 0 else "def outer():\n" + text


@pytest.mark.parametrize("indent", [0, 4])
@pytest.mark.parametrize("name", sorted(FREE))
def test_a_shape_is_laid_out_as_black_lays_out_its_one_line_form(
    name: str, indent: int
) -> None:
    ours = _statement(FREE[name], indent)
    one_line = ours.replace(lay_out(FREE[name], indent), " " * indent + _flat(name))
    assert _black(one_line) == ours


@pytest.mark.parametrize("indent", [0, 4])
@pytest.mark.parametrize("name", sorted(MAGIC))
def test_a_magic_trailing_comma_shape_is_black_stable(name: str, indent: int) -> None:
    ours = _statement(MAGIC[name], indent)
    assert "\n" in lay_out(MAGIC[name], indent)
    assert _black(ours) == ours


def _flat(name: str) -> str:
    item = FREE[name]
    return item if isinstance(item, str) else item.flat()


@pytest.mark.parametrize(
    "line",
    [
        "from svcgen_runtime import Ack, Consumer",
        "from svcgen_runtime import " + ", ".join(f"Name{i:02d}" for i in range(12)),
        f"from {'package.' * 8}module import {LONG}_{LONG}",
    ],
)
def test_import_lines_match_black(line: str) -> None:
    ours = import_line(line) + "\n"
    assert _black(line + "\n") == ours


LITERALS: list[object] = [
    *["plain", "it's", 'say "hi"', "both ' and \"", '"two" to \'one', "back\\slash"],
    *["tab\there", "ünïcode", "", 3, 2.5, True, None],
]


@pytest.mark.parametrize("value", LITERALS)
def test_literals_are_quoted_as_black_quotes_them(value: object) -> None:
    text = f"x = {py_literal(value)}\n"
    assert _black(text) == text
    assert eval(py_literal(value)) == value
