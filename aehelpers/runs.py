"""Running the notebooks: once, only where something changed, or once per seed; and what each ran.

    python -m aehelpers execute notebooks/*.ipynb      # reruns a notebook only if its sources changed
    python -m aehelpers execute --force notebooks/*.ipynb
    python -m aehelpers seeds --seeds 0 1 2 3 4 notebooks/*.ipynb   # or: make seeds
    python -m aehelpers build reports/*.md             # the PDFs (see pdfs)

A notebook's **source hash** covers its code cells, the package modules it imports (and theirs,
read from the import lines), `aehelpers/__init__.py` and the shipped data (data/SHA256SUMS). A run
stamps it into media/<notebook>/metrics.json (`run`); `execute` skips a notebook whose stamp
matches, so a second `make reports` with nothing changed only rebuilds the PDFs.

`seeds` runs each notebook once per seed on top of these.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from . import config

PACKAGE = config.REPO_ROOT / "aehelpers"

# ---------------------------------------------------------------------------- one run


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


def execute(notebook, profile: str = "default", out_dir=None, timeout: int = 1800, seed=None,
            media=None, threads: int | None = None) -> dict:
    """Run a notebook top to bottom in a profile (and seed); stamp its metrics.json; return the time (s).

    `media` sends its figures and metrics elsewhere than media/ (the kernel reads $AEH_MEDIA);
    `threads` caps the kernel's CPU threads (OMP_NUM_THREADS), for runs side by side.
    The executed copy is saved under build/executed/<profile>/, even when a cell fails.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = Path(notebook).resolve()
    out_dir = Path(out_dir or config.REPO_ROOT / "build" / "executed" / profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    params = {"PROFILE": profile} if seed is None else {"PROFILE": profile, "SEED": seed}
    nb = inject_parameters(nbformat.read(notebook, as_version=4), **params)
    env = dict(os.environ)
    env.pop(config.MEDIA_ENV, None)
    if media is not None:
        env[config.MEDIA_ENV] = str(media)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}})
    start = time.perf_counter()
    try:
        client.execute(env=env)
    finally:
        name = notebook.name if seed is None else f"{notebook.stem}_seed{seed}.ipynb"
        nbformat.write(nb, out_dir / name)  # keep the outputs, even of a failed run
    seconds = round(time.perf_counter() - start, 1)
    metrics_path = Path(media or config.media_root(profile)) / notebook.stem / "metrics.json"
    if metrics_path.exists():
        metrics = json.loads(metrics_path.read_text())
        metrics["run"] = {"hash": source_hash(notebook), "commit": git_commit(),
                          "seconds": seconds, "profile": profile}
        metrics_path.write_text(json.dumps(metrics, indent=1, sort_keys=True))
    return {"notebook": notebook.stem, "profile": profile, "seconds": seconds}


# ---------------------------------------------------------------------------- what a run depends on

IMPORT_NAMES = re.compile(r"from\s+aehelpers\s+import\s+(\([^)]*\)|[^\n]*)")
DOTTED = re.compile(r"(?:from\s+aehelpers|import\s+aehelpers)\.(\w+)")
RELATIVE = re.compile(r"^from\s+\.(\w*)\s+import\s+(\([^)]*\)|[^\n]*)", re.M)


def _names(group: str) -> set[str]:
    """The imported names of `a, b as c, (d, e)  # comment` lines."""
    group = re.sub(r"#[^\n]*", "", group).strip("() \n")
    return {part.split(" as ")[0].strip() for part in group.replace("\n", " ").split(",")} - {""}


def package_modules(notebook) -> list[str]:
    """The aehelpers modules a notebook imports, directly or through the modules it imports (sorted)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    todo = set(DOTTED.findall(code))
    for group in IMPORT_NAMES.findall(code):
        todo |= _names(group)
    seen = set()
    while todo:
        name = todo.pop()
        path = PACKAGE / f"{name}.py"
        if name in seen or not path.exists():  # a function imported by name, not a module
            continue
        seen.add(name)
        for module, group in RELATIVE.findall(path.read_text()):
            todo |= {module} if module else _names(group)
    return sorted(seen)


def source_hash(notebook) -> str:
    """16 hex digits over the notebook's code and markdown, the package modules it imports,
    aehelpers/__init__.py and the shipped data's checksums: what decides its numbers."""
    import nbformat

    h = hashlib.sha256()
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:  # sources only: committed outputs change nothing the run computes
        h.update(f"{cell.cell_type}\0{cell.source}\0".encode())
    files = [PACKAGE / "__init__.py"] + [PACKAGE / f"{m}.py" for m in package_modules(notebook)]
    files.append(config.REPO_ROOT / "data" / "SHA256SUMS")
    for path in files:
        h.update(f"{path.relative_to(config.REPO_ROOT)}\0".encode() + path.read_bytes())
    return h.hexdigest()[:16]


def git_commit() -> str:
    """The checked-out commit (12 hex digits, '+' when the tree has changes), or 'unknown'."""
    try:
        run = lambda *a: subprocess.run(["git", *a], cwd=config.REPO_ROOT, capture_output=True,
                                        text=True, check=True).stdout.strip()
        return run("rev-parse", "--short=12", "HEAD") + ("+" if run("status", "--porcelain") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def stamp(notebook, profile: str = "default", media=None) -> dict:
    """The `run` stamp in the notebook's metrics.json ({} where it has none)."""
    path = Path(media or config.media_root(profile)) / Path(notebook).stem / "metrics.json"
    return json.loads(path.read_text()).get("run", {}) if path.exists() else {}


def is_current(notebook, profile: str = "default") -> bool:
    """True when media/ holds a run of this profile at the notebook's current source hash."""
    run = stamp(notebook, profile)
    return run.get("profile") == profile and run.get("hash") == source_hash(notebook)


# ---------------------------------------------------------------------------- command line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aehelpers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="run notebooks in a profile (only those whose sources changed)")
    ex.add_argument("notebooks", nargs="+")
    ex.add_argument("--profile", default="default", choices=config.PROFILES)
    ex.add_argument("--force", action="store_true", help="run even where media/ is current")
    se = sub.add_parser("seeds", help="run notebooks once per seed into bench/results/seeds.json")
    se.add_argument("notebooks", nargs="+")
    se.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    se.add_argument("--jobs", type=int, default=1, help="kernels at once (each on 2 // jobs threads)")
    bu = sub.add_parser("build", help="build reports/*.md into PDFs")
    bu.add_argument("reports", nargs="+")
    bu.add_argument("--strict", action="store_true",
                    help="exit non-zero when a built PDF breaks a layout rule (check_pdf)")
    bu.add_argument("--force", action="store_true", help="rebuild even PDFs newer than their inputs")
    args = parser.parse_args(argv)
    if args.command == "execute":
        return _execute_all(args.notebooks, args.profile, args.force)
    if args.command == "seeds":
        from . import seeds

        seeds.run_seeds(args.notebooks, args.seeds, args.jobs)
        return 0
    return _build_all(args.reports, args.strict, args.force)


def _execute_all(notebooks, profile: str, force: bool) -> int:
    timings = []
    for nb in notebooks:
        if not force and is_current(nb, profile):
            print(f"{nb}: media/ is current (hash {source_hash(nb)}): not run (FORCE=1 runs it)")
            continue
        print(f"running {nb} ({profile}) ...", flush=True)
        timings.append(execute(nb, profile))
        print(f"  done in {timings[-1]['seconds']} s", flush=True)
    # merge with earlier runs, so timing one notebook keeps the others' times
    log = config.REPO_ROOT / "build" / f"timings-{profile}.json"
    log.parent.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(log.read_text()) if log.exists() else []
    names = {t["notebook"] for t in timings}
    merged = [t for t in earlier if t["notebook"] not in names] + timings
    log.write_text(json.dumps(sorted(merged, key=lambda t: t["notebook"]), indent=1))
    return 0


def pdf_inputs(md: Path, name: str) -> list[Path]:
    """Every file a report's PDF is made from: its Markdown, its metrics and figures, the seeds
    run and the files that fill or lay it out."""
    from . import pdfs, seeds

    media = config.REPO_ROOT / "media" / name
    figures = [md.parent / ref for ref, _ in pdfs.FIGURE.findall(md.read_text())]
    return [md, media / "metrics.json", *figures, seeds.SEEDS_JSON, seeds.TARGETS_JSON,
            seeds.DIFFERENCES_JSON, pdfs.GLOSSARY_JSON, PACKAGE / "pdfs.py", PACKAGE / "seeds.py"]


def _build_all(reports, strict: bool, force: bool = False) -> int:
    from . import pdfs

    failed = 0
    for md in map(Path, reports):
        name = pdfs.media_name(md.read_text(), md.stem)  # 04_vae_kl_faces reads 04_vae_kl
        if not (config.REPO_ROOT / "notebooks" / f"{name}.ipynb").exists() and name not in (
                "benchmarks", "seeds"):
            print(f"skipping {md}: no notebook {name}.ipynb")
            continue
        pdf = md.with_suffix(".pdf")
        newest = max((p.stat().st_mtime for p in pdf_inputs(md, name) if p.exists()), default=0)
        if not force and name != "seeds" and pdf.exists() and pdf.stat().st_mtime > newest:
            print(f"{pdf} is newer than all it is made from: not rebuilt (FORCE=1 rebuilds it)")
            continue
        pdfs.build(md, pdf_path=pdf)
        problems = pdfs.check_pdf(pdf, md)
        print(f"built {pdf}" + "".join(f"\n  layout: {p}" for p in problems), flush=True)
        if problems and strict:  # no PDF that breaks a rule is left behind to pass next time
            pdf.unlink()
        failed += bool(problems)
    if failed and strict:
        print(f"{failed} report(s) break a layout rule")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
