"""Markdown reports into PDF: fill each {{ field }} from metrics.json, pandoc to typst, typst to PDF.

    python -m aehelpers build reports/*.md      # or: make pdfs

`build` fills every {{ field }} of reports/<notebook>.md from media/<notebook>/metrics.json (a
missing field is an error, never a blank) and from the seeds run (`{{ seeds.headline.auroc:.3f }}`
prints that number's spread over the seeds in bench/results/seeds.json, see `spreads`) or from a
benchmark's result file (`{{ bench.gan_blocks.steps }}` reads bench/results/gan_blocks.json), converts the
Markdown to typst with pandoc and compiles the PDF with typst: LaTeX math, tables and images
render, no TeX needed. `check_pdf` says what a reader would mind in the result.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from . import config, spreads
from .findings import fill  # the one filler, shared with the notebooks (findings.show)

# A4 pages for printing; figures float to the top or bottom of a page (typst's placement: auto)
# so that a large figure never leaves half a page empty; table text is not justified (no
# stretched headers). Pandoc reads this YAML block beside the report's own front matter.
PAGE_SETUP = """---
papersize: a4
fontsize: 10.5pt
margin:
  x: 2.2cm
  y: 2.2cm
header-includes: |
  ```{=typst}
  #show figure.where(kind: image): set figure(placement: auto)
  #show figure.where(kind: table): set block(breakable: true)
  #show table: set par(justify: false)
  #show table: set text(size: 9pt)
  ```
---

"""


def title_as_float(text: str) -> str:
    """Move the front matter's title and subtitle into a top float that opens page 1.

    A figure that floats (placement: auto) could otherwise be put above the title; floats keep
    their order, so the title, being first, stays first.
    """
    front = re.match(r"---\n(.*?)\n---\n", text, re.S)
    if not front:
        return text
    fields = dict(re.findall(r'^(title|subtitle): "(.*)"$', front.group(1), re.M))
    if "title" not in fields:
        return text
    rest = re.sub(r'^(title|subtitle): ".*"\n?', "", front.group(1), flags=re.M).strip()
    quote = lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'
    sub = fields.get("subtitle")
    block = (f"```{{=typst}}\n#set document(title: {quote(fields['title'])})\n"
             f"#place(top, float: true, clearance: 1.2em)[#align(center)[\n"
             f"  #text(size: 1.45em, weight: \"bold\", {quote(fields['title'])})\n"
             + (f"  #v(0.3em) #text(size: 0.95em, {quote(sub)})\n" if sub else "")
             + "]]\n```\n\n")
    return (f"---\n{rest}\n---\n" if rest else "") + block + text[front.end():]


RESULT_BOX = re.compile(r"^::: *result *\n(.*?)\n:::[ \t]*$", re.S | re.M)


def result_box(text: str) -> str:
    """Turn a `::: result` ... `:::` block into a shaded box on the page (typst #block)."""
    open_, close = ("```{=typst}\n#block(fill: luma(238), inset: 9pt, radius: 3pt, width: 100%, "
                    "breakable: false)[\n```\n\n", "\n\n```{=typst}\n]\n```")
    return RESULT_BOX.sub(lambda m: open_ + m.group(1) + close, text)


GLOSSARY_JSON = config.REPO_ROOT / "reports" / "glossary.json"
# stated once in every report ({{ verdict_convention }}), so each verdict word means one thing
VERDICT_CONVENTION = (
    "A difference comes with its 95% interval. It is called (higher, lower, worse, ...) where the "
    "interval leaves out 0, and *within the noise* (or *inside the noise*) where the interval holds 0; "
    "an interval that ends within a hundredth of 0 is *borderline*. A range \"over 5 seeds\" is the "
    "same number from five independent runs of the notebook (`make seeds`, `reports/seeds.pdf`): "
    "a difference over seeds is called only where it has one sign in every seed, and a target "
    "counts as met where at least 4 of 5 seeds meet it.")


def glossary(text: str, path: Path = GLOSSARY_JSON) -> str:
    """A Markdown list defining each glossary term (reports/glossary.json) that the text uses."""
    terms = json.loads(path.read_text()) if path.exists() else {}
    used = [(term, entry) for term, entry in terms.items()
            if re.search(entry.get("pattern", r"\b" + re.escape(term) + r"\b"), text)]
    return "\n".join(f"- **{term}**: {entry['means']}" for term, entry in used) or "(none)"


def media_name(md_text: str, default: str) -> str:
    """Which media/<name>/ a report reads: its front matter's `media:`, else its own name."""
    front = re.match(r"---\n(.*?)\n---\n", md_text, re.S)
    found = re.search(r"^media:\s*(\S+)\s*$", front.group(1), re.M) if front else None
    return found.group(1) if found else default


def bench_results(md_text: str) -> dict:
    """{name: contents} of each bench/results/<name>.json that md_text's {{ bench.<name>... }} reads."""
    names = set(re.findall(r"\{\{\s*bench\.(\w+)", md_text))
    results = config.REPO_ROOT / "bench" / "results"
    missing = sorted(n for n in names if not (results / f"{n}.json").exists())
    if missing:
        raise FileNotFoundError(f"the report reads bench/results/{missing[0]}.json, which is "
                                f"missing: run bench/{missing[0]}.py (see its docstring)")
    return {n: json.loads((results / f"{n}.json").read_text()) for n in names}


def build(md_path, pdf_path=None, media=None) -> Path:
    """Fill reports/<name>.md from media/<name>/metrics.json and compile it to a PDF; return its path.

    A report may read another notebook's media (front matter `media: 04_vae_kl`); the field
    {{ glossary }} lists the glossary's terms that the report uses; `::: result` makes a box.
    """
    import pypandoc
    import typst

    md_path = Path(md_path).resolve()
    md_text = md_path.read_text()
    name = media_name(md_text, md_path.stem)
    md_text = re.sub(r"^media:.*\n", "", md_text, count=1, flags=re.M)
    metrics_path = Path(media or config.REPO_ROOT / "media") / name / "metrics.json"
    if name == "seeds":  # the seeds run's own report: its fields come from seeds.json
        spreads.write_seeds_fields(metrics_path)
    if not metrics_path.exists():
        raise FileNotFoundError(f"{metrics_path} is missing: run notebooks/{name}.ipynb first "
                                f"(make reports does both)")
    metrics = json.loads(metrics_path.read_text())
    if name != "seeds":  # each number's spread over the seeds run, beside this run's
        metrics["seeds"] = spreads.spreads(name, metrics)
    metrics["bench"] = bench_results(md_text)
    metrics["glossary"] = glossary(md_text)
    metrics["verdict_convention"] = VERDICT_CONVENTION
    metrics["targets_note"] = spreads.targets_note(name, md_text)
    try:
        text = result_box(fill(md_text, metrics, str(metrics_path)))
    except KeyError as missing:
        if "run" in metrics:
            raise
        # no run stamp: a run that is still going (or stopped) has rewritten this metrics.json
        raise KeyError(f"{missing.args[0]} (it has no run stamp: is a run of notebooks/{name}"
                       f".ipynb still going, or did one stop early? `git checkout media/{name}` "
                       f"restores the committed run)") from None
    src = pypandoc.convert_text(PAGE_SETUP + title_as_float(text), "typst", format="markdown",
                                extra_args=["--standalone"])
    typ = md_path.with_suffix(".typ")  # beside the .md, so ../media/... image paths resolve
    pdf_path = Path(pdf_path) if pdf_path else md_path.with_suffix(".pdf")
    try:
        typ.write_text(src)
        # root: the folder above reports/, so that ../media/... images may be read
        typst.compile(str(typ), output=str(pdf_path), root=str(md_path.parent.parent))
    finally:
        typ.unlink(missing_ok=True)
    return pdf_path


MIN_FILL = 0.70  # every page but the last is filled to at least this share of its height
MIN_LAST_LINES = 6  # a last page with less than this many lines of text and no figure is orphaned
MIN_PRINT_PT = 8.0  # the smallest text in a figure, at the size it is printed
TEXT_WIDTH_IN = (21.0 - 2 * 2.2) / 2.54  # A4 less PAGE_SETUP's margins, in inches
FIGURE = re.compile(r"!\[[^\]]*\]\((\.\./media/[^)\s]+)\)(\{[^}]*\})?")


def printed_text_pt(png_path, width_attr: str | None) -> float | None:
    """The smallest text (pt) of a figure saved by `plots.savefig`, once printed at the width the
    report gives it ({width=NN%} of the text width, else its own size capped at the text width);
    None for an image without that metadata."""
    from PIL import Image

    with Image.open(png_path) as im:
        meta, width_px = getattr(im, "text", {}), im.size[0]
    if "aehelpers-min-text-pt" not in meta:
        return None
    own_in = width_px / float(meta.get("aehelpers-dpi", 120))
    share = re.search(r"width\s*=\s*([\d.]+)%", width_attr or "")
    printed_in = (float(share.group(1)) / 100 * TEXT_WIDTH_IN if share
                  else min(own_in, TEXT_WIDTH_IN))
    return float(meta["aehelpers-min-text-pt"]) * printed_in / own_in


MAX_PAGES = {"default": 10, "04_vae_kl": 8}  # what a teacher hands out; 04 is split in two
# what a reader should never meet in a PDF: the project's internal ids of the students'
# questions, plus-minus typed as "+-", "(s)" plurals, and a code generator's leftovers
LEFTOVERS = {r"\b00[0-4]-[a-z]\b": "an internal question id", r"\+-": "'+-' (write ± or an interval)",
             r"\w\(s\)": "an '(s)' plural", r"\b(?:nan|None|inf)\b": "a code leftover (nan/None/inf)",
             r"\{\{": "an unfilled field"}


def check_pdf(pdf_path, md_path=None, max_pages: int | None = None) -> list[str]:
    """What a reader would mind in a built report (empty list: nothing): page count, unfilled
    {{ fields }}, internal ids and other leftovers, a missing result box on page 1, pages left
    mostly empty, an orphaned last page, A4 size, missing figure files, figure text under 8 pt at
    its printed size."""
    import pymupdf

    problems = []
    doc = pymupdf.open(str(pdf_path))
    max_pages = max_pages or MAX_PAGES.get(Path(md_path or pdf_path).stem, MAX_PAGES["default"])
    if not 1 <= len(doc) <= max_pages:
        problems.append(f"{len(doc)} pages (expected 1 to {max_pages})")
    if md_path is not None and RESULT_BOX.search(Path(md_path).read_text()):
        first = " ".join(doc[0].get_text().split())
        if "Verdict." not in first:
            problems.append("page 1 does not show the result box's verdict")
    whole = " ".join(page.get_text() for page in doc)
    for pattern, what in LEFTOVERS.items():
        found = re.search(pattern, whole)
        if found:
            problems.append(f"the text shows {what}: {whole[max(0, found.start() - 30):found.end() + 10]!r}")
    for i, page in enumerate(doc, start=1):
        w, h = page.rect.width, page.rect.height
        if abs(w - 595.3) > 2 or abs(h - 841.9) > 2:
            problems.append(f"page {i} is {w:.0f}x{h:.0f} pt, not A4")
        blocks = [b for b in page.get_text("blocks") if not b[4].strip().isdigit()]  # no page no.
        images = [r for info in page.get_images(full=True) for r in page.get_image_rects(info[0])]
        bottom = max([b[3] for b in blocks] + [r.y1 for r in images], default=0) / h
        if i < len(doc) and bottom < MIN_FILL:
            problems.append(f"page {i} is filled to {bottom:.0%} of its height "
                            f"(a hole before the next page; at least {MIN_FILL:.0%})")
        lines = sum(b[4].count("\n") for b in blocks)
        if i == len(doc) > 1 and not images and lines < MIN_LAST_LINES:
            problems.append(f"the last page {i} holds only {lines} orphan line(s)")
    if md_path is not None:
        for ref, attrs in FIGURE.findall(Path(md_path).read_text()):
            png = Path(md_path).parent / ref
            if not png.exists():
                problems.append(f"figure {ref} does not exist")
                continue
            pt = printed_text_pt(png, attrs)
            if pt is not None and pt < MIN_PRINT_PT - 0.05:
                problems.append(f"figure {ref} prints its smallest text at {pt:.1f} pt "
                                f"(at least {MIN_PRINT_PT:.0f}: a narrower figsize, larger "
                                f"fonts or a wider {{width=..%}})")
    return problems
