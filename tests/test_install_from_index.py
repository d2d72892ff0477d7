"""Installable from a package index (issue 11, point 2), as a new user would.

The wheels from ``scripts/build-dist`` are served as a local PEP 503 index (a
``file://`` simple index standing in for PyPI or a private index until the packages
are published). svcgen goes into one fresh venv from that index; a service made
there with ``new`` + ``add-consumer`` + ``add-task`` goes, with its test extra, into
another fresh venv from that index plus the public registry, exactly the README's
steps (``PIP_EXTRA_INDEX_URL``). Its tests pass, it starts, answers ``/readyz`` and
exits 0 on SIGTERM. Everything runs from a temporary folder with no PYTHONPATH, so
nothing of this checkout is importable; the test checks that too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from svcgen import commands
from tests.dist_support import (
    ROOT,
    build_dist,
    clean_env,
    fresh_venv,
    run,
    serve_and_drain,
    simple_index,
    source_version,
)
from tests.support import free_port

pytestmark = pytest.mark.xdist_group("heavy")
"""One worker runs the modules that use the built distributions, so a parallel run
builds them once (``dist_support.build_dist`` keeps them per process); they are
among the CPU-heavy tests ``scripts/test`` keeps from running beside each other."""

STEPS = [
    "pip install svcgen",
    "svcgen new shop",
    "svcgen add-consumer paid --broker local --source shop.paid",
    "svcgen add-task send_receipt --broker local",
    "pip install -e '.[test]'",
    "pytest",
    "python -m shop",
]
"""The commands the test below runs, as svcgen's README gives them."""

WHERE = (
    "import sys, svcgen_runtime; "
    "print(svcgen_runtime.__version__); print(svcgen_runtime.__file__); "
    "print('\\n'.join(sys.path))"
)


def _outside_checkout(lines: list[str], venv: Path) -> None:
    """The module file is in ``venv``, and no import path is in the checkout."""
    assert Path(lines[1]).resolve().is_relative_to(venv.resolve()), lines[1]
    inside = [p for p in lines[2:] if p and Path(p).resolve().is_relative_to(ROOT)]
    assert not inside, f"the checkout is importable: {inside}"


def _install_section(readme: str) -> str:
    start = readme.index("## Install")
    return readme[start : readme.index("\n## ", start + 1)]


def test_the_readmes_give_these_steps(tmp_path: Path) -> None:
    """svcgen's README and the generated one name the commands this test runs and
    the pip settings for an index that is not PyPI."""
    section = _install_section((ROOT / "README.md").read_text(encoding="utf-8"))
    for text in [*STEPS, "scripts/build-dist", "PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL"]:
        assert text in section, text
    install = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    assert all(step in install for step in STEPS)
    commands.new("shop", directory=tmp_path / "shop")
    generated = (tmp_path / "shop" / "README.md").read_text(encoding="utf-8")
    section = _install_section(generated)
    for text in [*STEPS[4:], "PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL"]:
        assert text in section, text
    assert "--build-arg PIP_FIND_LINKS=/src/wheels" in generated


@pytest.mark.slow  # two venvs and installs from an index: about a minute
def test_svcgen_and_a_generated_service_install_from_an_index(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    one = source_version()
    index = simple_index(build_dist(tmp_path_factory), tmp_path / "index")
    env = clean_env(PIP_EXTRA_INDEX_URL=index.as_uri())
    work = tmp_path / "work"
    work.mkdir()

    # venv A: svcgen (and, as its dependency, svcgen-runtime) from the index.
    a = fresh_venv(tmp_path / "venv-a")
    run([str(a / "pip"), "install", "svcgen"], cwd=work, env=env, timeout=300)
    shown = run([str(a / "svcgen"), "--version"], cwd=work, env=env, timeout=60)
    assert shown.stdout == f"svcgen {one}\nsvcgen-runtime {one}\n"
    where = run([str(a / "python"), "-c", WHERE], cwd=work, env=env, timeout=60)
    _outside_checkout(where.stdout.splitlines(), a.parent)

    # The user's steps: new, add-consumer, add-task (the memory broker: no server).
    svcgen = str(a / "svcgen")
    run([svcgen, "new", "shop"], cwd=work, env=env, timeout=120)
    shop = work / "shop"
    run(
        [svcgen, *STEPS[2].split()[1:]],
        cwd=shop,
        env=env,
        timeout=120,
    )
    run([svcgen, *STEPS[3].split()[1:]], cwd=shop, env=env)
    run([svcgen, "check"], cwd=shop, env=env, timeout=120)
    assert (shop / "src" / "shop" / "handlers" / "paid.py").is_file()
    assert (shop / "src" / "shop" / "tasks" / "send_receipt.py").is_file()

    # venv B: the service with its test extra, from the index plus the registry,
    # as the generated README says: pip install -e '.[test]'.
    b = fresh_venv(tmp_path / "venv-b")
    run([str(b / "pip"), "install", "-e", ".[test]"], cwd=shop, env=env, timeout=300)
    where = run([str(b / "python"), "-c", WHERE], cwd=shop, env=env, timeout=60)
    lines = where.stdout.splitlines()
    assert lines[0] == one
    _outside_checkout(lines, b.parent)
    tests = run(
        [str(b / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=shop,
        env=env,
        timeout=300,
    )
    assert " passed" in tests.stdout and "failed" not in tests.stdout, tests.stdout

    # Start it on a free port, wait for /readyz, SIGTERM: exit 0 within the drain
    # (the skeleton's shutdown.drain_timeout is 25 s).
    port = free_port()
    output = serve_and_drain(
        [str(b / "python"), "-m", "shop"],
        cwd=tmp_path,
        env={**env, "HTTP_PORT": str(port)},
        port=port,
        drain=30,
    )
    assert "Traceback" not in output, output
