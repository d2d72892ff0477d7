"""Release artifacts (issue 11, point 1): ``scripts/build-dist`` builds the wheels and
sdists of svcgen and svcgen-runtime with one version; svcgen requires a compatible
svcgen-runtime range and writes the same range into generated services;
``svcgen --version`` prints both versions."""

from __future__ import annotations

import email
import tarfile
import tomllib
import zipfile
from email.message import Message
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from svcgen import commands, version
from svcgen.cli import main
from svcgen.pyproject import REQUIREMENTS
from tests.dist_support import ROOT, build_dist, source_version

pytestmark = pytest.mark.xdist_group("heavy")
"""One worker runs the modules that use the built distributions, so a parallel run
builds them once (``dist_support.build_dist`` keeps them per process); they are
among the CPU-heavy tests ``scripts/test`` keeps from running beside each other."""


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dist(tmp_path_factory)


def _files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def _wheel(dist: Path, name: str) -> tuple[Message, set[str]]:
    (path,) = dist.glob(f"{name}-*.whl")
    with zipfile.ZipFile(path) as whl:
        names = set(whl.namelist())
        (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(whl.read(meta)), names


def _sdist(dist: Path, name: str) -> tuple[Message, set[str]]:
    (path,) = dist.glob(f"{name}-*.tar.gz")
    with tarfile.open(path) as tar:
        members = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name}
        top = tar.getmembers()[0].name.split("/")[0]
        info = tar.extractfile(f"{top}/PKG-INFO")
        assert info is not None
        return email.message_from_bytes(info.read()), members


@pytest.mark.slow  # builds four distributions (about 10 s)
def test_one_version_and_the_runtime_range_in_the_metadata(dist: Path) -> None:
    one = source_version()
    assert sorted(p.name for p in dist.iterdir()) == [
        f"svcgen-{one}-py3-none-any.whl",
        f"svcgen-{one}.tar.gz",
        f"svcgen_runtime-{one}-py3-none-any.whl",
        f"svcgen_runtime-{one}.tar.gz",
    ]
    gen, _ = _wheel(dist, "svcgen")
    run, _ = _wheel(dist, "svcgen_runtime")
    assert (gen["Name"], gen["Version"]) == ("svcgen", one)
    assert (run["Name"], run["Version"]) == ("svcgen-runtime", one)
    for name in ("svcgen", "svcgen_runtime"):
        assert _sdist(dist, name)[0]["Version"] == one
    requires = [Requirement(r) for r in gen.get_all("Requires-Dist") or []]
    (runtime,) = [r for r in requires if r.name == "svcgen-runtime"]
    assert runtime.specifier == SpecifierSet(version.compatible_range(one))
    assert runtime.specifier.contains(one)
    assert not runtime.extras and runtime.marker is None
    # The installed svcgen (editable here) reports the same version and range.
    assert version.VERSION == one
    assert runtime.specifier == SpecifierSet(version.RUNTIME_RANGE)
    # The runtime needs nothing; each feature is an extra.
    assert all("extra ==" in r for r in run.get_all("Requires-Dist") or [])


@pytest.mark.slow
def test_the_sdists_hold_what_the_wheels_are_built_from(dist: Path) -> None:
    """Both wheels were built from their sdist (``python -m build``): each sdist
    holds every template, module and data file, and the wheels hold them too."""
    templates = _files(ROOT / "templates")
    generator = _files(ROOT / "generator" / "svcgen")
    runtime = _files(ROOT / "runtime" / "src" / "svcgen_runtime")
    assert (
        "skeleton/copier.yml" in templates
        and "skeleton/project/.dockerignore" in templates
    )
    assert any(f.endswith(".lua") for f in runtime)  # data files, not only modules

    _, gen_sdist = _sdist(dist, "svcgen")
    assert {f"templates/{f}" for f in templates} <= gen_sdist
    assert {f"generator/svcgen/{f}" for f in generator} <= gen_sdist
    assert {"hatch_build.py", "runtime/src/svcgen_runtime/_version.py"} <= gen_sdist
    assert not any(f.startswith(("tests/", "examples/")) for f in gen_sdist)
    assert [f for f in gen_sdist if f.startswith("runtime/")] == [
        "runtime/src/svcgen_runtime/_version.py"
    ]
    _, gen_wheel = _wheel(dist, "svcgen")
    assert {f"svcgen/templates/{f}" for f in templates} <= gen_wheel
    assert {f"svcgen/{f}" for f in generator} <= gen_wheel

    _, run_sdist = _sdist(dist, "svcgen_runtime")
    assert {f"src/svcgen_runtime/{f}" for f in runtime} <= run_sdist
    _, run_wheel = _wheel(dist, "svcgen_runtime")
    assert {f"svcgen_runtime/{f}" for f in runtime} <= run_wheel


def test_both_pyprojects_read_the_one_version_file() -> None:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    rt = tomllib.loads(
        (ROOT / "runtime" / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert "version" not in root["project"] and "version" not in rt["project"]
    assert (
        "version" in root["project"]["dynamic"]
        and "version" in rt["project"]["dynamic"]
    )
    assert (ROOT / root["tool"]["hatch"]["version"]["path"]).resolve() == (
        ROOT / "runtime" / rt["tool"]["hatch"]["version"]["path"]
    ).resolve()


@pytest.mark.parametrize(
    ("given", "expected"),
    [("0.1.0", ">=0.1,<0.2"), ("0.1.7", ">=0.1,<0.2"), ("1.9.2", ">=1.9,<1.10"),
     ("2.0rc1", ">=2.0,<2.1")],
)  # fmt: skip
def test_the_compatible_range_is_the_same_major_minor(
    given: str, expected: str
) -> None:
    assert version.compatible_range(given) == expected


def test_a_version_without_major_minor_is_refused() -> None:
    with pytest.raises(ValueError, match=r"not a major\.minor"):
        version.compatible_range("7")


def test_generated_services_require_the_same_range(tmp_path: Path) -> None:
    root = commands.new("shop", brokers=["redis"], directory=tmp_path / "shop")
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    (dep,) = pyproject["project"]["dependencies"]
    assert Requirement(dep).specifier == SpecifierSet(version.RUNTIME_RANGE)
    assert pyproject["dependency-groups"]["dev"][0] == f"svcgen{version.RUNTIME_RANGE}"
    assert REQUIREMENTS["svcgen-runtime"] == f"svcgen-runtime{version.RUNTIME_RANGE}"
    assert f"svcgen-runtime[http,redis]{version.RUNTIME_RANGE}" in (
        root / "README.md"
    ).read_text(encoding="utf-8")


def test_version_prints_both_versions() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"svcgen {version.VERSION}\nsvcgen-runtime {version.installed('svcgen-runtime')}\n"
    )


def test_version_says_when_the_runtime_is_missing_or_out_of_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed: dict[str, str | None] = {"svcgen-runtime": None}
    monkeypatch.setattr(version, "installed", lambda name: installed[name])
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"svcgen {version.VERSION}",
        f"svcgen-runtime not installed (services need svcgen-runtime"
        f"{version.RUNTIME_RANGE}: pip install 'svcgen-runtime{version.RUNTIME_RANGE}')",
    ]
    installed["svcgen-runtime"] = "99.0.0"
    result = CliRunner().invoke(main, ["--version"])
    assert result.output.splitlines()[1] == (
        f"svcgen-runtime 99.0.0 (svcgen {version.VERSION} needs "
        f"svcgen-runtime{version.RUNTIME_RANGE})"
    )
