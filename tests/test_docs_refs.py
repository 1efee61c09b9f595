"""Every "docs/<file> sec. N" cited in the code names a numbered heading of that file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: a citation, e.g. "docs/REFERENCE.md sec. 1.6"
CITATION = re.compile(r"docs/([\w.-]+\.md) secs?\. (\d+(?:\.\d+)*)")
#: a numbered heading, e.g. "## 1. The study" or "### 1.6 Alignment interventions"
HEADING = re.compile(r"^#{2,6} (\d+(?:\.\d+)*)\.? ", re.MULTILINE)


def citations(text: str) -> list[tuple[str, str]]:
    """(file name, section number) of every citation in ``text`` (line breaks read as spaces)."""
    return CITATION.findall(re.sub(r"\s+", " ", text))


def sections(text: str) -> set[str]:
    """The numbers of the numbered headings of a markdown file."""
    return set(HEADING.findall(text))


def _cited() -> list[tuple[Path, str, str]]:
    found = []
    for folder in ("src", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == Path(__file__).resolve():  # its own examples are not citations
                continue
            found += [(path, name, number) for name, number in citations(path.read_text())]
    return found


def test_parsers_on_known_text() -> None:
    assert citations("see docs/REFERENCE.md\n  sec. 1.6 and docs/X.md sec. 2") == [
        ("REFERENCE.md", "1.6"),
        ("X.md", "2"),
    ]
    assert sections("## 1. A\n### 1.6 B\n#### 1.6.2 C\n## Decisions\nsec. 9\n") == {
        "1",
        "1.6",
        "1.6.2",
    }


def test_the_code_cites_the_reference() -> None:
    cited = _cited()
    assert len(cited) >= 15  # the docstrings that once cited a DESIGN file outside the repo
    assert not [p for p in ROOT.joinpath("src").rglob("*.py") if "DESIGN sec" in p.read_text()]


@pytest.mark.parametrize(
    "path, name, number", _cited(), ids=lambda v: str(v).removeprefix(f"{ROOT}/")
)
def test_every_citation_names_a_numbered_heading(path: Path, name: str, number: str) -> None:
    doc = ROOT / "docs" / name
    assert doc.is_file(), f"{path.relative_to(ROOT)} cites docs/{name}, which does not exist"
    assert number in sections(doc.read_text()), (
        f"{path.relative_to(ROOT)} cites docs/{name} sec. {number}; its numbered sections are "
        f"{sorted(sections(doc.read_text()))}"
    )
