"""Every report builds from the committed media/ into a PDF that a reader would not mind.

`pdfs.check_pdf` checks what can be checked mechanically: A4 pages, a page count within
bounds, no unfilled {{ field }}, every page but the last filled to 70%, no orphaned last page,
every figure file present and no figure text under 8 pt at its printed size.
"""

import pytest

from aehelpers import config, pdfs

REPORTS = sorted((config.REPO_ROOT / "reports").glob("*.md"))


def test_there_is_a_report_for_every_notebook_and_the_benchmarks():
    notebooks = {p.stem for p in (config.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert {p.stem for p in REPORTS} == notebooks | {"benchmarks", "seeds"}


@pytest.mark.parametrize("md", REPORTS, ids=lambda p: p.stem)
def test_report_builds_and_passes_the_layout_check(md, tmp_path):
    pdf = pdfs.build(md, pdf_path=tmp_path / f"{md.stem}.pdf")
    assert pdfs.check_pdf(pdf, md) == []


@pytest.mark.parametrize("md", REPORTS, ids=lambda p: p.stem)
def test_report_opens_with_key_findings(md):
    body = md.read_text().split("\n---\n", 1)[-1]
    headings = [line for line in body.splitlines() if line.startswith("#")]
    assert headings[0].lstrip("# ").strip() == "Key findings", headings[0]
    # a top-level section like the others, not a subsection of nothing ("## Key findings", "# Setup")
    assert headings[0].startswith("# "), headings[0]
