"""Numbers from a run into media/<notebook>/metrics.json, and Markdown reports into PDF.

In a notebook:   reports.record(test_mse=0.0123, num_epochs=15)
In a report:     The test MSE is {{ test_mse:.4f }} after {{ num_epochs }} epochs.
From the shell:  python -m aehelpers execute notebooks/*.ipynb --profile default
                 python -m aehelpers build reports/*.md

`build` fills every {{ field }} of reports/<notebook>.md from media/<notebook>/metrics.json (a
missing field is an error, never a blank), converts the Markdown to typst with pandoc and
compiles the PDF with typst: LaTeX math, tables and images render, no TeX needed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from . import config

FIELD = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*(?::\s*([^}]*?))?\s*\}\}")


def record(**numbers) -> dict:
    """Merge numbers into <media>/<notebook>/metrics.json (with profile and seed); return all."""
    cfg = config.current()
    path = cfg.media_dir / "metrics.json"
    metrics = json.loads(path.read_text()) if path.exists() else {}
    metrics.update({"profile": cfg.profile, "seed": cfg.seed})
    metrics.update({k: _plain(v) for k, v in numbers.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(metrics, indent=1, sort_keys=True))
    tmp.replace(path)  # atomic: a crash mid-write never leaves half a file
    return metrics


def _plain(v):
    """Tensors and numpy numbers -> Python numbers/lists, so json can write them."""
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def markdown_table(rows: list[dict], columns: list[str], formats: dict | None = None) -> str:
    """A Markdown pipe table of rows (dicts) for a report field, e.g. record(tables={"noise": ...});
    formats maps a column to a format spec such as ".2f"."""
    formats = formats or {}

    def cell(column, v):
        if isinstance(v, (int, float)) and not isinstance(v, bool) and column in formats:
            return format(v, formats[column])
        return str(v).replace("|", "/")

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(c, r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def fill(text: str, metrics: dict, source: str = "metrics") -> str:
    """Replace each {{ key }} or {{ key:fmt }} (dotted keys a.b and a.0 index into dicts and lists)."""
    missing = []

    def lookup(match):
        key, fmt = match.group(1), match.group(2)
        value = metrics
        for part in key.split("."):  # a.b reads a dict, a.0 a list
            if isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            elif isinstance(value, dict) and part in value:
                value = value[part]
            else:
                missing.append(key)
                return match.group(0)
        return format(value, fmt) if fmt else str(value)

    out = FIELD.sub(lookup, text)
    if missing:
        raise KeyError(f"{source} has no value for {sorted(set(missing))}: run the notebook that "
                       f"records them (reports.record(...)) before building the report")
    return out


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


def build(md_path, pdf_path=None, media=None) -> Path:
    """Fill reports/<name>.md from media/<name>/metrics.json and compile it to a PDF; return its path."""
    import pypandoc
    import typst

    md_path = Path(md_path).resolve()
    name = md_path.stem
    metrics_path = Path(media or config.REPO_ROOT / "media") / name / "metrics.json"
    if not metrics_path.exists():
        raise FileNotFoundError(f"{metrics_path} is missing: run notebooks/{name}.ipynb first "
                                f"(make reports does both)")
    text = fill(md_path.read_text(), json.loads(metrics_path.read_text()), str(metrics_path))
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


def check_pdf(pdf_path, md_path=None, max_pages: int = 12) -> list[str]:
    """What a reader would mind in a built report (empty list: nothing): page count, unfilled
    {{ fields }}, pages left mostly empty, an orphaned last page, A4 size, missing figure files,
    figure text under 8 pt at its printed size."""
    import pymupdf

    problems = []
    doc = pymupdf.open(str(pdf_path))
    if not 1 <= len(doc) <= max_pages:
        problems.append(f"{len(doc)} pages (expected 1 to {max_pages})")
    for i, page in enumerate(doc, start=1):
        w, h = page.rect.width, page.rect.height
        if abs(w - 595.3) > 2 or abs(h - 841.9) > 2:
            problems.append(f"page {i} is {w:.0f}x{h:.0f} pt, not A4")
        text = page.get_text()
        if "{{" in text:
            problems.append(f"page {i} shows an unfilled field near {text[text.index('{{'):][:30]!r}")
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


def inject_parameters(nb, **params):
    """Insert a cell setting params after the cell tagged "parameters" (papermill's convention).

    The notebook then runs with those values whatever the environment says, exactly as
    `papermill in.ipynb out.ipynb -p PROFILE full` would run it.
    """
    import nbformat

    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    if not tagged:
        raise ValueError("the notebook has no cell tagged 'parameters' to inject values after")
    source = "# Injected parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(tagged[0] + 1, cell)
    return nb


def execute(notebook, profile: str = "default", out_dir=None, timeout: int = 1800) -> dict:
    """Run a notebook top to bottom in a profile; save the executed copy under build/."""
    import nbformat
    from nbclient import NotebookClient

    notebook = Path(notebook).resolve()
    out_dir = Path(out_dir or config.REPO_ROOT / "build" / "executed" / profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    nb = inject_parameters(nbformat.read(notebook, as_version=4), PROFILE=profile)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        nbformat.write(nb, out_dir / notebook.name)  # keep the outputs, even of a failed run
    return {"notebook": notebook.stem, "profile": profile,
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m aehelpers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="run notebooks in a profile")
    ex.add_argument("notebooks", nargs="+")
    ex.add_argument("--profile", default="default", choices=config.PROFILES)
    bu = sub.add_parser("build", help="build reports/*.md into PDFs")
    bu.add_argument("reports", nargs="+")
    bu.add_argument("--strict", action="store_true",
                    help="exit non-zero when a built PDF breaks a layout rule (check_pdf)")
    args = parser.parse_args(argv)
    if args.command == "execute":
        timings = []
        for nb in args.notebooks:
            print(f"running {nb} ({args.profile}) ...", flush=True)
            timings.append(execute(nb, args.profile))
            print(f"  done in {timings[-1]['seconds']} s", flush=True)
        # merge with earlier runs, so timing one notebook keeps the others' times
        log = config.REPO_ROOT / "build" / f"timings-{args.profile}.json"
        earlier = json.loads(log.read_text()) if log.exists() else []
        names = {t["notebook"] for t in timings}
        merged = [t for t in earlier if t["notebook"] not in names] + timings
        log.write_text(json.dumps(sorted(merged, key=lambda t: t["notebook"]), indent=1))
    else:
        failed = 0
        for md in args.reports:
            name = Path(md).stem
            if not (config.REPO_ROOT / "notebooks" / f"{name}.ipynb").exists() and name != "benchmarks":
                print(f"skipping {md}: no notebook {name}.ipynb")
                continue
            pdf = build(md)
            problems = check_pdf(pdf, md)
            print(f"built {pdf}" + "".join(f"\n  layout: {p}" for p in problems), flush=True)
            failed += bool(problems)
        if failed and args.strict:
            print(f"{failed} report(s) break a layout rule")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
