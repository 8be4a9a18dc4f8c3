"""The command line: `python -m aehelpers execute|seeds|build ...` (the Makefile's targets call it).

    python -m aehelpers execute notebooks/*.ipynb      # reruns a notebook only if its sources changed
    python -m aehelpers execute --force notebooks/*.ipynb
    python -m aehelpers seeds --seeds 0 1 2 3 4 notebooks/*.ipynb   # or: make seeds
    python -m aehelpers build --strict reports/*.md    # a PDF only where its inputs are newer
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import config, pdfs, runs, seeds, spreads


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
    se.add_argument("--carry", action="store_true",
                    help="run nothing: after a refactor, keep the seeds runs of each notebook whose "
                         "default run in media/ reproduced seed 0 exactly")
    bu = sub.add_parser("build", help="build reports/*.md into PDFs")
    bu.add_argument("reports", nargs="+")
    bu.add_argument("--strict", action="store_true",
                    help="exit non-zero when a built PDF breaks a layout rule (check_pdf)")
    bu.add_argument("--force", action="store_true", help="rebuild even PDFs newer than their inputs")
    args = parser.parse_args(argv)
    if args.command == "execute":
        return _execute_all(args.notebooks, args.profile, args.force)
    if args.command == "seeds":
        if args.carry:
            outcome = seeds.carry_seeds(args.notebooks)
            for name, what in outcome.items():
                print(f"{name}: {what}")
            return int(any(what.startswith("not carried") for what in outcome.values()))
        seeds.run_seeds(args.notebooks, args.seeds, args.jobs)
        return 0
    return _build_all(args.reports, args.strict, args.force)


def _execute_all(notebooks, profile: str, force: bool) -> int:
    timings = []
    for nb in notebooks:
        if not force and runs.is_current(nb, profile):
            print(f"{nb}: media/ is current (hash {runs.source_hash(nb)}): not run (FORCE=1 runs it)")
            continue
        threads = runs.recorded_threads(nb, profile)  # the float order of the run it replaces
        print(f"running {nb} ({profile}, {threads or 'all'} threads) ...", flush=True)
        timings.append(runs.execute(nb, profile, threads=threads))
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
    media = config.REPO_ROOT / "media" / name
    figures = [md.parent / ref for ref, _ in pdfs.FIGURE.findall(md.read_text())]
    return [md, media / "metrics.json", *figures, seeds.SEEDS_JSON, spreads.TARGETS_JSON,
            spreads.DIFFERENCES_JSON, pdfs.GLOSSARY_JSON, runs.PACKAGE / "pdfs.py",
            runs.PACKAGE / "spreads.py"]


def _build_all(reports, strict: bool, force: bool = False) -> int:
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
