"""The precompiled templates are current, used, and render what the sources render."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import pytest

from svcgen import formatting, render
from svcgen.plan import make_plan
from svcgen.spec import load_spec

from .golden import GOLDEN

REGEN = "python -m tests.generator.regen"


def test_the_committed_modules_are_current(tmp_path: Path) -> None:
    """Fails after a template edit until the modules are compiled again."""
    _, templates, options = render.source_environment()
    shipped = json.loads((formatting.PRECOMPILED / "manifest.json").read_text())
    assert shipped == formatting._manifest(templates, options), f"run {REGEN}"
    fresh = tmp_path / "fresh"
    formatting.write_precompiled(*render.source_environment(), target=fresh)
    compiled = formatting.PRECOMPILED
    for path in sorted(fresh.iterdir()):
        assert (compiled / path.name).read_text() == path.read_text(), REGEN
    assert {p.name for p in compiled.iterdir() if p.is_file()} == {
        p.name for p in fresh.iterdir()
    }


def test_renders_use_them() -> None:
    loader = render._environment().loader
    assert isinstance(loader, jinja2.ChoiceLoader)
    assert isinstance(loader.loaders[0], jinja2.ModuleLoader)


@pytest.mark.parametrize("change", ["options", "template"])
def test_anything_changed_falls_back_to_the_sources(
    change: str, tmp_path: Path
) -> None:
    _, templates, options = render.source_environment()
    source = jinja2.FileSystemLoader(str(templates))
    assert formatting.precompiled_loader(source, templates, options) is not source
    if change == "options":
        options += " changed"
    else:
        copy = tmp_path / "templates"
        for path in templates.rglob("*.jinja"):
            target = copy / path.relative_to(templates)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())
        handler = copy / "stubs" / "handler.py.jinja"
        handler.write_text(handler.read_text() + "# edited\n")
        templates = copy
    assert formatting.precompiled_loader(source, templates, options) is source


def test_compiled_and_source_templates_render_the_same() -> None:
    plan = make_plan(load_spec(GOLDEN / "design_example" / "service.yaml"))
    env, _, _ = render.source_environment()
    for name in ("generated/app.py.jinja", "generated/settings.py.jinja"):
        from_source = env.get_template(name).render(plan=plan)
        assert render._environment().get_template(name).render(plan=plan) == (
            from_source
        )
