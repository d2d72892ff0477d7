"""Reading service.yaml: its text, its YAML, and the position of every key and value.

The YAML is read with PyYAML's libyaml-backed safe loader (YAML 1.2 booleans;
``add-*`` edits use ruamel's round trip instead, see ``edit``) into plain dicts,
lists and scalars, with the 1-based line and column of each key and value by path,
so every problem found later is reported where it is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, NamedTuple

from .errors import ProjectError, SpecError, SpecIssue
from .spec_values import describe

SPEC_FILENAME: Final = "service.yaml"

Loc = tuple[str | int, ...]
"""A path into the spec: keys and list indexes, ``("consumers", 0, "name")``."""


class Mark(NamedTuple):
    """A 1-based position in the spec's text."""

    line: int
    column: int


def _start(node: Any) -> Mark:
    """Where a YAML node starts."""
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class Positions:
    """1-based (line, column) of every key and value, by path."""

    def __init__(self) -> None:
        self.values: dict[Loc, Mark] = {(): Mark(1, 1)}
        self.keys: dict[Loc, Mark] = {}

    def value(self, loc: Loc) -> Mark:
        while loc not in self.values:
            loc = loc[:-1]
        return self.values[loc]

    def key(self, loc: Loc) -> Mark:
        return self.keys.get(loc) or self.value(loc)


_PLAIN_TAGS: Final = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)
"""The tags a spec may use: plain YAML, nothing that builds objects."""


class _Refused(Exception):
    """A value svcgen will not read, at ``loc``."""

    def __init__(self, loc: Loc, message: str, *, at: Mark | None = None) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.at = at
        """The position, when it is not that of ``loc``'s value (a key's)."""


class _Reader:
    """Turns a composed YAML node into plain dicts, lists and scalars, recording
    the position of every key and value; refuses tags that build objects, a
    recursive alias, and aliases that expand past ``VALUES_MAX`` values."""

    def __init__(self, construct: Any) -> None:
        self.pos = Positions()
        self._construct = construct
        self._count = 0
        self._open: set[int] = set()

    def plain(self, node: Any, loc: Loc) -> Any:
        from yaml.nodes import MappingNode, SequenceNode

        self._count += 1
        if self._count > VALUES_MAX:
            raise _Refused(
                loc,
                f"the aliases here expand to more than {VALUES_MAX:,} values; write "
                "the values out, or use fewer aliases",
            )
        tag = str(node.tag)
        if tag not in _PLAIN_TAGS:
            raise _Refused(
                loc,
                f"unknown tag {tag.removeprefix('tag:yaml.org,2002:')!r}: a spec is "
                "plain YAML (strings, numbers, booleans, lists, mappings); remove "
                "the tag",
            )
        if not isinstance(node, MappingNode | SequenceNode):
            return self._scalar(node, loc)
        if id(node) in self._open:
            raise _Refused(
                loc,
                "this alias refers to a list or mapping that contains it, so the "
                "value never ends; write the value out instead",
            )
        if len(loc) > DEPTH_MAX:
            raise _Refused(
                loc, f"nested more than {DEPTH_MAX} levels deep; a spec needs a few"
            )
        self._open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, loc)
            return self._sequence(node, loc)
        finally:
            self._open.discard(id(node))

    def _mapping(self, node: Any, loc: Loc) -> dict[str, Any]:
        from yaml.nodes import ScalarNode

        out: dict[str, Any] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise _Refused(
                    loc,
                    "a key is a word, not a list or a mapping; write it as one",
                    at=_start(key),
                )
            name = str(key.value)
            if name in out:
                continue  # a duplicate key: reported, and the first one is validated
            child = (*loc, name)
            self.pos.keys[child] = _start(key)
            self.pos.values[child] = _start(value)
            out[name] = self.plain(value, child)
        return out

    def _sequence(self, node: Any, loc: Loc) -> list[Any]:
        items = []
        for i, item in enumerate(node.value):
            self.pos.values[(*loc, i)] = _start(item)
            items.append(self.plain(item, (*loc, i)))
        return items

    def _scalar(self, node: Any, loc: Loc) -> Any:
        import yaml

        if str(node.tag).endswith(":timestamp"):
            return str(node.value)
        try:
            value = self._construct(node)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise _Refused(
                loc, f"cannot read {str(node.value)[:40]!r} as its tag says: {exc}"
            ) from None
        if isinstance(value, bool) or value is None:
            return value
        for kind in (int, float, str):
            if isinstance(value, kind):
                return kind(value)
        return value


def _duplicate_keys(root: Any) -> Iterator[SpecIssue]:
    """Every key that appears twice in one mapping (YAML forbids it)."""
    from yaml.nodes import MappingNode, SequenceNode

    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                name = str(key.value)
                child = f"{path}.{name}" if path else name
                if name in seen:
                    yield SpecIssue(
                        *_start(key),
                        child,
                        f"duplicate key {name!r} (first defined on line {seen[name]}); "
                        "keep one of them",
                    )
                else:
                    seen[name] = key.start_mark.line + 1
                stack.append((value, child))
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, f"{path}[{i}]"))


SPEC_MAX_BYTES: Final = 1_000_000
"""The largest spec svcgen reads (the 50-consumer benchmark spec is 12 kB)."""
VALUES_MAX: Final = 100_000
"""The most values a spec may hold once its aliases are expanded."""
DEPTH_MAX: Final = 50
"""The deepest nesting of mappings and lists (a spec needs five levels)."""


def read_spec(path: Path) -> str:
    """The text of the spec at ``path``.

    Raises:
        SpecError: the file is missing, or is not UTF-8 (at the first bad byte).
        ProjectError: ``path`` is a directory, or cannot be read.
    """
    try:
        if path.is_file() and path.stat().st_size > SPEC_MAX_BYTES:
            raise ProjectError(
                f"{path} is larger than {SPEC_MAX_BYTES:,} bytes, more than any "
                "spec needs; check that it is the service's spec"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        where = path.parent if path.parent.is_dir() else f"{path.parent} (missing)"
        raise ProjectError(
            f"there is no {path.name} in {where}: run svcgen in a service's "
            "directory, pass --dir the directory that holds it, or create one with "
            "svcgen new NAME"
        ) from None
    except IsADirectoryError:
        raise ProjectError(
            f"{path} is a directory, not a file: move it out of the way and write "
            f"the service's spec there as a file (svcgen new NAME creates one)"
        ) from None
    except PermissionError:
        raise ProjectError(
            f"cannot read {path}: permission denied; make it readable, such as "
            f"with chmod u+r {path}"
        ) from None
    except NotADirectoryError:
        raise ProjectError(
            f"cannot read {path}: {path.parent} is not a directory; pass --dir the "
            "directory that holds service.yaml"
        ) from None
    except OSError as exc:
        raise ProjectError(
            f"cannot read {path}: {exc.strerror or exc}; check the file and its "
            "directory, then run svcgen again"
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[start : exc.start].decode("utf-8", "replace")) + 1
        raise SpecError(
            [
                SpecIssue(
                    line,
                    column,
                    "",
                    f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} "
                    "here); save it as UTF-8",
                )
            ],
            filename=str(path),
        ) from None


_YAML_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
"""What YAML (PyYAML) counts as a line break."""


def inside(text: str, line: int, column: int) -> Mark:
    """``(line, column)`` moved onto the text: a parser's mark just past the end
    (a last line without a newline, or an empty one) becomes the end of the last
    line, so an editor can jump to it."""
    lines = _YAML_BREAK.split(text)
    if len(lines) > 1 and not lines[-1]:
        lines.pop()  # the break that ends the last line opens no line of its own
    if line > len(lines):
        line, column = len(lines), len(lines[-1]) + 1
    line = max(line, 1)
    return Mark(line, max(1, min(column, len(lines[line - 1]) + 1)))


@functools.cache
def yaml_loader() -> type[Any]:
    """PyYAML's libyaml-backed safe loader class (fast), with YAML 1.2 booleans only;
    made once (PyYAML is untyped here, hence ``type[Any]``).

    Reading is done with libyaml for speed; edits (``add-*``) use ruamel's round
    trip, which keeps comments. Booleans are YAML 1.2's ``true``/``false``, so
    ``on``/``yes``/``no`` stay strings, as ruamel reads them.
    """
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    bool_tag = "tag:yaml.org,2002:bool"

    class Loader(base):  # type: ignore[valid-type,misc]
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != bool_tag]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return Loader


class ParsedYaml(NamedTuple):
    """A spec's top-level mapping, as plain values."""

    data: dict[str, Any]
    positions: Positions
    duplicates: list[SpecIssue]
    """Keys given twice in one mapping (the first of each is kept)."""


def parse_yaml(text: str, filename: str) -> ParsedYaml:
    """The top-level mapping, its positions, and its duplicate keys (the first of
    each is kept, so every other problem is still found); raise SpecError when the
    text is not YAML or not a mapping."""
    import yaml

    loader = yaml_loader()(text)
    try:
        tree = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "cannot be parsed"
        raise SpecError(
            [SpecIssue(*inside(text, line, col), "", f"malformed YAML: {problem}")],
            filename=filename,
        ) from None
    except yaml.reader.ReaderError as exc:
        before = _YAML_BREAK.split(text[: exc.position])
        line, col = len(before), len(before[-1]) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise SpecError(
            [
                SpecIssue(
                    *inside(text, line, col),
                    "",
                    f"the control character {char!r} is not allowed in YAML; remove it",
                )
            ],
            filename=filename,
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(
            [SpecIssue(1, 1, "", f"malformed YAML: {' '.join(str(exc).split())}")],
            filename=filename,
        ) from None
    except RecursionError:
        raise SpecError(
            [SpecIssue(1, 1, "", f"nested more than {DEPTH_MAX} levels deep")],
            filename=filename,
        ) from None
    finally:
        loader.dispose()
    if tree is None:
        raise SpecError(
            [
                SpecIssue(
                    1, 1, "", "the file is empty; write at least `name: <service>`"
                )
            ],
            filename=filename,
        )
    reader = _Reader(lambda n: loader.construct_object(n, deep=True))
    pos = reader.pos
    try:
        data = reader.plain(tree, ())
    except _Refused as exc:
        line, col = exc.at or pos.value(exc.loc)
        raise SpecError(
            [SpecIssue(*inside(text, line, col), loc_path(exc.loc), exc.message)],
            filename=filename,
        ) from None
    duplicates = list(_duplicate_keys(tree))
    if not isinstance(data, dict):
        raise SpecError(
            [
                SpecIssue(
                    *pos.value(()),
                    "",
                    f"expected a mapping of keys (name, brokers, consumers, ...) at "
                    f"the top level, got {describe(data)}",
                )
            ],
            filename=filename,
        )
    return ParsedYaml(data, pos, duplicates)


def loc_path(loc: Loc) -> str:
    """``loc`` as an issue names it: ``consumers[0].retry.max``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
