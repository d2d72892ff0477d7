"""Built distributions, a local package index and fresh venvs, shared by the release
tests (tests/generator/test_release.py, test_dockerfile.py, test_install_from_index.py).

The wheels and sdists are built once per test run (``scripts/build-dist``, each in
its isolated build environment, as a release would) and laid out as a PEP 503 simple
index: a stand-in for PyPI or a private index until the packages are published.
Every subprocess runs with a bounded time, from a temporary working directory, with
no PYTHONPATH: nothing of the checkout's source tree is importable in the venvs.
"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VERSION_FILE = ROOT / "runtime" / "src" / "svcgen_runtime" / "_version.py"

_built: dict[str, Path] = {}
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy


def source_version() -> str:
    """The one version, as the version file says."""
    match = re.search(
        r'^__version__ = "([^"]+)"', VERSION_FILE.read_text(encoding="utf-8"), re.M
    )
    assert match is not None, f"{VERSION_FILE} has no __version__ line"
    return match.group(1)


def build_dist(factory: pytest.TempPathFactory) -> Path:
    """The folder of both wheels and sdists, built once per test run."""
    if "dist" not in _built:
        out = factory.mktemp("dist")
        done = subprocess.run(
            ["bash", str(ROOT / "scripts" / "build-dist"), str(out)],
            capture_output=True,
            text=True,
            timeout=600,
            env=clean_env(),
            cwd=out,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        _built["dist"] = out
    return _built["dist"]


def simple_index(dist: Path, root: Path) -> Path:
    """A PEP 503 simple index under ``root`` of the files in ``dist``; its folder
    (pip takes it as ``file://`` + that path)."""
    index = root / "simple"
    projects: dict[str, list[Path]] = {}
    for file in sorted(dist.iterdir()):
        if file.suffix == ".whl" or file.name.endswith(".tar.gz"):
            name = re.split(r"-\d", file.name, maxsplit=1)[0]
            projects.setdefault(re.sub(r"[-_.]+", "-", name).lower(), []).append(file)
    assert projects, f"no distributions in {dist}"
    for name, files in projects.items():
        folder = index / name
        folder.mkdir(parents=True)
        links = "".join(
            f'<a href="{html.escape(f.as_uri())}">{html.escape(f.name)}</a><br>\n'
            for f in files
        )
        (folder / "index.html").write_text(
            f"<!DOCTYPE html><html><body>\n{links}</body></html>\n", encoding="utf-8"
        )
    top = "".join(f'<a href="{n}/">{n}</a><br>\n' for n in sorted(projects))
    (index / "index.html").write_text(
        f"<!DOCTYPE html><html><body>\n{top}</body></html>\n", encoding="utf-8"
    )
    return index


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would make the checkout importable
    or change pytest, with the user's pip cache (the suite's conftest points
    XDG_CACHE_HOME at a temporary folder; reruns stay fast with the real cache)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")
        and not k.startswith("PYTEST")
    }
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin
    )
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def base_python() -> str:
    """The interpreter this venv was made from (``python -m venv`` from it makes a
    venv that does not see this one's packages)."""
    return getattr(sys, "_base_executable", sys.executable)


def fresh_venv(where: Path) -> Path:
    """A new venv at ``where``; its bin folder."""
    done = subprocess.run(
        [base_python(), "-m", "venv", str(where)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return where / "bin"


def run(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``args``; fail the test with its output when it fails."""
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, (
        f"{' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    return done


def serve_and_drain(
    args: list[str], *, cwd: Path, env: dict[str, str], port: int, drain: float
) -> str:
    """Start the service, wait until ``/readyz`` answers 200, send SIGTERM, and
    require exit status 0 within ``drain`` seconds; its output."""
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with _DIRECT.open(
                    f"http://127.0.0.1:{port}/readyz", timeout=2
                ) as response:
                    status = response.status
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                status = None
            if status == 200:
                break
            time.sleep(0.2)
        if status != 200:
            proc.kill()
            output, _ = proc.communicate(timeout=10)
            raise AssertionError(f"/readyz never answered 200\n{output}")
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=drain)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 0, (
        f"exit status {proc.returncode} after SIGTERM\n{output}"
    )
    return output
