"""config (profiles, seeding, paths), reports (record, fill, build) and the PDF checks."""

import json

import numpy as np
import pytest
import torch

from aehelpers import config, pdfs, plots, printing, reports, runs


def test_profile_from_argument_env_and_default(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    assert config.resolve_profile(None) == "full"
    assert config.resolve_profile("smoke") == "smoke"
    monkeypatch.delenv(config.PROFILE_ENV)
    assert config.resolve_profile(None) == "default"


def test_unknown_profile_names_the_choices():
    with pytest.raises(ValueError, match="smoke, default, full"):
        config.resolve_profile("fast")


def test_pick_follows_profile():
    cfg = config.Config("x", profile="smoke")
    assert cfg.pick(smoke=1, default=10, full=100) == 1
    assert config.Config("x", profile="default").pick(1, 10, 100) == 10
    assert config.Config("x", profile="full").pick(1, 10, 100) == 100
    assert config.Config("x", profile="full").pick(1, 10) == 10  # full falls back to default


def test_setup_prints_one_line_and_seeds(capsys):
    cfg = config.setup("nb", profile="smoke", seed=3)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "profile=smoke" in out[0] and "seed=3" in out[0]
    a = torch.rand(3)
    config.setup("nb", profile="smoke", seed=3, verbose=False)
    assert torch.equal(a, torch.rand(3))
    assert cfg.media_dir == config.REPO_ROOT / "build" / "smoke" / "media" / "nb"


def test_record_merges_and_converts(smoke_config):
    reports.record(a=torch.tensor(1.5), b=np.float32(2.0), table={"x": torch.tensor([1, 2])})
    reports.record(c=3)
    saved = json.loads((smoke_config.media_dir / "metrics.json").read_text())
    assert saved["a"] == 1.5 and saved["b"] == 2.0 and saved["table"] == {"x": [1, 2]}
    assert saved["c"] == 3 and saved["profile"] == "smoke" and saved["seed"] == 0


def test_fill_formats_and_dotted_keys():
    text = "MSE {{ mse:.3f }} in {{ n }} epochs, {{ table.bce.value:.1f }}, {{ range.1:.0f }}"
    filled = pdfs.fill(text, {"mse": 0.12345, "n": 7, "table": {"bce": {"value": 99.94}},
                                 "range": [1.0, 4.4]})
    assert filled == "MSE 0.123 in 7 epochs, 99.9, 4"


def test_fill_refuses_missing_numbers():
    with pytest.raises(KeyError, match="missing_key"):
        pdfs.fill("value {{ missing_key }}", {"other": 1})


def test_build_makes_a_pdf_with_math_and_image(tmp_path):
    media = tmp_path / "media" / "demo"
    media.mkdir(parents=True)
    fig = plots.bar_table({"a": 1.0, "b": 2.0}, ylabel="y")
    plots.savefig(fig, "bars", notebook_dir=media)
    (media / "metrics.json").write_text(json.dumps({"x": 0.5}))
    md = tmp_path / "reports" / "demo.md"
    md.parent.mkdir()
    md.write_text("# Demo\n\n$x = {{ x:.2f }}$ and $$\\frac{1}{2}$$\n\n![bars](../media/demo/bars.png)\n")
    pytest.importorskip("typst")
    pdf = pdfs.build(md, pdf_path=tmp_path / "demo.pdf", media=tmp_path / "media")
    assert pdf.exists() and pdf.read_bytes()[:4] == b"%PDF"
    assert not md.with_suffix(".typ").exists()  # the intermediate file is cleaned up


def test_build_without_metrics_says_which_notebook(tmp_path):
    md = tmp_path / "07_x.md"
    md.write_text("# x")
    with pytest.raises(FileNotFoundError, match="07_x.ipynb"):
        pdfs.build(md, media=tmp_path)


def test_setup_starts_a_fresh_metrics_file(tmp_path, monkeypatch):
    """A key or figure written by an earlier run must not survive into a new run."""
    monkeypatch.setattr(config, "media_root", lambda profile: tmp_path)
    config.setup("nb", profile="smoke", verbose=False)
    reports.record(old_key=1.0)
    old_figure = plots.savefig(plots.bar_table({"a": 1}, ylabel="y"), "gone_next_run")
    (tmp_path / "nb" / "notes.txt").write_text("not ours to remove")
    assert "old_key" in json.loads((tmp_path / "nb" / "metrics.json").read_text())
    config.setup("nb", profile="smoke", verbose=False)
    assert not (tmp_path / "nb" / "metrics.json").exists() and not old_figure.exists()
    assert (tmp_path / "nb" / "notes.txt").exists()
    reports.record(new_key=2.0)
    written = json.loads((tmp_path / "nb" / "metrics.json").read_text())
    assert "new_key" in written and "old_key" not in written
    with pytest.raises(KeyError, match="old_key"):
        pdfs.fill("{{ old_key }}", written)


def test_inject_parameters_follows_the_parameters_cell():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# title"),
                                         nbformat.v4.new_code_cell("PROFILE = None")])
    nb.cells[1].metadata["tags"] = ["parameters"]
    out = runs.inject_parameters(nb, PROFILE="full", SEED=3)
    assert [c.source for c in out.cells][2] == "# Injected parameters\nPROFILE = 'full'\nSEED = 3"
    assert out.cells[2].metadata["tags"] == ["injected-parameters"]
    with pytest.raises(ValueError, match="tagged 'parameters'"):
        runs.inject_parameters(nbformat.v4.new_notebook(cells=[]), PROFILE="smoke")


def _report(tmp_path, body):
    (tmp_path / "reports").mkdir(exist_ok=True)
    (tmp_path / "media" / "r").mkdir(parents=True, exist_ok=True)
    (tmp_path / "media" / "r" / "metrics.json").write_text(json.dumps({"x": 1.5}))
    md = tmp_path / "reports" / "r.md"
    md.write_text('---\ntitle: "T"\nsubtitle: "S {{ x }}"\n---\n\n' + body)
    return md, pdfs.build(md, media=tmp_path / "media")


def test_check_pdf_finds_orphan_pages_holes_and_missing_figures(tmp_path):
    para = "Words that fill a line of text in a report for the page-fill test. " * 6
    page_break = "\n\n```{=typst}\n#pagebreak()\n```\n\n"
    full = "\n\n".join([para] * 10)  # about 80% of an A4 page
    md, pdf = _report(tmp_path, full + page_break + "An orphan.")
    problems = pdfs.check_pdf(pdf, md)
    assert problems == ["the last page 2 holds only 1 orphan line(s)"], problems
    md, pdf = _report(tmp_path, "Short." + page_break + full)
    problems = pdfs.check_pdf(pdf, md)
    assert len(problems) == 1 and problems[0].startswith("page 1 is filled to 1"), problems
    md.write_text(md.read_text() + "\n![missing](../media/r/none.png)\n")
    assert pdfs.check_pdf(pdf, md)[-1] == "figure ../media/r/none.png does not exist"
    md, pdf = _report(tmp_path, full + page_break + "\n\n".join([para] * 3))
    assert pdfs.check_pdf(pdf, md) == []


def test_check_pdf_finds_leftovers_and_a_missing_result_box(tmp_path):
    md, pdf = _report(tmp_path, "As 002-k asked, the gap is 3 +- 1 over 2 seed(s); nan.")
    problems = " | ".join(pdfs.check_pdf(pdf, md))
    for what in ("internal question id", "'+-'", "'(s)' plural", "code leftover"):
        assert what in problems, (what, problems)
    box = "::: result\n**Task.** t.\n\n**Verdict.** It works.\n:::\n\nAfter the box."
    md, pdf = _report(tmp_path, box)
    assert pdfs.check_pdf(pdf, md) == []
    md, pdf = _report(tmp_path, box.replace("**Verdict.**", "**In short.**"))
    assert pdfs.check_pdf(pdf, md) == ["page 1 does not show the result box's verdict"]


def test_result_box_glossary_and_media_name():
    boxed = pdfs.result_box("x\n\n::: result\n**Verdict.** v\n:::\n\ny")
    assert "#block(fill" in boxed and boxed.index("**Verdict.**") < boxed.rindex("]")
    terms = pdfs.glossary("The test AUROC and the KL term, in nats.")
    assert "**AUROC**" in terms and "**KL**" in terms and "**nats**" in terms
    assert "PSNR" not in terms and "**ELBO**" not in terms
    assert pdfs.media_name('---\ntitle: "x"\nmedia: 04_vae_kl\n---\n', "04_vae_kl_faces") == "04_vae_kl"
    assert pdfs.media_name('---\ntitle: "x"\n---\n', "01_conv_ae") == "01_conv_ae"


def test_check_pdf_finds_figure_text_too_small_at_print_size(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2))
    ax.set_title("title at 10 pt", fontsize=10)
    ax.tick_params(labelsize=8)
    png = plots.savefig(fig, "wide", notebook_dir=tmp_path / "media" / "r")
    assert printing.smallest_text_pt(fig) == 8.0
    plt.close(fig)
    full = pdfs.printed_text_pt(png, "{width=100%}")
    half = pdfs.printed_text_pt(png, "{width=50%}")
    assert half == pytest.approx(full / 2) and half < 8.0 <= full
    para = "Words that fill a line of text in a report for the page-fill test. " * 6
    md, pdf = _report(tmp_path, para + "\n\n![small](../media/r/wide.png){width=50%}\n")
    problems = [p for p in pdfs.check_pdf(pdf, md) if "figure" in p]
    assert len(problems) == 1 and "prints its smallest text at" in problems[0], problems
    md.write_text(para + "\n\n![fine](../media/r/wide.png){width=100%}\n")
    assert [p for p in pdfs.check_pdf(pdf, md) if "figure" in p] == []
    # savefig(print_width=) enlarges the text until it prints at 8 pt or more at that width
    fig, ax = plt.subplots(figsize=(9, 2))
    ax.set_title("a wide figure printed at half width", fontsize=9)
    png = plots.savefig(fig, "wide", notebook_dir=tmp_path / "media" / "r", print_width=0.5)
    plt.close(fig)
    assert pdfs.printed_text_pt(png, "{width=50%}") >= 8.0
    # a narrow figure too, where savefig's 0.1-inch pad is a large share of the printed width
    fig, ax = plt.subplots(figsize=(1.5, 1))
    ax.set_title("narrow", fontsize=6)
    png = plots.savefig(fig, "narrow", notebook_dir=tmp_path / "media" / "r", print_width=0.2)
    plt.close(fig)
    assert 8.0 <= pdfs.printed_text_pt(png, "{width=20%}") < 8.5


def test_markdown_table_formats_columns_and_escapes_pipes():
    table = reports.markdown_table([{"noise": "s|p", "psnr": 21.456, "n": 3}, {"noise": "g"}],
                                   ["noise", "psnr", "n"], {"psnr": ".1f"})
    assert table.splitlines() == ["| noise | psnr | n |", "| --- | --- | --- |",
                                  "| s/p | 21.5 | 3 |", "| g |  |  |"]
