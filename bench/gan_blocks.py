"""CSPUp against PlainUp at notebook 06's main budget, over seeds (student report 004).

    python bench/gan_blocks.py --block PlainUp --seed 1    # one run: build/bench/gan_blocks/
    python bench/gan_blocks.py --report                    # collect: results, figure, verdict

Notebook 06 compares the two blocks after a few hundred steps (its section 5), all a default run
can afford, where both generators are still near chance. This trains its main digit recipe
(5,000 steps) with either block and judges the last step as the notebook does. The recipe is not
retyped: 06's own cells, from the parameters to `fit_digits`, run here with the seed injected
(top-level statements that train, print, plot or record are left out), and its judging cell
scores the draws. A CSPUp run reproduces the seeds run's numbers for the same seed at the same
thread count, which checks that claim; the CSPUp side of the comparison is the seeds run's five
seeds. Run each job with OMP_NUM_THREADS=1, as the seeds run ran 06.

Results: bench/results/gan_blocks.json; figure media/benchmarks/gan_blocks.png.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import time

import common

NOTEBOOK = common.REPO_ROOT / "notebooks" / "06_gan_csp.ipynb"
RUNS_DIR = common.REPO_ROOT / "build" / "bench" / "gan_blocks"
METRICS = ("accuracy", "worst", "precision", "recall", "cas")
LEFT_OUT = {"fit_digits", "shape_trace", "show", "savefig", "read_grid",  # calls that act,
            "next"}  # or read the main run's curve (main_at_short)
RECIPES = {"main": "+ label at every stage, shifts (ours)", "student": "student's recipe",
           "global_d": "+ global-view D"}  # names of 06's section 4 recipes


def _acts(node: ast.stmt) -> bool:
    """True for a top-level statement that trains, prints, plots or records (left out here)."""
    if isinstance(node, ast.Expr):
        return True
    calls = [n.func for n in ast.walk(node) if isinstance(n, ast.Call)]
    names = {getattr(f, "attr", getattr(f, "id", None)) for f in calls}
    return isinstance(node, ast.Assign) and bool(names & LEFT_OUT)


def _cells(until: str):
    """06's code cells as Python (IPython magics translated), up to the one containing `until`."""
    import nbformat
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code":
            yield cell.source, transform(cell.source)
            if until in cell.source:
                return
    raise ValueError(f"{NOTEBOOK.name} has no code cell containing {until!r}")


def _run(src: str, ns: dict, keep=lambda node: True) -> None:
    """Execute the statements of src that do not act (and that keep accepts) in ns."""
    tree = ast.parse(src)
    tree.body = [node for node in tree.body if not _acts(node) and keep(node)]
    exec(compile(tree, str(NOTEBOOK), "exec"), ns)


def recipe_namespace(seed: int) -> dict:
    """06's namespace after its cells up to `short_run` and its `recipes` (default, this seed)."""
    ns: dict = {}
    for raw, src in _cells("def short_run"):
        _run(src, ns)
        if "SEED =" in raw:  # the parameters cell: what the seeds run injects
            ns.update(PROFILE="default", SEED=seed)
    src = list(_cells("recipes = {"))[-1][1]  # section 4's recipes, not its runs
    _run(src, ns, keep=lambda node: any(getattr(t, "id", None) == "recipes"
                                        for t in getattr(node, "targets", [])))
    return ns


def one_run(recipe: str, block: str, seed: int) -> dict:
    """Train one of 06's digit recipes with `block` from `seed` for the main run's steps (its
    short_run with short_epochs raised to num_epochs) and judge the last step as section 3 does."""
    os.environ["AEH_MEDIA"] = str(RUNS_DIR / "media" / f"{recipe}-{block}-{seed}")  # not media/
    import torch

    ns = recipe_namespace(seed)
    ns["short_epochs"] = ns["num_epochs"]  # the main budget
    start = time.time()
    ns["G"], last = ns["short_run"](seed, block=getattr(ns["blocks"], block),
                                    **ns["recipes"][RECIPES[recipe]])
    seconds = time.time() - start
    ns["curve"] = [last] * ns["num_epochs"]  # the judging cell reads only its length (a label)
    _run(list(_cells("evaluate.judge("))[-1][1], ns)  # section 3's judging cell
    scores = ns["scores"]
    return {"recipe": recipe, "block": block, "seed": seed,
            "steps": ns["num_epochs"] * ns["steps_per_epoch"],
            "params": ns["models"].count_parameters(ns["G"]), "seconds": seconds,
            "threads": torch.get_num_threads(), "last_watched": last,
            **{k: scores[k] for k in (*METRICS, "kid", "diversity")}}


def seeds_run_csp() -> dict:
    """The CSPUp runs of the seeds run: {seed: headline.evaluator} of 06 (bench/results/seeds.json)."""
    runs = json.loads((common.RESULTS_DIR / "seeds.json").read_text())["notebooks"]["06_gan_csp"]
    return {int(s): {**r["headline"]["evaluator"], "threads": r["threads"]}
            for s, r in runs["runs"].items() if r["status"] == "ok"}


def seeds_run_real() -> dict:
    """06's held-out real digits judged by the evaluator (the ceiling), as its seed 0 recorded."""
    runs = json.loads((common.RESULTS_DIR / "seeds.json").read_text())["notebooks"]["06_gan_csp"]
    return runs["runs"]["0"]["headline"]["evaluator_real"]


def report() -> dict:
    """Collect the runs, set PlainUp beside the seeds run's CSPUp, draw the figure, save."""
    from aehelpers import plots, reports, stats

    runs = [json.loads(p.read_text()) for p in sorted(RUNS_DIR.glob("*.json"))]
    if not runs:
        raise SystemExit(f"no runs in {RUNS_DIR}: run `python bench/gan_blocks.py --block PlainUp "
                         f"--seed 0` (and more seeds) first")
    of = lambda recipe, block: {r["seed"]: r for r in runs
                                if r["recipe"] == recipe and r["block"] == block}
    plain, student, csp = of("main", "PlainUp"), of("student", "CSPUp"), seeds_run_csp()
    checks = [{"seed": s, "threads": r["threads"], "seeds_run_threads": csp[s]["threads"],
               **{k: [r[k], csp[s][k]] for k in METRICS}}
              for s, r in of("main", "CSPUp").items() if s in csp]  # reproduces the seeds run?
    summary = {}
    for name, by_seed in (("CSPUp", csp), ("PlainUp", plain), ("student", student)):
        if not by_seed:
            continue
        summary[name] = {k: {**stats.seed_range(v[k] for v in by_seed.values()),
                             "median": statistics.median(v[k] for v in by_seed.values())}
                         for k in METRICS}
        summary[name]["seeds"] = sorted(by_seed)
    shared = sorted(set(csp) & set(plain))  # the seeds both blocks ran
    diffs = {k: [csp[s][k] - plain[s][k] for s in shared] for k in METRICS}
    verdict = {k: ("CSPUp" if min(d) > 0 else "PlainUp" if max(d) < 0 else "neither")
               for k, d in diffs.items() if d}
    span = lambda r: f"{r['median']:.3f} ({r['low']:.3f}-{r['high']:.3f})"
    n_csp, n_plain = len(summary["CSPUp"]["seeds"]), len(summary["PlainUp"]["seeds"])
    real = seeds_run_real()  # held-out real digits: the ceiling
    rows = [{"metric": k, "real digits": f"{real[k]:.3f}",
             f"CSPUp, {n_csp} seeds": span(summary["CSPUp"][k]),
             f"PlainUp, {n_plain} seeds": span(summary["PlainUp"][k]),
             "higher in every shared seed": verdict.get(k, "-"),
             **({f"student's recipe, {len(student)} seed{'s' * (len(student) > 1)}":
                 span(summary["student"][k])}
                if student else {})} for k in METRICS]
    table = reports.markdown_table(rows, list(rows[0]))
    ahead = {name: [k for k, v in verdict.items() if v == name] for name in ("CSPUp", "PlainUp")}
    sentence = "; ".join(f"{name} scores higher in every shared seed on {', '.join(ks)}"
                         for name, ks in ahead.items() if ks)
    words = (f"On seeds {', '.join(map(str, shared))}, which both blocks ran: "
             + (sentence if sentence else "neither block scores higher in every shared seed on "
                "any of the five numbers") + ".")
    payload = {"env": common.environment(), "notebook": NOTEBOOK.name, "table": table,
               "verdict": words, "n_csp": n_csp, "n_plain": n_plain,
               "steps": runs[0]["steps"], "plain_runs": list(plain.values()),
               "reproduced": checks, "summary": summary, "shared_seeds": shared,
               "differences": diffs, "ahead_in_every_shared_seed": verdict,
               "plain_params": next(iter(plain.values()))["params"] if plain else None,
               "student_runs": list(student.values())}
    plots.use_style()
    groups = {"CSPUp": csp, "PlainUp": plain, **({"student": student} if student else {})}
    fig, axes = plots.plt.subplots(1, len(METRICS), figsize=(10, 2.8))
    for ax, k in zip(axes, METRICS):
        for i, by_seed in enumerate(groups.values()):
            ax.plot([i] * len(by_seed), [v[k] for v in by_seed.values()], "o", color=f"C{i}",
                    alpha=0.8)
        ax.axhline(real[k], color="grey", ls="--", lw=1, label="real digits")
        ax.set(xticks=range(len(groups)), xlim=(-0.6, len(groups) - 0.4), ylim=(0, 1.02), title=k)
        ax.set_xticklabels(list(groups), fontsize=8)
    axes[METRICS.index("recall")].legend(fontsize=8, loc="lower left")
    fig.suptitle(f"06's digit GAN at {payload['steps']:,} steps, judged at the last step: one dot a "
                 f"seed (student: the student's recipe, CSPUp)" if student else
                 f"06's digit GAN at {payload['steps']:,} steps, judged at the last step: one dot a seed")
    fig.tight_layout()
    common.MEDIA_DIR.mkdir(parents=True, exist_ok=True)
    fig.savefig(common.MEDIA_DIR / "gan_blocks.png", dpi=120)
    path = common.save("gan_blocks", payload)
    print(table, words, f"wrote {path}", sep="\n")
    return payload


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", choices=list(RECIPES), default="main")
    parser.add_argument("--block", choices=["CSPUp", "PlainUp"], default="PlainUp")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", action="store_true", help="collect the runs made so far")
    args = parser.parse_args()
    if args.report:
        report()
    else:
        result = one_run(args.recipe, args.block, args.seed)
        RUNS_DIR.mkdir(parents=True, exist_ok=True)
        out = RUNS_DIR / f"{args.recipe}-{args.block}-{args.seed}.json"
        out.write_text(json.dumps(result, indent=1))
        print({k: result[k] for k in ("recipe", "block", "seed", *METRICS, "seconds")}, f"-> {out}")
