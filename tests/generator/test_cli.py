"""The CLI: exit codes, messages without tracebacks, help examples, and the add-* edits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from svcgen.cli import main
from svcgen.version import RUNTIME_RANGE

SPEC = """\
# The shop service.
name: shop   # keep this comment
brokers:
  # the only broker
  local: {kind: memory}
consumers:
  - name: cart_updated     # first consumer
    broker: local
    source: carts.updated
"""

VERBS = [
    "new",
    "generate",
    "check",
    "validate",
    "schema",
    "add-consumer",
    "add-route",
    "add-publisher",
    "add-task",
    "add-schedule",
]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "service.yaml").write_text(SPEC)
    assert run("generate", "--dir", str(tmp_path)).exit_code == 0
    return tmp_path


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help_with_an_example(verb: str) -> None:
    result = run(verb, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output
    assert "svcgen " in result.output


def test_validate_ok(project: Path) -> None:
    result = run("validate", "--dir", str(project))
    assert result.exit_code == 0
    assert result.output == (
        "service.yaml is valid: shop, 1 broker(s), 1 consumer(s), 0 publisher(s), "
        "0 route(s)\n"
    )


def test_bad_input_exits_2_with_every_error_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "service.yaml").write_text(
        "name: shop\nbrokers: {b: {kind: x}}\nfoo: 1\n"
    )
    monkeypatch.chdir(tmp_path)
    result = run("generate", "--dir", "svc")
    assert result.exit_code == 2
    # Named as the user can open it from here: svc/service.yaml, not service.yaml.
    assert result.stderr == (
        "svc/service.yaml:2:21: brokers.b.kind: expected 'memory', 'kafka', "
        "'rabbitmq', 'nats', 'redis' or 'mqtt', got a string ('x')\n"
        "svc/service.yaml:3:1: foo: unknown key 'foo'; expected one of: autoscale, "
        "brokers, consumers, description, hooks, http, middleware, name, "
        "publishers, resources, schedules, shutdown, tasks\n"
        "2 errors in svc/service.yaml\n"
    )
    assert "Traceback" not in result.output
    assert sorted(p.name for p in (tmp_path / "svc").iterdir()) == ["service.yaml"]


def test_errors_of_the_spec_in_the_current_directory_name_service_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "service.yaml").write_text("name: shop\nfoo: 1\n")
    monkeypatch.chdir(tmp_path)
    result = run("validate")
    assert result.exit_code == 2
    assert result.stderr.startswith("service.yaml:2:1: foo: unknown key 'foo'")
    assert result.stderr.endswith("\n1 error in service.yaml\n")


def test_add_names_the_spec_as_given_and_the_arguments_it_refuses(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.parent)
    add = ["add-consumer", "c", "--broker", "nope", "--source", 'a"b']
    refused = run(*add, "--dir", project.name)
    assert refused.exit_code == 2
    # The positions would be in a text never written: the arguments are named.
    assert refused.stderr == (
        "--broker: no broker named 'nope' in brokers; defined: local\n"
        "--source: 'a\"b' contains '\"'; a topic, queue, subject or group takes no "
        "spaces, quotes or backslashes, such as orders.created\n"
    )
    spec = project / "service.yaml"
    spec.write_text(spec.read_text() + "foo: 1\n")
    broken = run(*add, "--dir", project.name)
    assert broken.exit_code == 2
    rel = f"{project.name}/service.yaml"
    assert broken.stderr.startswith(f"{rel}:10:1: foo: unknown key"), broken.stderr
    assert broken.stderr.endswith(f"1 error in {rel}\n")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "service.yaml").write_text("")
    result = run("--debug", "validate", "--dir", str(tmp_path))
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert "the file is empty" in result.stderr


def test_missing_spec_is_bad_input_naming_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "svc").mkdir()
    monkeypatch.chdir(tmp_path)
    for verb in ("validate", "generate", "check", "docs"):
        result = run(verb, "--dir", "svc")
        assert result.exit_code == 2
        # One sentence naming the directory; no made-up 1:1 position in a file
        # that does not exist.
        assert result.stderr == (
            "there is no service.yaml in svc: run svcgen in a service's directory, "
            "pass --dir the directory that holds it, or create one with svcgen new "
            "NAME\n"
        )
    missing = run("validate", "--dir", "nope")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("there is no service.yaml in nope (missing):")


def test_check_exits_0_when_current_and_1_with_a_diff_when_stale(project: Path) -> None:
    assert run("check", "--dir", str(project)).exit_code == 0
    spec = project / "service.yaml"
    spec.write_text(spec.read_text().replace("carts.updated", "carts.changed"))
    result = run("check", "--dir", str(project))
    assert result.exit_code == 1
    assert '+        source="carts.changed",' in result.stdout
    assert "stale or hand-edited: src/shop/_generated/app.py" in result.stderr
    assert "run svcgen generate" in result.stderr


def test_schema_prints_json_schema() -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "consumers" in schema["properties"]


def test_add_consumer_keeps_comments_and_creates_the_stub(project: Path) -> None:
    result = run(
        "add-consumer", "order_paid", "--broker", "local", "--source", "orders.paid",
        "--group", "shop", "--concurrency", "8", "--max-attempts", "5",
        "--dead-letter", "orders.paid.dead", "--message", "shop.models:OrderPaid",
        "--dir", str(project),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (project / "service.yaml").read_text() == SPEC + (
        "  - name: order_paid\n"
        "    broker: local\n"
        "    source: orders.paid\n"
        "    group: shop\n"
        "    message: shop.models:OrderPaid\n"
        "    concurrency: 8\n"
        "    retry:\n"
        "      max_attempts: 5\n"
        "    dead_letter: orders.paid.dead\n"
    )
    assert (project / "src/shop/handlers/order_paid.py").exists()
    assert "class OrderPaid(BaseModel)" in (project / "src/shop/models.py").read_text()
    app = (project / "src/shop/_generated/app.py").read_text()
    assert "order_paid_consumer: Consumer[OrderPaid] = Consumer(" in app
    assert run("check", "--dir", str(project)).exit_code == 0


def test_add_consumer_refuses_a_duplicate_name(project: Path) -> None:
    before = (project / "service.yaml").read_text()
    result = run(
        "add-consumer", "cart_updated", "--broker", "local", "--source", "x",
        "--dir", str(project),
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == (
        "a consumer named 'cart_updated' already exists in service.yaml (line 7); "
        "choose another name, or edit that entry\n"
    )
    assert (project / "service.yaml").read_text() == before


def test_add_consumer_with_an_unknown_broker_changes_nothing(project: Path) -> None:
    before = (project / "service.yaml").read_text()
    result = run(
        "add-consumer", "x", "--broker", "nope", "--source", "x", "--dir", str(project)
    )
    assert result.exit_code == 2
    assert "no broker named 'nope' in brokers; defined: local" in result.stderr
    assert (project / "service.yaml").read_text() == before
    assert not (project / "src/shop/handlers/x.py").exists()


def test_add_route_creates_http_and_keeps_an_existing_stub(project: Path) -> None:
    stub = project / "src/shop/routes/get_cart.py"
    stub.parent.mkdir(parents=True)
    stub.write_text("# written by hand before the route existed\n")
    result = run(
        "add-route", "get_cart", "--method", "get", "--path", "/carts/{cart_id}",
        "--dir", str(project),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (project / "service.yaml").read_text() == SPEC + (
        "http:\n  routes:\n    - {name: get_cart, method: GET, path: '/carts/{cart_id}'}\n"
    )
    assert stub.read_text() == "# written by hand before the route existed\n"
    assert (project / "src/shop/routes/__init__.py").exists()
    again = run(
        "add-route",
        "get_cart",
        "--method",
        "GET",
        "--path",
        "/c",
        "--dir",
        str(project),
    )
    assert again.exit_code == 2
    assert "a route named 'get_cart' already exists" in again.stderr


def test_add_publisher_puts_it_in_the_context(project: Path) -> None:
    result = run(
        "add-publisher", "cart_closed", "--broker", "local", "--target", "carts.closed",
        "--dir", str(project),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        (project / "service.yaml")
        .read_text()
        .endswith(
            "publishers:\n  - {name: cart_closed, broker: local, target: carts.closed}\n"
        )
    )
    context = (project / "src/shop/_generated/context.py").read_text()
    assert "    cart_closed: Publisher[bytes]\n" in context
    duplicate = run(
        "add-publisher", "cart_closed", "--broker", "local", "--target", "y",
        "--dir", str(project),
    )  # fmt: skip
    assert duplicate.exit_code == 2


def test_new_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("")
    result = run("new", "demo", "--dir", str(tmp_path))
    assert result.exit_code == 2
    assert "already exists and is not empty" in result.stderr


def test_new_refuses_a_bad_name(tmp_path: Path) -> None:
    result = run("new", "Bad Name", "--dir", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert "is not a valid service name" in result.output


def test_an_internal_error_exits_3_without_a_traceback(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from svcgen import commands

    def broken(root: Path) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(commands, "validate", broken)
    result = run("validate", "--dir", str(project))
    assert result.exit_code == 3
    assert result.stderr == (
        "internal error: RuntimeError: boom (this is a bug in svcgen; run again with "
        "--debug for the traceback and report it)\n"
    )


def test_black_failure_names_the_template_and_shows_the_raw_text() -> None:
    from svcgen.formatting import RenderError, format_python

    with pytest.raises(RenderError) as info:
        format_python("generated/app.py.jinja", "x = 1\ndef broken(:\n")
    message = str(info.value)
    assert message.startswith(
        "template generated/app.py.jinja produced code black cannot format ("
    )
    assert "   1 | x = 1\n   2 | def broken(:" in message
    assert info.value.exit_code == 3


def test_add_consumer_follows_the_file_s_own_list_indentation(tmp_path: Path) -> None:
    text = (
        "name: shop\n"
        "brokers:\n"
        "  local: {kind: memory}\n"
        "consumers:\n"
        "- name: a   # unindented list, as some editors write it\n"
        "  broker: local\n"
        "  source: x\n"
    )
    (tmp_path / "service.yaml").write_text(text)
    result = run(
        "add-consumer",
        "b",
        "--broker",
        "local",
        "--source",
        "y",
        "--dir",
        str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "service.yaml").read_text() == text + (
        "- name: b\n  broker: local\n  source: y\n"
    )


def test_add_task_and_add_schedule_keep_comments_and_create_stubs(
    project: Path,
) -> None:
    # A layout add-* does not edit (an inline table): the note says what to change.
    pyproject = 'project = {dependencies = ["svcgen-runtime>=0.1", "pydantic>=2"]}\n'
    (project / "pyproject.toml").write_text(pyproject)
    result = run(
        "add-task", "send_receipt", "--broker", "local",
        "--args", "shop.models:ReceiptArgs", "--concurrency", "4",
        "--max-attempts", "5", "--dir", str(project),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "created src/shop/tasks/send_receipt.py" in result.stdout
    result = run(
        "add-schedule", "nightly", "--task", "send_receipt", "--cron", "0 3 * * *",
        "--timezone", "Europe/Berlin", "--dir", str(project),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "created src/shop/schedules/nightly.py" in result.stdout
    assert result.stderr == (
        "note: pyproject.toml: the generated code needs the svcgen-runtime extra(s) "
        f'schedules; change the dependency to "svcgen-runtime[schedules]{RUNTIME_RANGE}" and '
        "reinstall\n"
    )
    result = run(
        "add-schedule", "beat", "--task", "send_receipt", "--every", "30s",
        "--dir", str(project),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (project / "service.yaml").read_text() == SPEC + (
        "tasks:\n"
        "  - {name: send_receipt, broker: local, args: shop.models:ReceiptArgs, "
        "concurrency: 4, retry: {max_attempts: 5}}\n"
        "schedules:\n"
        '  - {name: nightly, cron: "0 3 * * *", timezone: Europe/Berlin, '
        "task: send_receipt}\n"
        "  - {name: beat, every: 30s, task: send_receipt}\n"
    )
    assert (
        "class ReceiptArgs(BaseModel)" in (project / "src/shop/models.py").read_text()
    )
    context = (project / "src/shop/_generated/context.py").read_text()
    assert "    send_receipt: Task[ReceiptArgs]\n" in context
    assert "    tasks: Tasks\n" in context
    app = (project / "src/shop/_generated/app.py").read_text()
    assert "handler=guard_runs(" in app
    assert 'cron="0 3 * * *",\n        timezone="Europe/Berlin",' in app
    assert "every=30.0," in app
    assert run("check", "--dir", str(project)).exit_code == 0


def test_add_schedule_refusals_change_nothing(project: Path) -> None:
    assert (
        run(
            "add-task", "sweep_carts", "--broker", "local", "--dir", str(project)
        ).exit_code
        == 0
    )
    before = (project / "service.yaml").read_text()
    both = run(
        "add-schedule", "s", "--task", "sweep_carts", "--cron", "* * * * *",
        "--every", "1m", "--dir", str(project),
    )  # fmt: skip
    assert both.exit_code == 2
    assert both.stderr == (
        "a schedule needs exactly one of --cron and --every: pass --cron "
        "'0 3 * * *' or --every 30s\n"
    )
    unknown = run(
        "add-schedule", "s", "--task", "sweep", "--every", "1m", "--dir", str(project)
    )
    assert unknown.exit_code == 2
    assert "no task named 'sweep' in tasks; did you mean 'sweep_carts'?" in (
        unknown.stderr
    )
    bad_cron = run(
        "add-schedule", "s", "--task", "sweep_carts", "--cron", "0 25 * * *",
        "--dir", str(project),
    )  # fmt: skip
    assert bad_cron.exit_code == 2
    assert "'0 25 * * *' is not a valid cron expression" in bad_cron.stderr
    duplicate = run(
        "add-task", "sweep_carts", "--broker", "local", "--dir", str(project)
    )
    assert duplicate.exit_code == 2
    assert "a task named 'sweep_carts' already exists" in duplicate.stderr
    assert (project / "service.yaml").read_text() == before
    assert not (project / "src/shop/schedules").exists()


def test_add_task_keeps_an_existing_handler(project: Path) -> None:
    stub = project / "src/shop/tasks/reindex.py"
    stub.parent.mkdir(parents=True)
    stub.write_text("# mine\n")
    result = run("add-task", "reindex", "--broker", "local", "--dir", str(project))
    assert result.exit_code == 0, result.output
    assert stub.read_text() == "# mine\n"


def test_a_model_missing_from_an_existing_module_is_named(project: Path) -> None:
    models = project / "src/shop/models.py"
    models.write_text('"""Models."""\n')
    result = run(
        "add-task", "refund", "--broker", "local", "--args", "shop.models:RefundArgs",
        "--dir", str(project),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert models.read_text() == '"""Models."""\n'
    assert result.stderr == (
        "note: src/shop/models.py has no RefundArgs, which service.yaml names "
        "(shop.models:RefundArgs); add it, such as: class RefundArgs(BaseModel): ...\n"
    )


def test_a_spec_that_is_not_utf8_exits_2_naming_the_fix(tmp_path: Path) -> None:
    (tmp_path / "service.yaml").write_bytes(b"name: shop\n# caf\xe9\n")
    result = run("validate", "--dir", str(tmp_path))
    assert result.exit_code == 2
    spec = tmp_path / "service.yaml"
    assert result.stderr == (
        f"{spec}:2:6: the file is not UTF-8 text (byte 0xe9 here); save it as "
        f"UTF-8\n1 error in {spec}\n"
    )


def test_a_spec_that_is_a_directory_exits_2_with_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "service.yaml").mkdir()
    for verb in ("validate", "generate", "check"):
        result = run(verb, "--dir", str(tmp_path))
        assert result.exit_code == 2
        assert result.stderr == (
            f"{tmp_path / 'service.yaml'} is a directory, not a file: move it out of "
            "the way and write the service's spec there as a file (svcgen new NAME "
            "creates one)\n"
        )
    added = run("add-task", "t", "--broker", "local", "--dir", str(tmp_path))
    assert added.exit_code == 2
    assert "is a directory, not a file" in added.stderr
    debug = run("--debug", "validate", "--dir", str(tmp_path))
    assert "Traceback" in debug.stderr


def test_an_unreadable_spec_exits_2_with_one_sentence(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_bytes = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self.name == "service.yaml":
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", denied)  # chmod cannot stop root
    spec = project / "service.yaml"
    result = run("validate", "--dir", str(project))
    assert result.exit_code == 2
    assert result.stderr == (
        f"cannot read {spec}: permission denied; make it readable, such as with "
        f"chmod u+r {spec}\n"
    )


def test_a_refused_generation_leaves_the_spec_unchanged(project: Path) -> None:
    before = (project / "service.yaml").read_text()
    app = project / "src/shop/_generated/app.py"
    generated = app.read_text()
    app.write_text("# edited by hand\n")
    add = ("add-consumer", "order_paid", "--broker", "local", "--source", "o.paid")
    result = run(*add, "--dir", str(project))
    assert result.exit_code == 2
    assert "src/shop/_generated/app.py exists but does not start with" in result.stderr
    assert (project / "service.yaml").read_text() == before
    assert app.read_text() == "# edited by hand\n"
    assert not (project / "src/shop/handlers/order_paid.py").exists()
    app.write_text(generated)
    again = run(*add, "--dir", str(project))
    assert again.exit_code == 0, again.output
    assert "name: order_paid" in (project / "service.yaml").read_text()
    assert run("check", "--dir", str(project)).exit_code == 0


TRAILING = """\
name: shop
brokers:
  local: {kind: memory}
consumers:
  - name: a
    broker: local
    source: x   # end of line
    # a note on a, indented under it
    # and its second line

  # a note before the next section
# another one
publishers:
  - {name: out, broker: local, target: t}
    # a note on out
"""


def test_add_keeps_a_trailing_comment_with_the_last_entry(tmp_path: Path) -> None:
    (tmp_path / "service.yaml").write_text(TRAILING)
    args = ("--broker", "local", "--dir", str(tmp_path))
    assert run("add-consumer", "b", "--source", "y", *args).exit_code == 0
    assert run("add-consumer", "c", "--source", "z", *args).exit_code == 0
    assert run("add-publisher", "out2", "--target", "u", *args).exit_code == 0
    assert (tmp_path / "service.yaml").read_text() == (
        "name: shop\n"
        "brokers:\n"
        "  local: {kind: memory}\n"
        "consumers:\n"
        "  - name: a\n"
        "    broker: local\n"
        "    source: x   # end of line\n"
        "    # a note on a, indented under it\n"
        "    # and its second line\n"
        "  - name: b\n"
        "    broker: local\n"
        "    source: y\n"
        "  - name: c\n"
        "    broker: local\n"
        "    source: z\n"
        "\n"
        "  # a note before the next section\n"
        "# another one\n"
        "publishers:\n"
        "  - {name: out, broker: local, target: t}\n"
        "    # a note on out\n"
        "  - {name: out2, broker: local, target: u}\n"
    )


def test_add_consumer_after_new_keeps_the_skeleton_s_comments(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    assert run("new", "demo", "--dir", str(root)).exit_code == 0
    before = (root / "service.yaml").read_text()
    result = run(
        "add-consumer", "second", "--broker", "local", "--source", "s", "--dir",
        str(root),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    note = "    # dead_letter defaults to <source>.dlq; write `none` to drop after logging.\n"
    assert (root / "service.yaml").read_text() == before.replace(
        note, note + "  - name: second\n    broker: local\n    source: s\n"
    )


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_a_source_that_closes_the_handler_docstring_is_refused(project: Path) -> None:
    """Issue 9's fuzzer: this source closed the stub's docstring and put
    ``os.system(...)`` in handlers/evil.py as a statement, with exit 0."""
    before = _files(project)
    source = 'a"""\nimport os; os.system("touch pwned")\n"""'
    result = run(
        "add-consumer", "evil", "--broker", "local", "--source", source,
        "--dir", str(project),
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == (
        "--source: contains the control character '\\n'; remove it\n"
    )
    assert _files(project) == before


@pytest.mark.parametrize(
    "value",
    ["!foo x", "!!python/object:os.system x", "!!binary aGk=", "!!int nope"],
)
def test_a_tag_is_bad_input_at_its_place_not_an_internal_error(
    tmp_path: Path, value: str
) -> None:
    (tmp_path / "service.yaml").write_text(f"name: shop\ndescription: {value}\n")
    for verb in ("validate", "generate", "check"):
        result = run(verb, "--dir", str(tmp_path))
        assert result.exit_code == 2, result.output
        first, count = result.stderr.splitlines()
        assert first.startswith(f"{tmp_path / 'service.yaml'}:2:14: description: ")
        assert count == f"1 error in {tmp_path / 'service.yaml'}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["service.yaml"]


def test_a_control_character_is_reported_where_it_is_on_one_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "service.yaml").write_bytes(b"name: shop\ndescription: a\x1bb\n")
    result = run("validate", "--dir", str(tmp_path))
    assert result.exit_code == 2
    spec = tmp_path / "service.yaml"
    assert result.stderr == (
        f"{spec}:2:15: the control character '\\x1b' is not allowed in YAML; "
        f"remove it\n1 error in {spec}\n"
    )


def test_a_recursive_alias_is_refused_at_once(tmp_path: Path) -> None:
    import time

    (tmp_path / "service.yaml").write_text("name: shop\nconsumers: &c [*c]\n")
    for verb in ("validate", "generate", "check"):
        start = time.monotonic()
        result = run(verb, "--dir", str(tmp_path))
        assert time.monotonic() - start < 5
        assert result.exit_code == 2
        assert "this alias refers to a list or mapping that contains it" in (
            result.stderr
        )


def test_a_disk_error_is_bad_input_with_its_cause(project: Path) -> None:
    blocker = project / "src" / "shop" / "routes"
    blocker.write_text("not a directory\n")  # routes/ cannot be created
    result = run(
        "add-route", "r", "--method", "GET", "--path", "/r", "--dir", str(project)
    )
    assert result.exit_code == 2, result.output
    assert "src/shop/routes is a file, not a directory" in result.stderr
    assert result.stderr.count("\n") == 1  # one sentence, no traceback
    assert "internal error" not in result.stderr
    assert blocker.read_text() == "not a directory\n"


@pytest.mark.parametrize("name", ["anyio", "aio_pika", "asyncio", "x" * 65])
def test_new_refuses_a_name_that_hides_a_module_or_is_too_long(
    tmp_path: Path, name: str
) -> None:
    result = run("new", name, "--dir", str(tmp_path / "svc"))
    assert result.exit_code == 2
    assert "Invalid value for NAME" in result.output
    assert not (tmp_path / "svc").exists()


def test_a_spec_past_the_size_limit_is_refused_in_one_sentence(tmp_path: Path) -> None:
    spec = tmp_path / "service.yaml"
    spec.write_text("name: shop\n" + "# padding\n" * 110_000)
    result = run("validate", "--dir", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == (
        f"{spec} is larger than 1,000,000 bytes, more than any spec needs; check "
        "that it is the service's spec\n"
    )
