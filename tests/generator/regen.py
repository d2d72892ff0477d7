"""Regenerate svcgen's precompiled templates and every golden case:
``python -m tests.generator.regen`` (from the repo root).

Goldens are never edited by hand: change the generator or a case's service.yaml,
run this, and review the diff.
"""

from __future__ import annotations

from svcgen import formatting, render

from .golden import cases, regenerate


def main() -> None:
    formatting.write_precompiled(*render.source_environment())
    for case in cases():
        print(f"{case.name}: {regenerate(case)}")


if __name__ == "__main__":
    main()
