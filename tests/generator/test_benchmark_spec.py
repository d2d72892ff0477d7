"""The benchmark's spec stays valid and as large as it claims."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from svcgen.spec import parse_spec

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "generate.py"


def test_the_benchmark_spec_is_valid_and_large() -> None:
    loader = importlib.util.spec_from_file_location("svcgen_benchmark", BENCHMARK)
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    spec = parse_spec(module.big_spec())
    assert len(spec.consumers) == 50
    assert spec.http is not None and len(spec.http.routes) == 20
    assert len(spec.publishers) == 10
    assert {b.kind for b in spec.brokers.values()} == {
        "kafka",
        "rabbitmq",
        "nats",
        "redis",
        "mqtt",
    }
