"""The readers of start-up overrides: service.yaml's value when unset, the variable's
when it reads, one sentence naming the variable and the expected form when it does
not; and ``run_or_refuse``: a refused setting is one log line and exit status 3.

No server is involved: the readers take a plain mapping for the environment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from svcgen_runtime import Application, ConfigurationError
from svcgen_runtime.application import EXIT_START_FAILED
from svcgen_runtime.overrides import (
    KEYS,
    check_retry,
    choice,
    duration,
    duration_text,
    flag,
    number,
    run_or_refuse,
    tunings,
    whole,
)

VAR = "SVCGEN_CONSUMER_PAID_CONCURRENCY"


def test_unset_or_empty_gives_service_yamls_value() -> None:
    for env in ({}, {VAR: ""}, {VAR: "  "}):
        assert whole(env, VAR, 8, low=1, high=10000) == 8
        assert duration(env, VAR, 30.0) == 30.0
        assert flag(env, VAR, True) is True
        assert choice(env, VAR, "classic", choices=("classic", "quorum")) == "classic"
        assert number(env, VAR, 0.5, low=0, high=1) == 0.5


def test_set_values_are_read() -> None:
    assert whole({VAR: "20"}, VAR, 8, low=1, high=10000) == 20
    assert whole({VAR: " 20 "}, VAR, 8, low=1, high=10000) == 20
    assert duration({VAR: "250ms"}, VAR, 30.0) == 0.25
    assert duration({VAR: "2m"}, VAR, 30.0) == 120.0
    assert duration({VAR: "1.5h"}, VAR, 30.0) == 5400.0
    assert duration({VAR: "0s"}, VAR, 1.0, positive=False) == 0.0
    assert flag({VAR: "Off"}, VAR, True) is False
    assert flag({VAR: "yes"}, VAR, False) is True
    assert choice({VAR: "quorum"}, VAR, "classic", choices=("classic", "quorum")) == (
        "quorum"
    )
    assert number({VAR: "0.25"}, VAR, 0.5, low=0, high=1) == 0.25


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "x",
            "SVCGEN_CONSUMER_PAID_CONCURRENCY='x' is not a whole number from 1 to "
            "10000: correct it, or unset it to use service.yaml's 8",
        ),
        (
            "0",
            "SVCGEN_CONSUMER_PAID_CONCURRENCY='0' is not a whole number from 1 to "
            "10000: correct it, or unset it to use service.yaml's 8",
        ),
        (
            "2.5",
            "SVCGEN_CONSUMER_PAID_CONCURRENCY='2.5' is not a whole number from 1 to "
            "10000: correct it, or unset it to use service.yaml's 8",
        ),
        (
            "99999999999999999999",
            "SVCGEN_CONSUMER_PAID_CONCURRENCY='99999999999999999999' is not a whole "
            "number from 1 to 10000: correct it, or unset it to use service.yaml's 8",
        ),
    ],
)
def test_a_bad_whole_number_is_one_sentence(raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        whole({VAR: raw}, VAR, 8, low=1, high=10000)
    assert str(info.value) == message


@pytest.mark.parametrize("raw", ["30", "30 s", "-1s", "0s", "9000h", "1w", "nan"])
def test_a_bad_duration_is_one_sentence(raw: str) -> None:
    name = "SVCGEN_CONSUMER_PAID_TIMEOUT"
    with pytest.raises(ConfigurationError) as info:
        duration({name: raw}, name, 30.0)
    assert str(info.value) == (
        f"{name}={raw!r} is not a duration above zero such as 250ms, 30s, 5m or 1h "
        "(at most 8784h): correct it, or unset it to use service.yaml's 30s"
    )


def test_other_bad_values_name_their_form() -> None:
    with pytest.raises(ConfigurationError, match=r"='maybe' is not true or false: "):
        flag({VAR: "maybe"}, VAR, True)
    with pytest.raises(
        ConfigurationError,
        match=r"='Quorum' is not one of classic, quorum: .*'s classic$",
    ):
        choice({VAR: "Quorum"}, VAR, "classic", choices=("classic", "quorum"))
    for raw in ("inf", "nan", "2", "x"):
        with pytest.raises(ConfigurationError, match=r"is not a number from 0 to 1: "):
            number({VAR: raw}, VAR, 0.5, low=0, high=1)


def test_a_long_value_is_cut_in_the_message() -> None:
    with pytest.raises(ConfigurationError) as info:
        whole({VAR: "x" * 500}, VAR, 8, low=1, high=10000)
    assert len(str(info.value)) < 200 and "\n" not in str(info.value)


def test_an_override_is_logged_once_and_a_same_value_is_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="svcgen_runtime.overrides")
    whole({VAR: "20"}, VAR, 8, low=1, high=10000)
    whole({VAR: "8"}, VAR, 8, low=1, high=10000)
    duration({"T": "45s"}, "T", 30.0)
    assert [r.getMessage() for r in caplog.records] == [
        "SVCGEN_CONSUMER_PAID_CONCURRENCY=20 overrides service.yaml's 8",
        "T=45s overrides service.yaml's 30s",
    ]


def test_duration_text_writes_durations_as_service_yaml_does() -> None:
    shown = [duration_text(s) for s in (0.25, 0.0, 1.0, 1.5, 30.0, 90.0, 120.0, 3600.0)]
    assert shown == ["250ms", "0s", "1s", "1.5s", "30s", "90s", "2m", "1h"]


def test_a_first_wait_above_the_longest_is_refused() -> None:
    check_retry(1.0, 60.0, "SVCGEN_TASK_X_RETRY")
    check_retry(60.0, 60.0, "SVCGEN_TASK_X_RETRY")
    with pytest.raises(ConfigurationError) as info:
        check_retry(120.0, 60.0, "SVCGEN_TASK_X_RETRY")
    assert str(info.value) == (
        "SVCGEN_TASK_X_RETRY_INITIAL (2m) exceeds SVCGEN_TASK_X_RETRY_MAX (1m): "
        "lower the one or raise the other"
    )


def test_run_or_refuse_turns_a_refused_setting_into_status_3(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def build() -> Application:
        whole({VAR: "x"}, VAR, 8, low=1, high=10000)
        raise AssertionError("not reached")

    assert run_or_refuse(build, "shop") == EXIT_START_FAILED == 3
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is None
    assert record.getMessage().startswith(
        "shop: start-up refused: SVCGEN_CONSUMER_PAID_CONCURRENCY='x' is not a whole"
    )


def test_run_or_refuse_runs_what_it_builds() -> None:
    """An application with nothing to start, stopped before it runs: run() returns
    its status (0 after a complete drain) through run_or_refuse."""

    def build() -> Application:
        app = Application(name="shop", brokers=[], consumers=[], handle_signals=False)
        app.shutdown()
        return app

    assert run_or_refuse(build, "shop") == 0


def test_other_errors_are_not_swallowed() -> None:
    def build() -> Application:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        run_or_refuse(build, "shop")


@dataclass(frozen=True, slots=True)
class Shop:
    """A generated ``Settings`` in small: URL fields have no default, tuning numbers
    carry service.yaml's value as theirs."""

    bus_url: str
    consumer_paid_concurrency: int = 8
    consumer_paid_timeout: float = 30.0
    consumer_paid_retry_initial: float = 1.0
    consumer_paid_retry_max: float = 60.0
    task_paid_session_timeout: float = 5.0
    shutdown_drain_timeout: float = 25.0


def test_tunings_reads_each_field_with_a_default_from_its_variable() -> None:
    assert tunings(Shop, {}) == {
        "consumer_paid_concurrency": 8,
        "consumer_paid_timeout": 30.0,
        "consumer_paid_retry_initial": 1.0,
        "consumer_paid_retry_max": 60.0,
        "task_paid_session_timeout": 5.0,
        "shutdown_drain_timeout": 25.0,
    }
    env = {
        "SVCGEN_CONSUMER_PAID_CONCURRENCY": "20",
        "SVCGEN_TASK_PAID_SESSION_TIMEOUT": "2s",
        "SVCGEN_SHUTDOWN_DRAIN_TIMEOUT": "1m",
        "BUS_URL": "not a tuning",
    }
    read = tunings(Shop, env)
    assert read["consumer_paid_concurrency"] == 20
    assert read["task_paid_session_timeout"] == 2.0  # key "timeout": the longest match
    assert read["shutdown_drain_timeout"] == 60.0
    assert Shop(bus_url="x", **read).consumer_paid_concurrency == 20


def test_tunings_refuses_with_the_keys_bounds_and_checks_retry_waits() -> None:
    with pytest.raises(ConfigurationError, match=r"from 1 to 10000: "):
        tunings(Shop, {"SVCGEN_CONSUMER_PAID_CONCURRENCY": "10001"})
    with pytest.raises(
        ConfigurationError, match=r"^SVCGEN_CONSUMER_PAID_RETRY_INITIAL "
    ):
        tunings(Shop, {"SVCGEN_CONSUMER_PAID_RETRY_MAX": "500ms"})
    assert (
        tunings(Shop, {"SVCGEN_CONSUMER_PAID_RETRY_INITIAL": "0s"})[
            "consumer_paid_retry_initial"
        ]
        == 0.0
    )


def test_a_field_with_no_tuning_key_is_a_bug_not_a_setting() -> None:
    @dataclass(frozen=True)
    class Odd:
        consumer_paid_colour: str = "blue"

    with pytest.raises(TypeError, match="consumer_paid_colour ends with no tuning key"):
        tunings(Odd, {})


def test_each_key_reads_its_form() -> None:
    assert KEYS["max_attempts"]({"V": "1000"}, "V", 3) == 1000
    with pytest.raises(ConfigurationError, match="from 1 to 1000"):
        KEYS["max_attempts"]({"V": "1001"}, "V", 3)
    assert KEYS["retry_max"]({"V": "0s"}, "V", 60.0) == 0.0
    with pytest.raises(ConfigurationError, match="above zero"):
        KEYS["key_window"]({"V": "0s"}, "V", 60.0)


def test_a_misspelt_variable_is_a_warning_naming_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {
        "SVCGEN_CONSUMER_PIAD_CONCURRENCY": "20",
        "SVCGEN_SHUTDOWN_DRAIN_TIMEOUT": "",
        "SVCGEN_BUILD_NO_ISOLATION": "1",  # svcgen's own, not the scheme's
        "SVCGEN_CONSUMER_paid_TIMEOUT": "1s",  # names are upper case: not read
    }
    assert tunings(Shop, env)["consumer_paid_concurrency"] == 8
    assert tunings(Shop, env)["consumer_paid_timeout"] == 30.0
    assert sorted({(r.levelno, r.getMessage()) for r in caplog.records}) == [
        (
            logging.WARNING,
            "SVCGEN_CONSUMER_PIAD_CONCURRENCY is set but names no tuning number of this "
            "service (settings.py lists them): check its spelling",
        ),
        (
            logging.WARNING,
            "SVCGEN_CONSUMER_paid_TIMEOUT is set but names no tuning number of this "
            "service (settings.py lists them): check its spelling",
        ),
    ]
