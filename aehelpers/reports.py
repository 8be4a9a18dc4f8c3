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
    src = pypandoc.convert_text(text, "typst", format="markdown", extra_args=["--standalone"])
    typ = md_path.with_suffix(".typ")  # beside the .md, so ../media/... image paths resolve
    pdf_path = Path(pdf_path) if pdf_path else md_path.with_suffix(".pdf")
    try:
        typ.write_text(src)
        # root: the folder above reports/, so that ../media/... images may be read
        typst.compile(str(typ), output=str(pdf_path), root=str(md_path.parent.parent))
    finally:
        typ.unlink(missing_ok=True)
    return pdf_path


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
        for md in args.reports:
            name = Path(md).stem
            if not (config.REPO_ROOT / "notebooks" / f"{name}.ipynb").exists() and name != "benchmarks":
                print(f"skipping {md}: no notebook {name}.ipynb")
                continue
            print(f"built {build(md)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
