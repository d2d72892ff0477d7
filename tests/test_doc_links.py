"""Every relative link in the project's Markdown points at a file that exists, and at
a heading of it when it names one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        ROOT / "benchmarks" / "README.md",
        *(ROOT / "docs").glob("*.md"),
    ]
)
_FENCE = re.compile(r"^```.*?^```", re.M | re.S)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} +(.+?) *#* *$", re.M)


def _prose(text: str) -> str:
    """The text outside code blocks and code spans."""
    return _FENCE.sub("", text)


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens."""
    found: set[str] = set()
    for heading in _HEADING.findall(_prose(text)):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        n, candidate = 0, slug
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def broken_links(doc: Path, root: Path = ROOT) -> list[str]:
    """``target`` of each relative link in ``doc`` that does not resolve inside
    ``root`` (users have the repository, nothing beside it)."""
    text = doc.read_text(encoding="utf-8")
    broken = []
    for target in _LINK.findall(_CODE.sub("", _prose(text))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists() or not file.is_relative_to(root):
            broken.append(target)
        elif anchor and file.suffix == ".md":
            if anchor not in anchors(file.read_text(encoding="utf-8")):
                broken.append(target)
    return broken


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    broken = broken_links(doc)
    assert not broken, f"{doc.relative_to(ROOT)}: fix or remove the links {broken}"


def test_the_checker_sees_a_broken_file_and_a_broken_anchor(tmp_path: Path) -> None:
    (tmp_path / "shared.md").write_text("outside the repository\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "other.md").write_text("# Some Title: here\n")
    doc = repo / "doc.md"
    doc.write_text(
        "[ok](other.md#some-title-here) [bad](missing.md) [bad anchor](other.md#nope)\n"
        "[outside](../shared.md) [here](#a-heading)\n\n## A heading\n"
        "`[code](not-a-link.md)`\n```\n[in a block](nor-this.md)\n```\n"
        "[web](https://example.com/x.md)\n"
    )
    assert broken_links(doc, repo) == ["missing.md", "other.md#nope", "../shared.md"]
