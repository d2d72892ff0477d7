"""svcgen's templates compiled to Python ahead of time and shipped in the package.

Jinja turns a template into Python source before it runs it; for svcgen's
templates that was a tenth of a cold ``svcgen generate`` or ``check``. The
modules in ``_compiled_templates/`` are that source, written by
``python -m svcgen.compiled`` (``python -m tests.generator.regen`` runs it too),
with a manifest naming the Jinja version, the environment's options and the
hash of every template they were compiled from. ``loader`` uses them only when
all of that matches what is installed, so an edited template or another Jinja
release just compiles as before: slower, never different. A test keeps the
committed modules current.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import jinja2

COMPILED: Final = Path(__file__).resolve().parent / "_compiled_templates"
MANIFEST: Final = "manifest.json"
KINDS: Final = ("generated/", "stubs/")
"""The templates svcgen renders itself (the skeleton is copier's)."""


def is_ours(name: str) -> bool:
    return name.startswith(KINDS) and name.endswith(".jinja")


def manifest(templates: Path, options: str) -> dict[str, Any]:
    """What compiled modules must have been compiled from to stand for ``templates``."""
    import jinja2

    hashes = {}
    for kind in KINDS:
        for path in sorted((templates / kind).rglob("*.jinja")):
            name = path.relative_to(templates).as_posix()
            hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"jinja2": jinja2.__version__, "options": options, "templates": hashes}


def loader(
    source: jinja2.BaseLoader, templates: Path, options: str
) -> jinja2.BaseLoader:
    """The compiled modules in front of ``source`` when they are current, else
    ``source`` alone."""
    import jinja2

    try:
        shipped = json.loads((COMPILED / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return source
    if shipped != manifest(templates, options):
        return source
    return jinja2.ChoiceLoader([jinja2.ModuleLoader(str(COMPILED)), source])


def write(target: Path = COMPILED) -> int:
    """Compile every template svcgen renders into ``target``; return how many."""
    from .render import source_environment

    env, templates, options = source_environment()
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    env.compile_templates(
        str(target), filter_func=is_ours, zip=None, ignore_errors=False
    )
    text = json.dumps(manifest(templates, options), indent=2, sort_keys=True)
    (target / MANIFEST).write_text(text + "\n", encoding="utf-8")
    return sum(1 for _ in target.glob("*.py"))


def main() -> None:
    print(f"compiled {write()} templates into {COMPILED}")


if __name__ == "__main__":
    main()
