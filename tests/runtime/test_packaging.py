"""svcgen-runtime is its own distribution: stdlib-only core, one extra per broker/feature."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATOR_ONLY = {"click", "jinja2", "black", "copier", "ruamel.yaml", "pydantic"}
EXTRAS = {
    "kafka",
    "rabbitmq",
    "nats",
    "redis",
    "mqtt",
    "http",
    "postgres",
    "otel",
    "prometheus",
}


def build_wheel(tmp_path: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT / "runtime"),
        ],
        check=True,
    )
    [wheel] = tmp_path.glob("svcgen_runtime-*.whl")
    return wheel


def test_runtime_wheel_has_a_stdlib_core_and_one_extra_per_kind(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        [meta_name] = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(zf.read(meta_name).decode())
    assert "svcgen_runtime/py.typed" in names
    assert "svcgen_runtime/brokers/memory.py" in names
    requires = meta.get_all("Requires-Dist") or []
    unconditional = [r for r in requires if "extra ==" not in r]
    assert unconditional == [], unconditional
    extras = set(meta.get_all("Provides-Extra") or [])
    assert EXTRAS <= extras
    for req in requires:
        name = (
            req.split(";")[0].strip().split(">")[0].split("=")[0].split("[")[0].lower()
        )
        assert name not in GENERATOR_ONLY, req


def test_core_imports_without_any_optional_dependency() -> None:
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        top = name.split('.')[0]\n"
        "        if top in {'starlette','uvicorn','aiokafka','aio_pika','nats','redis','paho',"
        "'asyncpg','croniter','pydantic','click','jinja2','black','copier'}:\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import svcgen_runtime, svcgen_runtime.testing, svcgen_runtime.health\n"
        "from svcgen_runtime import Application, Consumer, MemoryBroker\n"
        "try:\n"
        "    import svcgen_runtime.http\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == (
        "MissingExtraError the http extra is not installed (no module 'starlette'): "
        "pip install 'svcgen-runtime[http]'"
    )
