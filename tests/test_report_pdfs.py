"""Every report builds from the committed media/ into a PDF that a reader would not mind.

`pdfs.check_pdf` checks what can be checked mechanically: A4 pages, a page count within
bounds, no unfilled {{ field }}, internal id or '+-', the result box's verdict on page 1, every
page but the last filled to 70%, no orphaned last page, every figure file present and no figure
text under 8 pt at its printed size.
"""

import pytest

from aehelpers import config, pdfs

REPORTS = sorted((config.REPO_ROOT / "reports").glob("*.md"))


def test_there_is_a_report_for_every_notebook_and_the_benchmarks():
    notebooks = {p.stem for p in (config.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    media = {pdfs.media_name(p.read_text(), p.stem) for p in REPORTS}
    assert media == notebooks | {"benchmarks", "seeds"}


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


@pytest.mark.parametrize("md", REPORTS, ids=lambda p: p.stem)
def test_report_opens_with_its_result_box(md):
    body = md.read_text().split("# Key findings", 1)[1]
    assert body.lstrip().startswith("::: result"), md.stem
    box = body.split(":::", 2)[1]
    for part in ("**Task.**", "**Data.**", "**Main number.**", "**Verdict.**"):
        assert part in box, (md.stem, part)


def test_bench_results_reads_only_the_named_files_and_says_which_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    (tmp_path / "bench" / "results").mkdir(parents=True)
    (tmp_path / "bench" / "results" / "gan_blocks.json").write_text('{"steps": 5000}')
    (tmp_path / "bench" / "results" / "other.json").write_text("{}")
    md = "At {{ bench.gan_blocks.steps:, }} steps; {{ headline.x }}"
    assert pdfs.bench_results(md) == {"gan_blocks": {"steps": 5000}}
    assert pdfs.bench_results("no bench field") == {}
    with pytest.raises(FileNotFoundError, match="bench/results/absent.json.*bench/absent.py"):
        pdfs.bench_results("{{ bench.absent.value }}")


def test_build_says_when_metrics_come_from_an_unfinished_run(tmp_path):
    media = tmp_path / "media" / "x"
    media.mkdir(parents=True)
    (media / "metrics.json").write_text('{"profile": "default", "seed": 0}')  # as setup leaves it
    md = tmp_path / "x.md"
    md.write_text("---\ntitle: x\n---\n\nAccuracy {{ headline.accuracy }}.\n")
    with pytest.raises(KeyError, match="no run stamp.*git checkout media/x"):
        pdfs.build(md, pdf_path=tmp_path / "x.pdf", media=tmp_path / "media")
