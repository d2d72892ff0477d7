"""``svcgen new``: the skeleton, its packaging, and its own tests passing with no server."""

from __future__ import annotations

import secrets
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from svcgen import commands
from svcgen.version import RUNTIME_RANGE

REPO = Path(__file__).resolve().parents[2]


def _pytest(
    project: Path, python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=90,
    )


def test_new_with_brokers_and_no_http(tmp_path: Path) -> None:
    root = commands.new(
        "sensor-hub", brokers=["nats", "redis"], http=False, directory=tmp_path / "hub"
    )
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"] == [
        f"svcgen-runtime[nats,redis]{RUNTIME_RANGE}"
    ]
    assert pyproject["project"]["scripts"] == {
        "sensor-hub": "sensor_hub._generated.app:run"
    }
    spec_text = (root / "service.yaml").read_text()
    assert spec_text.startswith("# service.yaml: the single source of truth")
    spec = YAML(typ="safe").load(spec_text)
    assert spec["brokers"] == {
        "nats": {"kind": "nats", "url": "${NATS_URL:-nats://localhost:4222}"},
        "redis": {"kind": "redis", "url": "${REDIS_URL:-redis://localhost:6379/0}"},
    }
    assert "http" not in spec
    deployment = YAML(typ="safe").load(
        (root / "deploy/base/deployment.yaml").read_text()
    )
    pod = deployment["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > 25  # drain_timeout
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["ports"][0]["containerPort"] == 8080
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == "8080"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert 'CMD ["python", "-m", "sensor_hub"]' in (root / "Dockerfile").read_text()
    assert "__pycache__/" in (root / ".gitignore").read_text()
    assert (
        "HealthServer(port=settings.health_port)"
        in (root / "src/sensor_hub/_generated/app.py").read_text()
    )
    assert commands.check(root) == []
    result = _pytest(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_default_new_uses_memory_one_route_one_consumer(tmp_path: Path) -> None:
    root = commands.new("demo", directory=tmp_path / "demo")
    spec = YAML(typ="safe").load((root / "service.yaml").read_text())
    assert spec["brokers"] == {"local": {"kind": "memory"}}
    assert [r["name"] for r in spec["http"]["routes"]] == ["hello"]
    assert [c["name"] for c in spec["consumers"]] == ["event_received"]
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"] == [
        f"svcgen-runtime[http]{RUNTIME_RANGE}"
    ]
    # `pip install -e '.[test]' && pytest` (the README's and the CLI's next step)
    # brings what the service's own tests import.
    test_extra = pyproject["project"]["optional-dependencies"]["test"]
    assert {r.split(">")[0] for r in test_extra} == {
        "pytest",
        "pytest-asyncio",
        "httpx",
    }
    assert "pip install -e '.[test]'" in (root / "README.md").read_text()


@pytest.mark.slow
def test_new_project_installs_in_a_fresh_venv_and_its_tests_pass(
    tmp_path: Path,
) -> None:
    name = f"demo_{secrets.token_hex(4)}"
    root = commands.new(name, directory=tmp_path / name)
    # The workflow of DESIGN §10: new, add a consumer, regenerate, install, test.
    commands.add_consumer(root, name="audit", broker="local", source=f"{name}.audit")
    assert (root / f"src/{name}/handlers/audit.py").exists()
    assert commands.check(root) == []
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    python = str(env_dir / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # The fresh venv sees this repository's venv (svcgen-runtime, pytest, httpx,
    # hatchling) through one site dir, so nothing is downloaded.
    ours = sysconfig.get_paths()["purelib"]
    (Path(site) / "_svcgen_e2e.pth").write_text(
        f"import site; site.addsitedir({ours!r})\n"
    )
    install = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-q", "-e", str(root)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    shown = subprocess.run(
        [python, "-c", f"import {name}, svcgen_runtime; print({name}.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    assert shown.stdout.strip() == str(root / "src" / name / "__init__.py")
    result = _pytest(root, python)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.slow
def test_the_wheel_carries_the_templates(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
         str(out), str(REPO)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = out.glob("svcgen-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in (
        "svcgen/templates/generated/app.py.jinja",
        "svcgen/templates/stubs/handler.py.jinja",
        "svcgen/templates/skeleton/copier.yml",
        "svcgen/templates/skeleton/project/.gitignore",
        "svcgen/templates/skeleton/project/service.yaml.jinja",
        "svcgen/_compiled_templates/manifest.json",
    ):
        assert template in names
    # Installed from the wheel alone, svcgen finds its templates inside itself.
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    found = subprocess.run(
        [sys.executable, "-c",
         "from svcgen.render import _environment, templates_dir; "
         "print(templates_dir()); print(type(_environment().loader).__name__)"],
        capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(target), "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )  # fmt: skip
    # ... and its precompiled templates, which match them
    assert found.stdout.split() == [
        str(target / "svcgen" / "templates"),
        "ChoiceLoader",
    ]
