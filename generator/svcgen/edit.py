"""Edits of service.yaml for the ``add-*`` commands, keeping comments, order and layout.

The file is loaded with ruamel's round-trip mode to find the list and refuse a
duplicate name, and the result is validated as a whole before anything is written.
A new entry of a block list is inserted as text right after the last entry and the
comment lines indented under it, so every other line stays as it was: ruamel would
move a comment that follows the last entry under the new one. Only a list that is
missing, empty or in flow style is written by ruamel's dump.
"""

from __future__ import annotations

from collections.abc import Mapping
from io import StringIO
from typing import Any

from .errors import EditError
from .spec import ServiceSpec, parse_spec

_WIDTH = 4096
"""Wide enough that ruamel never re-wraps a user's long line."""


def _yaml(text: str) -> Any:
    """A round-trip YAML that indents lists the way ``text`` already does."""
    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    _, sequence, offset = load_yaml_guess_indent(text)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = _WIDTH
    offset = offset if offset is not None else 2
    yaml.indent(mapping=2, sequence=sequence or 4, offset=offset)
    return yaml


def add_entry(
    text: str,
    *,
    section: tuple[str, ...],
    what: str,
    entry: Mapping[str, Any],
    flow: bool,
) -> tuple[str, ServiceSpec]:
    """Append ``entry`` to the list at ``section``; return the new text and its spec.

    Raises EditError for a duplicate name and SpecError when the result is invalid.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = _yaml(text)
    parse_spec(text)  # the file as it stands must be valid before it is edited
    data = yaml.load(text)
    parent = data
    for key in section[:-1]:
        if parent.get(key) is None:
            parent[key] = CommentedMap()
        parent = parent[key]
    items = parent.get(section[-1])
    if items is None:
        items = CommentedSeq()
        parent[section[-1]] = items
    for i, item in enumerate(items):
        if isinstance(item, Mapping) and item.get("name") == entry["name"]:
            line = items.lc.item(i)[0] + 1
            raise EditError(
                f"a {what} named {entry['name']!r} already exists in service.yaml "
                f"(line {line}); choose another name, or edit that entry"
            )
    new = CommentedMap(entry)
    if items:
        last = items[-1]
        flow = bool(getattr(last, "fa", None) and last.fa.flow_style())
    if flow:
        new.fa.set_flow_style()
    if items and not items.fa.flow_style():
        result = _insert_after_last(text, items, new, yaml)
    else:
        items.append(new)
        result = _dumped(data, yaml)
    return result, parse_spec(result)


def _insert_after_last(text: str, items: Any, new: Any, yaml: Any) -> str:
    """``text`` with ``new`` as a block list's next entry, written as ruamel would,
    after the last entry and the comment lines indented under it (a comment after a
    blank line, or at the list's indentation, introduces what follows instead)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    lines = text.splitlines(keepends=True)
    start, column = items.lc.item(len(items) - 1)
    first = lines[start]
    dash = _indent(first) if first.lstrip().startswith("-") else column - 2
    end = _block_end(lines, start, dash)
    fragment = _dumped(CommentedMap({"items": CommentedSeq([new])}), yaml)
    fragment_lines = fragment.splitlines(keepends=True)[1:]
    shift = dash - _indent(fragment_lines[0])
    newline = _newline(text)
    added = [
        (" " * shift + line if shift >= 0 else line[-shift:]).replace("\n", newline)
        for line in fragment_lines
    ]
    if not lines[end].endswith("\n"):
        lines[end] += newline
    return "".join(lines[: end + 1] + added + lines[end + 1 :])


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """The last line of the entry starting at ``start``: the lines indented deeper
    than ``indent`` after it, and their comments, but not a comment after a blank
    line (it introduces what follows)."""
    end, blank = start, False
    for i in range(start + 1, len(lines)):
        stripped = lines[i].strip()
        if not stripped:
            blank = True
        elif _indent(lines[i]) <= indent:
            break
        elif not stripped.startswith("#") or not blank:
            end, blank = i, False
    return end


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def add_resource(
    text: str, *, resource: str, entry: Mapping[str, Any]
) -> tuple[str, ServiceSpec]:
    """Set ``resources.<resource>`` to ``entry`` (one flow mapping); return the new
    text and its spec. Raises EditError when the service already has that resource.

    In a block ``resources:`` mapping the new key is inserted as text after the
    mapping's last line, and a missing ``resources:`` is appended at the end, so
    every other line stays as it was; a flow mapping, or a ``resources:`` that
    is empty or null, is rewritten by ruamel.
    """
    from ruamel.yaml.comments import CommentedMap

    yaml = _yaml(text)
    parse_spec(text)  # the file as it stands must be valid before it is edited
    data = yaml.load(text)
    resources = data.get("resources")  # a mapping or null: the spec is valid
    if resources and resources.get(resource) is not None:
        line = resources.lc.key(resource)[0] + 1
        raise EditError(
            f"the service already has a {resource} (service.yaml line {line}); a "
            f"service has one {resource}: edit that entry instead"
        )
    new = CommentedMap(entry)
    new.fa.set_flow_style()
    if "resources" not in data:  # appended: no other line moves
        newline = _newline(text)
        head = text if not text or text.endswith(("\n", "\r")) else text + newline
        body = _dumped(CommentedMap({resource: new}), yaml)
        result = head + "resources:" + newline + _indented(body, 2, newline)
    elif not resources or resources.fa.flow_style():  # null, {} or a flow mapping
        if not resources:
            data["resources"] = resources = CommentedMap()
        resources[resource] = new
        result = _dumped(data, yaml)
    else:
        result = _insert_key_last(text, resources, resource, new, yaml)
    return result, parse_spec(result)


def _dumped(node: Any, yaml: Any) -> str:
    """``node`` (a document or a fragment) as ``yaml`` writes it."""
    out = StringIO()
    yaml.dump(node, out)
    return out.getvalue()


def _newline(text: str) -> str:
    """The line ending ``text`` uses."""
    return "\r\n" if "\r\n" in text else "\n"


def _indented(body: str, by: int, newline: str) -> str:
    return "".join(
        " " * by + line.rstrip("\r\n") + newline for line in body.splitlines() if line
    )


def _insert_key_last(text: str, mapping: Any, key: str, value: Any, yaml: Any) -> str:
    """``text`` with ``key: value`` added after the last key of a block mapping (and
    the lines, comments included, indented under it), at that key's indentation."""
    from ruamel.yaml.comments import CommentedMap

    lines = text.splitlines(keepends=True)
    last = list(mapping)[-1]
    start, column = mapping.lc.key(last)
    end = _block_end(lines, start, column)
    newline = _newline(text)
    if not lines[end].endswith("\n"):
        lines[end] += newline
    added = _indented(_dumped(CommentedMap({key: value}), yaml), column, newline)
    return "".join(lines[: end + 1]) + added + "".join(lines[end + 1 :])
