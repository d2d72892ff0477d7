"""``add-*`` edits of service.yaml: every verb on every shape of its section, and the
edits that must be refused without touching a file."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from svcgen.cli import main

HEAD = (
    "# the shop service\nname: shop\nbrokers:\n  local: {kind: memory}  # in-process\n"
)
TAIL = "# the end of the spec\nshutdown: {drain_timeout: 10s}\n"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@dataclass(frozen=True)
class Verb:
    """One add-* command, the section it edits, and an entry already there."""

    args: tuple[str, ...]
    section: tuple[str, ...]
    old: dict[str, Any]
    new: dict[str, Any]
    stub: str | None
    head: str = HEAD


VERBS = {
    "consumer": Verb(
        ("add-consumer", "fresh", "--broker", "local", "--source", "s.fresh"),
        ("consumers",),
        {"name": "old", "broker": "local", "source": "s.old", "concurrency": 4},
        {"name": "fresh", "broker": "local", "source": "s.fresh"},
        "src/shop/handlers/fresh.py",
    ),
    "route": Verb(
        ("add-route", "fresh", "--method", "post", "--path", "/fresh/{id}"),
        ("http", "routes"),
        {"name": "old", "method": "GET", "path": "/old"},
        {"name": "fresh", "method": "POST", "path": "/fresh/{id}"},
        "src/shop/routes/fresh.py",
    ),
    "publisher": Verb(
        ("add-publisher", "fresh", "--broker", "local", "--target", "t.fresh"),
        ("publishers",),
        {"name": "old", "broker": "local", "target": "t.old"},
        {"name": "fresh", "broker": "local", "target": "t.fresh"},
        None,
    ),
    "task": Verb(
        ("add-task", "fresh", "--broker", "local", "--concurrency", "2"),
        ("tasks",),
        {"name": "old", "broker": "local", "concurrency": 4},
        {"name": "fresh", "broker": "local", "concurrency": 2},
        "src/shop/tasks/fresh.py",
    ),
    "schedule": Verb(
        ("add-schedule", "fresh", "--task", "job", "--cron", "0 3 * * *"),
        ("schedules",),
        {"name": "old", "task": "job", "every": "1m"},
        {"name": "fresh", "cron": "0 3 * * *", "task": "job"},
        "src/shop/schedules/fresh.py",
        HEAD + "tasks:\n  - {name: job, broker: local}\n",
    ),
    "resource": Verb(
        ("add-resource", "cache", "--kind", "memory"),
        ("resources",),
        {"storage": {"kind": "fs", "path": "files"}},
        {"cache": {"kind": "memory"}},
        None,
    ),
}


def _block(old: dict[str, Any], *, lower_comment: bool) -> str:
    """``old`` as a block list item (or block mapping, for resources) at column 2."""
    if "storage" in old:
        lines = ["  storage:", "    kind: fs", "    path: files"]
    else:
        first, *rest = old.items()
        lines = [f"  - {first[0]}: {first[1]}"] + [f"    {k}: {v}" for k, v in rest]
    if lower_comment:
        lines.insert(-1, "# a comment at column 0 inside the last entry")
    return "\n".join(lines) + "\n"


def _flow(old: dict[str, Any]) -> str:
    text: str = yaml.safe_dump(old, default_flow_style=True, width=999)
    return text.strip()


def _section(verb: Verb, shape: str) -> str:
    """The section of ``verb`` in ``shape``, at the top level."""
    key = verb.section[-1]
    is_map = key == "resources"
    if shape == "missing":
        return ""
    if shape == "null":
        return f"{key}:   # nothing yet\n"
    if shape == "empty":
        return f"{key}: {'{}' if is_map else '[]'}   # nothing yet\n"
    if shape == "flow":
        flow = _flow(verb.old)
        return f"{key}: {flow if is_map else '[' + flow + ']'}   # one so far\n"
    lower = shape == "lower_comment"
    text = f"{key}:\n" + _block(verb.old, lower_comment=lower)
    if shape == "commented":
        text += "    # a note on the last entry\n\n  # a note on what follows\n"
    return text


def _spec(verb: Verb, shape: str) -> str:
    section = _section(verb, shape)
    if verb.section[0] == "http" and section:
        section = "http:\n" + "".join(f"  {line}\n" for line in section.splitlines())
    return verb.head + section + TAIL


SHAPES = ["missing", "null", "empty", "flow", "block", "commented", "lower_comment"]


def _at(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        data = (data or {}).get(key)  # type: ignore[assignment]
    return data


def _expected(verb: Verb, before: dict[str, Any]) -> dict[str, Any]:
    """``before`` with the new entry added, as every add-* must leave it."""
    import copy

    after = copy.deepcopy(before)
    parent = after
    for key in verb.section[:-1]:
        if parent.get(key) is None:
            parent[key] = {}
        parent = parent[key]
    last = verb.section[-1]
    if last == "resources":
        parent[last] = {**(parent.get(last) or {}), **verb.new}
    else:
        parent[last] = [*(parent.get(last) or []), verb.new]
    return after


def _add(tmp_path: Path, verb: Verb, raw: bytes) -> tuple[Result, bytes]:
    spec = tmp_path / "service.yaml"
    spec.write_bytes(raw)
    result = run(*verb.args, "--dir", str(tmp_path))
    return result, spec.read_bytes()


def _comments(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"(?:^|\s)(#.*)$", text, re.MULTILINE)]


def _only_added(before: str, after: str) -> bool:
    """True when ``after`` is ``before`` with lines inserted."""
    a, b = before.splitlines(), after.splitlines()
    ops = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    return all(op in ("equal", "insert") for op, *_ in ops)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(VERBS))
def test_every_add_verb_on_every_shape_of_its_section(
    tmp_path: Path, name: str, shape: str
) -> None:
    verb = VERBS[name]
    before = _spec(verb, shape)
    result, raw = _add(tmp_path, verb, before.encode())
    assert result.exit_code == 0, result.output
    after = raw.decode()
    assert yaml.safe_load(after) == _expected(verb, yaml.safe_load(before))
    assert _comments(after) == _comments(before)  # every comment kept, in order
    if shape not in ("null", "empty", "flow"):  # only lines added
        assert _only_added(before, after), after
    if verb.stub is not None:
        assert (tmp_path / verb.stub).is_file()
    assert run("validate", "--dir", str(tmp_path)).exit_code == 0


@pytest.mark.parametrize("shape", ["missing", "block", "lower_comment", "flow"])
@pytest.mark.parametrize("name", sorted(VERBS))
def test_a_byte_order_mark_and_crlf_line_ends_are_kept(
    tmp_path: Path, name: str, shape: str
) -> None:
    verb = VERBS[name]
    before = _spec(verb, shape)
    raw = b"\xef\xbb\xbf" + before.replace("\n", "\r\n").encode()
    result, after = _add(tmp_path, verb, raw)
    assert result.exit_code == 0, result.output
    assert after.startswith(b"\xef\xbb\xbf")
    assert after.count(b"\n") == after.count(b"\r\n")  # no bare LF anywhere
    assert after.count(b"\r\n") >= raw.count(b"\r\n") + (shape != "flow")
    text = after.decode("utf-8-sig").replace("\r\n", "\n")
    assert yaml.safe_load(text) == _expected(verb, yaml.safe_load(before))
    assert _comments(text) == _comments(before)


def test_a_comment_at_a_lower_indent_does_not_split_the_last_entry(
    tmp_path: Path,
) -> None:
    """The issue's example: the new consumer went in between `source` and
    `concurrency`, so the old consumer's concurrency became the new one's."""
    before = (
        "name: shop\n"
        "brokers:\n"
        "  events: {kind: memory}\n"
        "consumers:\n"
        "  - name: a\n"
        "    broker: events\n"
        "    source: a\n"
        "# a comment at column 0\n"
        "    concurrency: 4\n"
    )
    (tmp_path / "service.yaml").write_text(before)
    args = ("add-consumer", "b", "--broker", "events", "--source", "b")
    result = run(*args, "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "service.yaml").read_text() == before + (
        "  - name: b\n    broker: events\n    source: b\n"
    )


def test_a_route_goes_into_an_http_section_without_routes(tmp_path: Path) -> None:
    verb = VERBS["route"]
    for http in (
        "http: {port: 8080}   # c\n",
        "http:\n  port: 8080   # c\n",
        "http:\n",
    ):
        before = HEAD + http + TAIL
        result, raw = _add(tmp_path, verb, before.encode())
        assert result.exit_code == 0, result.output
        assert yaml.safe_load(raw) == _expected(verb, yaml.safe_load(before)), http
        assert _comments(raw.decode()) == _comments(before)


@pytest.mark.parametrize(
    "target",
    ["null", "true", "0x10", "&a", "*a", "!x", "%x", "@x", "a:b", "a#b", "[a]", "{a}",
     "|x", ">x", "?x", "a,b", "-x", "~"],
)  # fmt: skip
def test_a_new_entry_s_values_are_quoted_as_yaml_needs(
    tmp_path: Path, target: str
) -> None:
    """Untrusted text from the command line stays one value of the new entry."""
    (tmp_path / "service.yaml").write_text(HEAD + "publishers: []\n")
    result = run(
        "add-publisher", "p", "--broker", "local", "--target", target,
        "--dir", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((tmp_path / "service.yaml").read_text())
    assert data["publishers"] == [{"name": "p", "broker": "local", "target": target}]


def test_an_address_with_spaces_or_quotes_is_refused_and_nothing_written(
    tmp_path: Path,
) -> None:
    before = HEAD + "publishers: []\n"
    (tmp_path / "service.yaml").write_text(before)
    target = "a: b, [c] # d {e} 'f' \"g\" \u2028h"
    result = run(
        "add-publisher", "p", "--broker", "local", "--target", target,
        "--dir", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.output.startswith("--target: ")
    assert (tmp_path / "service.yaml").read_text() == before


# -- refusals leave every file as it was ------------------------------------------


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root``: its bytes and modification time."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


SPEC = HEAD + "consumers:\n  - {name: a, broker: local, source: a}\n"


def _handlers_is_a_file(root: Path) -> None:
    handlers = root / "src/shop/handlers"
    for path in handlers.iterdir():
        path.unlink()
    handlers.rmdir()
    handlers.write_text("in the way\n")


def _spec_ends_with_a_document_end(root: Path) -> None:
    spec = root / "service.yaml"
    spec.write_text(spec.read_text() + "...\n")


REFUSALS: dict[str, tuple[Callable[[Path], None], tuple[str, ...], str]] = {
    "a duplicate name": (
        lambda root: None,
        ("add-consumer", "a", "--broker", "local", "--source", "x"),
        "a consumer named 'a' already exists in service.yaml (line 6)",
    ),
    "an unknown broker": (
        lambda root: None,
        ("add-consumer", "b", "--broker", "nope", "--source", "x"),
        "no broker named 'nope'",
    ),
    "a directory in the way of a stub": (
        _handlers_is_a_file,
        ("add-consumer", "b", "--broker", "local", "--source", "x"),
        "cannot write src/shop/handlers/",
    ),
    "an edit that would change other entries": (
        _spec_ends_with_a_document_end,
        ("add-task", "t", "--broker", "local"),
        "svcgen cannot add the task 't' to service.yaml without changing",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_add_leaves_every_file_as_it_was(tmp_path: Path, case: str) -> None:
    prepare, args, message = REFUSALS[case]
    (tmp_path / "service.yaml").write_text(SPEC)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "shop"\ndependencies = ["svcgen-runtime>=0.1"]\n'
    )
    assert run("generate", "--dir", str(tmp_path)).exit_code == 0
    prepare(tmp_path)
    before = _tree(tmp_path)
    dirs = sorted(p for p in tmp_path.rglob("*") if p.is_dir())
    result = run(*args, "--dir", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 or "error" in result.stderr
    assert "Traceback" not in result.output
    assert _tree(tmp_path) == before
    assert sorted(p for p in tmp_path.rglob("*") if p.is_dir()) == dirs
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


ODD = {
    "a flow list over lines": "consumers: [\n  {name: a, broker: local, source: a},  # a\n]\n",
    "a block scalar last": (
        "consumers:\n  - name: a\n    broker: local\n    source: a\n"
        "    description: |\n      one\n\n      two\n\n# next\nshutdown: {drain_timeout: 5s}\n"
    ),
    "an unindented list": "consumers:\n- name: a\n  broker: local\n  source: a\nhttp: {}\n",
    "no final line break": "consumers:\n  - name: a\n    broker: local\n    source: a  # c",
    "an explicit null": "consumers: ~   # none\n",
    "a null on the next line": "consumers:\n  null\nshutdown: {drain_timeout: 5s}\n",
    "a wide dash": "consumers:\n  -   name: a\n      broker: local\n      source: a\n",
    "comments at two indents": (
        "consumers:\n  - name: a\n    broker: local\n# 0\n    # 4\n    source: a\n"
    ),
    "an alias in the last entry": (
        "consumers:\n  - {name: a, broker: &b local, source: a}\n"
        "  - name: c\n    source: c\n    broker: *b\n"
    ),
}


@pytest.mark.parametrize("case", sorted(ODD))
def test_odd_layouts_get_exactly_the_new_entry(case: str) -> None:
    from svcgen.edit import add_entry

    before = "name: shop\nbrokers:\n  local: {kind: memory}\n" + ODD[case]
    entry = {"name": "n", "broker": "local", "source": "s:x,[y]#z"}
    after, spec = add_entry(
        before, section=("consumers",), what="consumer", entry=entry, flow=False
    )
    expected = yaml.safe_load(before)
    expected["consumers"] = [*(expected["consumers"] or []), entry]
    assert yaml.safe_load(after) == expected
    assert _comments(after) == _comments(before)
    assert [c.name for c in spec.consumers][-1] == "n"


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_new_lines_take_the_file_s_line_ends(newline: str) -> None:
    from svcgen.edit import add_entry

    before = "name: shop\nbrokers:\n  local: {kind: memory}\n".replace("\n", newline)
    entry = {"name": "n", "broker": "local", "source": "s"}
    after, _ = add_entry(
        before, section=("consumers",), what="consumer", entry=entry, flow=False
    )
    assert after == before + newline.join(
        ["consumers:", "  - name: n", "    broker: local", "    source: s", ""]
    )
