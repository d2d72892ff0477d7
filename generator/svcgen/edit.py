"""Edits of service.yaml for the ``add-*`` commands, as checked text insertions.

Each edit inserts text at a place found from the parsed file's node positions, so
every other character stays as it was: comments, key order, quoting, a byte order
mark, CRLF line ends. A new entry of a block list goes after the last entry's last
value and the comment lines indented under it; a list, a key or a whole section
that is missing, null or in flow style is filled in where it stands. The result is
read again and compared with the file as it was: unless the old entries are
unchanged and exactly the new one was added, nothing is written.
"""

from __future__ import annotations

import bisect
import copy
import json
import re
from collections.abc import Mapping
from io import StringIO
from typing import Any

from .errors import EditError
from .spec import parse_spec
from .spec_models import ServiceSpec
from .spec_reader import yaml_loader

_WIDTH = 4096
"""Wide enough that ruamel never wraps a scalar it writes."""

_BOM = "\ufeff"
_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
"""What the YAML reader counts as a line break (marks count lines by these)."""

_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_NULL = "tag:yaml.org,2002:null"


def add_entry(
    text: str,
    *,
    section: tuple[str, ...],
    what: str,
    entry: Mapping[str, Any],
    flow: bool,
) -> tuple[str, ServiceSpec]:
    """Append ``entry`` to the list at ``section``; return the new text and its spec.

    ``flow`` is the style of an entry in a new list; in an existing list the new
    entry takes the style of the last one. Raises EditError for a duplicate name or
    an edit that would change anything else, and SpecError when the result is
    invalid.
    """
    parse_spec(text)  # the file as it stands must be valid before it is edited
    doc = _Doc(text)
    items = doc.find(section)
    if items is not None and items.tag == _SEQ:
        for item in items.value:
            if item.tag == _MAP and _get(item, "name") == entry["name"]:
                raise EditError(
                    f"a {what} named {entry['name']!r} already exists in service.yaml "
                    f"(line {item.start_mark.line + 1}); choose another name, or edit "
                    "that entry"
                )
    if items is None or items.tag == _NULL:
        body = doc.set_path(section, [_Flow(entry) if flow else dict(entry)])
    elif items.flow_style:
        body = doc.append_flow(items, _flow(entry))
    else:
        body = doc.append_block_item(items, entry)
    expected = copy.deepcopy(doc.data)
    parent = expected
    for key in section[:-1]:
        if parent.get(key) is None:
            parent[key] = {}
        parent = parent[key]
    parent[section[-1]] = [*(parent.get(section[-1]) or []), dict(entry)]
    return doc.checked(body, expected, f"the {what} {entry['name']!r}")


def add_resource(
    text: str, *, resource: str, entry: Mapping[str, Any]
) -> tuple[str, ServiceSpec]:
    """Set ``resources.<resource>`` to ``entry`` (one flow mapping); return the new
    text and its spec. Raises EditError when the service already has that resource.
    """
    parse_spec(text)  # the file as it stands must be valid before it is edited
    doc = _Doc(text)
    resources = doc.find(("resources",))
    if resources is not None and resources.tag == _MAP:
        for key, _ in resources.value:
            if key.value == resource:
                raise EditError(
                    f"the service already has a {resource} (service.yaml line "
                    f"{key.start_mark.line + 1}); a service has one {resource}: edit "
                    "that entry instead"
                )
    body = doc.set_path(("resources", resource), _Flow(entry))
    expected = copy.deepcopy(doc.data)
    expected["resources"] = {**(expected.get("resources") or {}), resource: entry}
    return doc.checked(body, expected, f"the {resource}")


class _Flow(dict[str, Any]):
    """A mapping written in flow style: ``{a: 1, b: 2}``."""


class _Doc:
    """service.yaml as text (without its byte order mark), its node tree and data."""

    def __init__(self, text: str) -> None:
        self.bom = _BOM if text.startswith(_BOM) else ""
        self.body = text[len(self.bom) :]
        breaks = [m.group() for m in _BREAK.finditer(self.body)]
        ends = [b for b in ("\n", "\r\n", "\r") if b in breaks]
        self.newline = max(ends, key=breaks.count) if ends else "\n"
        self.starts = [0] + [m.end() for m in _BREAK.finditer(self.body)]
        loader = yaml_loader()(self.body)
        try:
            self.root: Any = loader.get_single_node()
            self.data: dict[str, Any] = loader.construct_document(self.root)
        finally:
            loader.dispose()
        self.seq_indent = self._guess_seq_indent()

    # -- finding ---------------------------------------------------------------

    def find(self, path: tuple[str, ...]) -> Any:
        """The node at ``path`` of mappings, or None when a key is missing."""
        node = self.root
        for key in path:
            if node is None or node.tag != _MAP:
                return None
            node = _value(node, key)
        return node

    def _guess_seq_indent(self) -> int:
        """How far a block list's dash sits right of its key, as the file does it."""
        for key, value in self.root.value if self.root.tag == _MAP else ():
            if value.tag == _SEQ and not value.flow_style:
                indent: int = value.start_mark.column - key.start_mark.column
                return max(0, indent)
        return 2

    def _line_of(self, index: int) -> int:
        return bisect.bisect_right(self.starts, index) - 1

    def _line_end(self, line: int) -> int:
        """The offset just past ``line`` and its line break."""
        return self.starts[line + 1] if line + 1 < len(self.starts) else len(self.body)

    def _last_line(self, node: Any) -> int:
        """The line of the last character of ``node``'s own text."""
        if node.tag in (_MAP, _SEQ) and not node.flow_style and node.value:
            children = (
                [n for pair in node.value for n in pair]
                if node.tag == _MAP
                else node.value
            )
            return max(self._last_line(child) for child in children)
        return self._line_of(max(node.end_mark.index - 1, node.start_mark.index))

    def _with_comments(self, line: int, indent: int) -> int:
        """``line``, or the last of the comment lines right after it that are
        indented deeper than ``indent`` (they belong to what ends on ``line``)."""
        while line + 1 < len(self.starts):
            text = self.body[self.starts[line + 1] : self._line_end(line + 1)]
            stripped = text.lstrip(" ")
            if not stripped.startswith("#") or len(text) - len(stripped) <= indent:
                break
            line += 1
        return line

    # -- editing ---------------------------------------------------------------

    def _after_line(self, line: int, lines: list[str], *, body: str = "") -> str:
        """The body (or ``body``, the same up to ``line``'s end) with ``lines``
        inserted after ``line``."""
        body = body or self.body
        at = self._line_end(line) - len(self.body) + len(body)
        head = body[:at]
        if head and _BREAK.match(head[-1]) is None:
            head += self.newline
        return head + "".join(x + self.newline for x in lines) + body[at:]

    def _at(self, index: int, text: str, *, drop: int = 0) -> str:
        return self.body[:index] + text + self.body[index + drop :]

    def append_block_item(self, items: Any, entry: Mapping[str, Any]) -> str:
        """The body with ``entry`` after the last item of the block list ``items``."""
        dash = items.start_mark.column
        last = items.value[-1]
        offset = max(2, last.start_mark.column - dash)
        if last.tag == _MAP and not last.flow_style:
            lines = _block_item(entry, offset)
        else:
            lines = ["-" + " " * (offset - 1) + _flow(entry)]
        end = self._with_comments(self._last_line(last), dash)
        return self._after_line(end, [" " * dash + line for line in lines])

    def append_flow(self, collection: Any, text: str) -> str:
        """The body with ``text`` as the last item of a flow list or mapping."""
        if collection.value:
            last = collection.value[-1]
            last = last[1] if collection.tag == _MAP else last
            return self._at(last.end_mark.index, ", " + text)
        return self._at(collection.end_mark.index - 1, text)

    def set_path(self, path: tuple[str, ...], value: Any) -> str:
        """The body with ``value`` at ``path``, whose first missing or null key is
        added or filled in (the mappings before it exist)."""
        node = self.root
        for i, key in enumerate(path):
            found = _pair(node, key)
            rest: Any = value
            for inner in reversed(path[i + 1 :]):
                rest = {inner: rest}
            if found is None:
                return self._add_key(node, key, rest)
            key_node, child = found
            if child.tag == _NULL:
                return self._fill(node, key_node, child, rest)
            node = child
        raise AssertionError(f"{'.'.join(path)} exists already")

    def _add_key(self, mapping: Any, key: str, value: Any) -> str:
        if mapping.flow_style:
            return self.append_flow(mapping, f"{key}: {_flow(value)}")
        lines = _block_key(key, value, self.seq_indent)
        if mapping is self.root:  # a new section goes at the end of the file
            return self._after_line(len(self.starts) - 1, lines)
        column = mapping.value[0][0].start_mark.column
        end = self._with_comments(self._last_line(mapping), column)
        return self._after_line(end, [" " * column + line for line in lines])

    def _fill(self, mapping: Any, key: Any, null: Any, value: Any) -> str:
        """The body with the null value of ``key`` replaced by ``value``."""
        start, end = null.start_mark.index, null.end_mark.index
        elsewhere = start != end and null.start_mark.line != key.start_mark.line
        if mapping.flow_style or elsewhere:
            space = "" if self.body[start - 1 : start].isspace() else " "
            return self._at(start, space + _flow(value), drop=end - start)
        column = key.start_mark.column
        block = _block_key(key.value, value, self.seq_indent)[1:]
        lines = [" " * column + line for line in block]
        return self._after_line(
            key.start_mark.line, lines, body=self._at(start, "", drop=end - start)
        )

    def checked(
        self, body: str, expected: dict[str, Any], what: str
    ) -> tuple[str, ServiceSpec]:
        """``body`` as the new file and its spec, when it reads as ``expected``."""
        import yaml

        try:
            data = yaml.load(body, Loader=yaml_loader())
        except yaml.YAMLError:
            data = None
        if data != expected:
            raise EditError(
                f"svcgen cannot add {what} to service.yaml without changing other "
                "lines' meaning (its layout here is unusual); add it by hand, then "
                "run svcgen generate"
            )
        text = self.bom + body
        return text, parse_spec(text)


def _pair(mapping: Any, key: str) -> tuple[Any, Any] | None:
    for k, v in mapping.value:
        if k.value == key:
            return k, v
    return None


def _value(mapping: Any, key: str) -> Any:
    found = _pair(mapping, key)
    return found[1] if found is not None else None


def _get(mapping: Any, key: str) -> Any:
    value = _value(mapping, key)
    return value.value if value is not None and isinstance(value.value, str) else None


def _block_key(key: str, value: Any, seq_indent: int) -> list[str]:
    """``key: value`` as block lines at column 0 (flow leaves stay on one line)."""
    if isinstance(value, list):
        lines = [f"{key}:"]
        for item in value:
            if isinstance(item, dict) and not isinstance(item, _Flow):
                item_lines = _block_item(item, 2)
            else:
                item_lines = ["- " + _flow(item)]
            lines += [" " * seq_indent + line for line in item_lines]
        return lines
    if isinstance(value, dict) and not isinstance(value, _Flow):
        lines = [f"{key}:"]
        for k, v in value.items():
            lines += ["  " + line for line in _block_key(k, v, seq_indent)]
        return lines
    return [f"{key}: {_flow(value)}"]


def _block_item(entry: Mapping[str, Any], offset: int) -> list[str]:
    """A block list item: ``- k: v`` and its other keys ``offset`` right of the dash."""
    lines: list[str] = []
    for k, v in entry.items():
        lines += [" " * offset + line for line in _block_key(k, v, 2)]
    lines[0] = "-" + " " * (offset - 1) + lines[0][offset:]
    return lines


def _flow(value: Any) -> str:
    """``value`` in flow style on one line."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    """One scalar as ruamel writes it in a flow list, or double-quoted when that
    would take more than one line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedSeq

    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    yaml = YAML(typ="rt")
    yaml.width = _WIDTH
    seq = CommentedSeq([value])
    seq.fa.set_flow_style()
    out = StringIO()
    yaml.dump(seq, out)
    text = out.getvalue().strip()
    if text.startswith("[") and text.endswith("]") and not _BREAK.search(text):
        plain = text[1:-1].strip()
        if _reads_back(plain, value):
            return plain
    return json.dumps(str(value))


def _reads_back(text: str, value: Any) -> bool:
    """Whether ``text`` is ``value`` both as a block mapping's value and inside a
    flow mapping (ruamel's flow-list form of ``?x`` is not, as a block value)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="safe", pure=True)
    try:
        return bool(
            yaml.load(f"k: {text}\n") == {"k": value}
            and yaml.load(f"{{k: {text}}}\n") == {"k": value}
        )
    except YAMLError:
        return False
