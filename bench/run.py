"""Run every benchmark, print its tables, write bench/results/*.json and the report's metrics.

    python bench/run.py --quick          # small sizes, about a minute on 2 idle cores: a check
    python bench/run.py                  # the full run behind reports/benchmarks.md (~15 min)
    python bench/run.py --notebooks --make   # also run the notebooks in smoke and default, and
                                             # time make test and make reports (long)

Sections: 1 loop (train.fit vs a hand-written loop vs Lightning), 2 data path, 3 notebook and
make wall time, 4 accelerator (GPU, else CPU), 5 quality on real MNIST, and bench/noise.py's
table when that file exists. The numbers go to media/benchmarks/metrics.json, from which
`reports/benchmarks.md` is filled and built to PDF at the end. Benchmarks are not tests: no CI.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback

import accel
import common
import quality
import speed
import torch
import walltime

from aehelpers import pdfs

SECTIONS = ("loop", "data", "walltime", "accel", "quality", "noise")
TABLES = {"loop": ("loop", "loop_setting"), "data": ("data", "data_images"),  # report fields
          "walltime": ("walltime", "make", "walltime_source"), "accel": ("accel",),
          "quality": ("quality", "quality_settings", "one_class", "one_class_figure"),
          "noise": ("noise",)}


# ---------------------------------------------------------------------------------------------
# each section: measure, print, and return (result, {table name: markdown})
# ---------------------------------------------------------------------------------------------


def loop_section(quick):
    r = speed.loop_overhead(quick)
    cols = ["loop", "seconds", "images/s", "ratio", "overhead per batch (us)"]
    print(common.table(r["rows"], cols, "1. training loop"))
    return r, loop_tables(r)


def loop_tables(r):
    """Section 1's report tables from its result (a fresh one or bench/results/loop.json)."""
    cols = ["loop", "seconds", "images/s", "ratio", "overhead per batch (us)"]
    md = common.markdown_table(r["rows"], cols, {"seconds": ".2f", "images/s": ",.0f",
                                                 "ratio": ".3f", "overhead per batch (us)": ",.0f"})
    epochs = f"{r['num_epochs']} epoch" + ("s" if r["num_epochs"] != 1 else "")
    setting = (f"{r['dataset']}; batch {r['batch_size']}, {epochs} per run, "
               f"median of {r['repeats']} interleaved rounds after one warm-up round; "
               f"Lightning {r['lightning']}")
    return {"loop": md, "loop_setting": setting}


def data_section(quick):
    rows, tables = [], {}
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        r = speed.data_path(quick, device)
        rows += r["rows"]
    tables["data_images"] = f"{r['images']:,}"
    cols = ["loader", "device", "images/s", "speed-up of TensorLoader"]
    print(common.table(rows, cols, "2. data path (one pass, batch 128)"))
    tables["data"] = common.markdown_table(rows, cols, {"images/s": ",.0f",
                                                        "speed-up of TensorLoader": ".1f"})
    return {"rows": rows}, tables


def walltime_section(quick, run_notebooks=False, run_make=False):
    nb = walltime.notebooks(run=run_notebooks)
    stored = common.RESULTS_DIR / "walltime.json"
    if not nb["rows"] and stored.exists():  # no timings in build/: keep the last measured ones
        nb = json.loads(stored.read_text())["notebooks"]
    make = walltime.make_targets(run=run_make)
    cols = ["notebook", "smoke s", "default s", "default range (seeds)"]
    total = {"notebook": "**all together**", "default range (seeds)": ""}
    for p, t in nb["totals"].items():
        total[f"{p} s"] = f"{t['seconds']:.0f} (target < {t['target_s']}, met: {t['met']})"
    rows = nb["rows"] + [total]
    print(common.table(rows, cols, "3. notebook wall time"))
    make_rows = [{"target": f"make {k}", "seconds": v["seconds"], "exit code": v["rc"],
                  "measured": v["date"]} for k, v in make.items()] or [
        {"target": "make test / make reports", "seconds": "not measured (run with --make)"}]
    for row, v in zip(make_rows, make.values()):
        row["how"] = v.get("how", "")
    mcols = ["target", "seconds", "exit code", "measured", "how"]
    print(common.table(make_rows, mcols))
    sources = "; ".join(f"{p}: {s}" for p, s in nb["source"].items())
    return {"notebooks": nb, "make": make}, {
        "walltime": common.markdown_table(rows, cols, {"smoke s": ".1f", "default s": ".1f"}),
        "make": common.markdown_table(make_rows, mcols, {"seconds": ",.0f"}),
        "walltime_source": sources}


def accel_section(quick):
    r = accel.table(quick)
    cols = ["model", "setting", "images/s", "s/epoch", "ratio", "warm-up s", "note"]
    where = r["device"] if r["gpu_found"] else "CPU: no CUDA GPU was found, so this ran on the CPU"
    print(common.table(r["rows"], cols, f"4. accelerator table on {where}"))
    md = common.markdown_table(r["rows"], cols, {"images/s": ",.0f", "s/epoch": ",.0f",
                                                 "ratio": ".2f", "warm-up s": ".1f"})
    r["where"] = where
    return r, {"accel": md}


def quality_section(quick, root=None):
    r = quality.run(root, quick)
    if "skipped" in r:
        print("5. quality:", r["skipped"])
        return r, {"quality": r["skipped"], "quality_settings": "", "one_class": r["skipped"],
                   "one_class_figure": ""}
    rows, _, digits = quality.rows(r)
    print(common.table(rows, ["measure", "ours", "published"], "5. quality"))
    print(common.table(digits, ["digit", "normal train images", "AE AUROC", "PCA AUROC"]))
    return r, quality_tables(r)


def quality_tables(r):
    """Section 5's report tables and figure from its result (fresh or bench/results/quality.json)."""
    rows, settings, digits = quality.rows(r)
    dcols = ["digit", "normal train images", "AE AUROC", "PCA AUROC", "published (digit 0)"]
    auroc_figure(r)
    figure = ("![One-class AUROC per normal digit: ConvAE vs PCA with as many components as the "
              "AE has code numbers.](../media/benchmarks/auroc_per_digit.png){width=80%}")
    return {"quality": common.markdown_table(rows, ["measure", "ours", "published"]),
            "quality_settings": "\n".join(f"- {line}" for line in settings),
            "one_class": common.markdown_table(digits, dcols, {"AE AUROC": ".3f",
                                                               "PCA AUROC": ".3f"}),
            "one_class_figure": figure}


def noise_section(quick):
    path = common.BENCH_DIR / "noise.py"
    if not path.exists():
        note = "not run (no bench/noise.py)"
        return {"skipped": note}, {"noise": note}
    import noise

    r = noise.main(quick)
    rows = r.get("rows") if isinstance(r, dict) else None
    if rows:  # short headers, so the PDF's columns do not run into each other
        names = {"noise": "noise", "vectorised_ms_per_image": "ms/image",
                 "vectorised_MB_s": "MB/s", "loop_torch_ms_per_image": "torch loop ms/image",
                 "loop_numpy_ms_per_image": "numpy loop ms/image",
                 "speedup_vs_torch_loop": "x torch loop", "speedup_vs_numpy_loop": "x numpy loop"}
        short = [{names[k]: v for k, v in row.items() if k in names} for row in rows]
        formats = {c: ".3g" for c in names.values()}
        formats.update({"MB/s": ",.0f", "x torch loop": ",.0f"})
        md = common.markdown_table(short, list(names.values()), formats)
    else:
        md = "bench/noise.py ran; its tables are in its own output and results."
    return (r if isinstance(r, dict) else {"returned": str(r)}), {"noise": md}


# ---------------------------------------------------------------------------------------------
# figure, metrics and the report
# ---------------------------------------------------------------------------------------------


def auroc_figure(result):
    """Bar chart of one-class AUROC per digit, AE vs PCA, into media/benchmarks/."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    digits = result["one_class"]["digits"]
    x = range(10)
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar([i - 0.2 for i in x], [digits[str(i)]["ae"] for i in x], 0.4, label="ConvAE")
    ax.bar([i + 0.2 for i in x], [digits[str(i)]["pca"] for i in x], 0.4, label="PCA")
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")  # chance
    n_test = result["one_class"]["n_test"]
    ax.set(xticks=list(x), xlabel="normal digit", ylabel="AUROC", ylim=(0.0, 1.0),
           title=f"one-class MNIST: AUROC per digit ({n_test:,} held-out images; dashed: chance)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(common.MEDIA_DIR / "auroc_per_digit.png", dpi=150, bbox_inches="tight")
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a check, ~1 minute")
    parser.add_argument("--notebooks", action="store_true", help="run notebooks (smoke, default)")
    parser.add_argument("--make", action="store_true", help="time make test and make reports")
    parser.add_argument("--data", default=None, help="folder holding MNIST/raw (else $AEH_DATA)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=SECTIONS)
    parser.add_argument("--no-pdf", action="store_true", help="skip building the PDF")
    parser.add_argument("--reformat", action="store_true",
                        help="measure nothing: rewrite the report's tables from bench/results/")
    args = parser.parse_args(argv)
    if args.reformat:
        args.only = []
    if args.threads:
        torch.set_num_threads(args.threads)
    common.MEDIA_DIR.mkdir(parents=True, exist_ok=True)
    env = common.environment()
    print(" | ".join(f"{k}={v}" for k, v in env.items()), flush=True)
    runners = {"loop": lambda: loop_section(args.quick),
               "data": lambda: data_section(args.quick),
               "walltime": lambda: walltime_section(args.quick, args.notebooks, args.make),
               "accel": lambda: accel_section(args.quick),
               "quality": lambda: quality_section(args.quick, args.data),
               "noise": lambda: noise_section(args.quick)}
    metrics = {"profile": "quick" if args.quick else "full", "env": env,
               "command": "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
               "tables": {}, "seconds": {}, "headline": {}}
    results = {}
    for name in args.only:
        start = time.perf_counter()
        try:
            results[name], tables = runners[name]()
        except Exception as err:  # one broken section must not lose the others' numbers
            traceback.print_exc()
            results[name] = {"error": repr(err)}
            tables = {key: f"failed in this run: {err!r}" for key in TABLES[name]}
        metrics["seconds"][name] = round(time.perf_counter() - start, 1)
        metrics["tables"].update(tables)
        common.save(name, {"env": env, "quick": args.quick, **results[name]})
        print(f"[{name}: {metrics['seconds'][name]:.0f} s]\n", flush=True)
    # a section left out (--only) keeps the tables and results of the run that last measured it
    previous = common.MEDIA_DIR / "metrics.json"
    previous = json.loads(previous.read_text()) if previous.exists() else {"tables": {}}
    for name in SECTIONS:
        if name in results:
            continue
        stored = common.RESULTS_DIR / f"{name}.json"
        if stored.exists():
            results[name] = json.loads(stored.read_text())
            when = results[name].get("env", {}).get("date", "an earlier run")
            metrics["tables"].setdefault("left_out", []).append(f"{name} (as measured {when})")
        if name in previous.get("seconds", {}):
            metrics["seconds"][name] = previous["seconds"][name]
        for key in TABLES[name]:
            metrics["tables"][key] = previous["tables"].get(key, "not run (left out with --only)")
    # --reformat: today's wording around the stored numbers (the loop table itself keeps the
    # ranges its run computed, which bench/results/loop.json does not hold)
    for name, tables_of, keys in (("loop", loop_tables, ("loop_setting",)),
                                  ("quality", quality_tables, TABLES["quality"])):
        if args.reformat and not {"skipped", "error"} & set(results.get(name, {"error": 0})):
            metrics["tables"].update({k: v for k, v in tables_of(results[name]).items() if k in keys})
    if args.reformat:
        metrics["profile"], metrics["env"] = previous.get("profile"), previous.get("env", env)
        metrics["command"] = previous.get("command", metrics["command"]) + " (tables rewritten by --reformat)"
    metrics["headline"] = headline(results)
    metrics["accel_where"] = results.get("accel", {}).get("where", "not run")
    metrics["total_seconds"] = round(sum(metrics["seconds"].values()), 1)
    left_out = metrics["tables"].pop("left_out", [])
    metrics["tables"]["left_out"] = ("; sections left out of this run and kept from their last run: "
                                     + ", ".join(left_out)) if left_out else ""
    metrics["tables"]["section_seconds"] = ", ".join(f"{k} {v:.0f} s"
                                                     for k, v in metrics["seconds"].items())
    (common.MEDIA_DIR / "metrics.json").write_text(json.dumps(metrics, indent=1, default=str))
    print("headline:", json.dumps(metrics["headline"]))
    if not args.no_pdf:
        print("built", pdfs.build(common.REPO_ROOT / "reports" / "benchmarks.md"))
    return 0


def headline(results) -> dict:
    """The ratios the report's closing note quotes, as text ('not run' where a section was not)."""
    out = {"fit_ratio": "not run", "fit_overhead_us": "not run", "lightning_ratio": "not run",
           "data_speedup": "not run", "default_notebooks_min": "not run",
           "smoke_notebooks_min": "not run", "make_test_min": "not measured",
           "make_reports_min": "not measured", "budget_verdict": "not measured."}
    def spread(row, key, stored_range):
        """The value as measured now (a Spread), or rebuilt with its range from a stored file."""
        r = row.get(stored_range)
        return common.Spread(r["median"], r["min"], r["max"]) if isinstance(r, dict) else row[key]

    for row in results.get("loop", {}).get("rows", []):
        if row["loop"].startswith("aehelpers"):
            out["fit_ratio"] = f"{spread(row, 'ratio', 'ratio_range'):.3f}"
            out["fit_overhead_us"] = (f"{spread(row, 'overhead per batch (us)', 'overhead_range_us'):,.0f}")
        elif row["loop"].startswith("lightning") and isinstance(row["ratio"], float):
            out["lightning_ratio"] = f"{spread(row, 'ratio', 'ratio_range'):.3f}"
    for row in results.get("data", {}).get("rows", []):
        if row["loader"].endswith("0 workers") and row["device"] == "cpu":
            out["data_speedup"] = f"{spread(row, 'speed-up of TensorLoader', 'speed-up_range'):.1f}"
    wall = results.get("walltime", {})
    for profile, total in wall.get("notebooks", {}).get("totals", {}).items():
        out[f"{profile}_notebooks_min"] = f"{total['seconds'] / 60:.1f}"
    for target, run in wall.get("make", {}).items():
        out[f"make_{target}_min"] = f"{run['seconds'] / 60:.1f}"
    out["budget_verdict"] = budget_verdict(wall)
    return out


def budget_verdict(wall: dict) -> str:
    """Whether the two commands fit their budgets, in words built from the measured minutes."""
    make, totals = wall.get("make", {}), wall.get("notebooks", {}).get("totals", {})
    words = []
    if "test" in make:
        minutes = make["test"]["seconds"] / 60
        words.append(f"`make test` {'fits' if minutes <= 5 else 'does not fit'} its budget "
                     f"({minutes:.1f} of 5 min)")
    default = totals.get("default")
    if default and default["met"] in ("yes", "no"):  # else not every notebook was timed
        minutes = default["seconds"] / 60
        rows = wall.get("notebooks", {}).get("rows", [])
        slowest = max(rows, key=lambda r: r["default s"] if isinstance(r["default s"], float)
                      else 0.0, default=None)
        words.append(
            f"`make reports` {'fits' if minutes <= 20 else 'does not fit'} its budget when every "
            f"notebook runs ({minutes:.1f} of 20 min"
            + (f"; {slowest['notebook']} alone {slowest['default s'] / 60:.1f} min)"
               if slowest and minutes > 20 else ")"))
    if "reports" in make:
        words.append(f"`make reports` in a fresh clone took {make['reports']['seconds'] / 60:.1f} "
                     f"min on {make['reports']['date']} (how: Section 3)")
    return ("; ".join(words) + ".") if words else "not measured."


if __name__ == "__main__":
    sys.exit(main())
