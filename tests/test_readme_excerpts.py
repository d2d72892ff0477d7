"""The README's service.yaml, app.py and handler are excerpts of examples/sensors."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SENSORS = ROOT / "examples" / "sensors"
SOURCES = [
    SENSORS / "service.yaml",
    SENSORS / "src" / "sensors" / "_generated" / "app.py",
    SENSORS / "src" / "sensors" / "handlers" / "reading.py",
]
_BLOCK = re.compile(r"^```(yaml|python)\n(.*?)^```", re.M | re.S)


def excerpts(readme: str) -> list[str]:
    """Each run of lines of the README's yaml and python blocks between ``...`` lines."""
    runs: list[str] = []
    for _, body in _BLOCK.findall(readme):
        runs += [r for r in re.split(r"^ *\.\.\.\n", body, flags=re.M) if r.strip()]
    return runs


def test_readme_shows_real_generated_and_example_code() -> None:
    texts = [path.read_text(encoding="utf-8") for path in SOURCES]
    runs = excerpts((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(runs) >= 4  # service.yaml, app.py header and body, the handler
    stale = [run for run in runs if not any(run in text for text in texts)]
    assert not stale, (
        "README.md's excerpts differ from examples/sensors (regenerated?): copy them "
        f"again from there; first stale one:\n{stale[0] if stale else ''}"
    )
