"""``svcgen dlq``'s refusals: one sentence on stderr, exit 2 (bad input) or 3 (the
broker), never a traceback; and the command on a service ``svcgen new`` made."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from svcgen.cli import main

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"


def _service(root: Path, consumer: dict[str, object], url: str | None = None) -> Path:
    kind = consumer.pop("kind", "rabbitmq")
    spec = {
        "name": "dlqcli",
        "brokers": {
            "main": {"kind": kind, "url": url or "${RABBITMQ_URL:-amqp://127.0.0.1:1/}"}
        }
        if kind != "memory"
        else {"main": {"kind": "memory"}},
        "consumers": [{"name": "paid", "broker": "main", "source": "p", **consumer}],
    }
    root.mkdir(exist_ok=True)
    (root / "service.yaml").write_text(yaml.safe_dump(spec))
    return root


def _run(root: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["dlq", *args, "--dir", str(root)], env=env)


def _refused(result: Result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    text = result.stderr.strip()
    assert len(text.splitlines()) == 1, text
    assert "Traceback" not in result.output
    for word in words:
        assert word in text, text


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["replay", "paid"], ["by id", "--all"]),
        (["replay", "paid", "1", "--all"], ["not both"]),
        (["purge", "paid"], ["by id", "--all"]),
        (["list", "unpaid"], ["no consumer or task named 'unpaid'", "paid"]),
    ],
)
def test_bad_selections_and_names(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    root = _service(tmp_path / "s", {})
    _refused(_run(root, *args), 2, *words)


def test_a_memory_consumer_says_how_a_test_reads_them(tmp_path: Path) -> None:
    root = _service(tmp_path / "s", {"kind": "memory"})
    _refused(_run(root, "list", "paid"), 2, "RunningService.dead_letters")


def test_a_consumer_without_dead_letters(tmp_path: Path) -> None:
    root = _service(tmp_path / "s", {"dead_letter": "none"})
    _refused(_run(root, "list", "paid"), 2, "no dead-letter destination")


def test_an_unset_variable_without_default_is_named(tmp_path: Path) -> None:
    root = _service(tmp_path / "s", {}, url="${DLQ_TEST_UNSET_URL}")
    _refused(
        _run(root, "list", "paid", env={"DLQ_TEST_UNSET_URL": None}),  # type: ignore[dict-item]
        2,
        "DLQ_TEST_UNSET_URL is not set",
    )


def test_a_bad_option_override_is_one_sentence(tmp_path: Path) -> None:
    root = _service(tmp_path / "s", {})
    env = {"SVCGEN_CONSUMER_PAID_QUEUE_TYPE": "stream"}
    _refused(_run(root, "list", "paid", env=env), 2, "SVCGEN_CONSUMER_PAID_QUEUE_TYPE")


def test_a_broker_that_is_not_there_is_exit_3_without_the_password(
    tmp_path: Path,
) -> None:
    root = _service(tmp_path / "s", {})
    env = {"RABBITMQ_URL": "amqp://guest:sekrit@127.0.0.1:1/"}
    result = _run(root, "list", "paid", env=env)
    _refused(result, 3, "127.0.0.1:1")
    assert "sekrit" not in result.output


def test_a_missing_extra_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(sys.modules):
        if name.startswith(
            ("svcgen_runtime.brokers.rabbitmq", "svcgen_runtime.deadletters.rabbitmq")
        ):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "aio_pika", None)
    root = _service(tmp_path / "s", {})
    _refused(_run(root, "list", "paid"), 2, "svcgen-runtime[rabbitmq]")


def test_purge_without_yes_on_a_pipe_refuses(tmp_path: Path) -> None:
    root = _service(tmp_path / "s", {})
    _refused(_run(root, "purge", "paid", "--all"), 2, "--yes")


@pytest.mark.broker
def test_on_a_service_svcgen_new_made(tmp_path: Path) -> None:
    name = f"dlq{secrets.token_hex(4)}"
    made = CliRunner().invoke(
        main, ["new", name, "--broker", "rabbitmq", "--dir", str(tmp_path / name)]
    )
    assert made.exit_code == 0, made.output
    env = {"RABBITMQ_URL": RABBITMQ}
    listed = _run(tmp_path / name, "list", "event_received", "--json", env=env)
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []  # never consumed: no queue, nothing in it
    replayed = _run(tmp_path / name, "replay", "event_received", "--all", env=env)
    assert replayed.exit_code == 0, replayed.output
    assert f"replayed 0 dead letter(s) of event_received from {name}.events.dlq" in (
        replayed.stdout
    )
