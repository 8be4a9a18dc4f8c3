"""CSPUp against PlainUp at notebook 06's main budget, over seeds (student report 004).

    python bench/gan_blocks.py --recipe main --block PlainUp --seed 1   # one run, into
    python bench/gan_blocks.py --recipe student --seed 0 --set lr=1e-3 lr_d=2e-3  # build/bench/
    python bench/gan_blocks.py --report        # collect: results, figure, verdicts

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
import functools
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


@functools.cache
def _code_cells() -> tuple:
    """06's code cells as (source, Python with IPython magics translated), read once."""
    import nbformat
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    return tuple((c.source, transform(c.source))
                 for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")


def _cells(until: str) -> tuple:
    """06's code cells up to and including the first one containing `until`."""
    cells = _code_cells()
    for i, (raw, _) in enumerate(cells):
        if until in raw:
            return cells[:i + 1]
    raise ValueError(f"{NOTEBOOK.name} has no code cell containing {until!r}")


def _cell(marker: str) -> str:
    """The Python of 06's first code cell containing `marker`."""
    return _cells(marker)[-1][1]


def _run(src: str, ns: dict, keep=lambda node: True) -> None:
    """Execute the statements of src that do not act (and that keep accepts) in ns."""
    tree = ast.parse(src)
    tree.body = [node for node in tree.body if not _acts(node) and keep(node)]
    exec(compile(tree, str(NOTEBOOK), "exec"), ns)


def recipe_namespace(seed: int, settings: dict | None = None) -> dict:
    """06's namespace after its cells up to `fit_digits`, then `short_run` and the `recipes` of
    its section 4 (default profile, this seed);
    `settings` replace values of its settings cell (e.g. {"batch_size": 128, "num_epochs": 80})."""
    ns: dict = {}
    for raw, src in _cells("def fit_digits"):  # setup, settings, data, models, evaluator, loop
        _run(src, ns)
        if "SEED =" in raw:  # the parameters cell: what the seeds run injects
            ns.update(PROFILE="default", SEED=seed)
        if "batch_size = cfg.pick" in raw:  # the settings cell
            unknown = set(settings or {}) - set(ns)
            if unknown:
                raise KeyError(f"06's settings cell has no {sorted(unknown)}")
            ns.update(settings or {})
    _run(_cell("def short_run"), ns)  # section 4's run function
    _run(_cell("recipes = {"), ns, keep=lambda node: any(getattr(t, "id", None) == "recipes"
                                        for t in getattr(node, "targets", [])))
    return ns


def run_name(recipe: str, block: str, seed: int, settings: dict | None = None) -> str:
    """e.g. "student-CSPUp-0" or "student-CSPUp-0-batch_size=128-num_epochs=80"."""
    return "-".join([recipe, block, str(seed), *(f"{k}={v}" for k, v in (settings or {}).items())])


def one_run(recipe: str, block: str, seed: int, settings: dict | None = None) -> dict:
    """Train one of 06's digit recipes with `block` from `seed` for the main run's steps (its
    short_run with short_epochs raised to num_epochs) and judge the last step as section 3 does."""
    name = run_name(recipe, block, seed, settings)
    os.environ["AEH_MEDIA"] = str(RUNS_DIR / "media" / name)  # media/ stays the notebook's
    import torch

    ns = recipe_namespace(seed, settings)
    ns["short_epochs"] = ns["num_epochs"]  # the main budget
    start = time.time()
    ns["G"], last = ns["short_run"](seed, block=getattr(ns["blocks"], block),
                                    **ns["recipes"][RECIPES[recipe]])
    seconds = time.time() - start
    ns["curve"] = [last] * ns["num_epochs"]  # the judging cell reads only its length (a label)
    _run(_cell("evaluate.judge("), ns)  # section 3's judging cell
    scores = ns["scores"]
    return {"recipe": recipe, "block": block, "seed": seed, "settings": settings or {},
            "batch_size": ns["batch_size"], "lr": ns["lr"], "lr_d": ns["lr_d"],
            "steps": ns["num_epochs"] * ns["steps_per_epoch"],
            "params": ns["models"].count_parameters(ns["G"]), "seconds": seconds,
            "threads": torch.get_num_threads(), "last_watched": last,
            **{k: scores[k] for k in (*METRICS, "kid", "diversity")}}


def seeds_run() -> tuple[dict, dict]:
    """From 06's seeds run: its CSPUp runs ({seed: headline.evaluator, threads}) and the held-out
    real digits judged by the evaluator (the ceiling, as seed 0 recorded it, with "n_judged"
    draws per run and "n_real" real digits)."""
    from aehelpers import seeds

    runs = seeds.load(common.RESULTS_DIR / "seeds.json")["notebooks"]["06_gan_csp"]["runs"]
    csp = {int(s): {**r["headline"]["evaluator"], "threads": r["threads"]}
           for s, r in runs.items() if r["status"] == "ok"}
    numbers = runs["0"]["numbers"]
    return csp, {**runs["0"]["headline"]["evaluator_real"], "n_judged": numbers["n_judged"],
                 "n_real": numbers["dataset.val.n"]}


def _summary(by_seed: dict) -> dict:
    """Each metric's median, mean, low and high over {seed: run}, and the seeds."""
    from aehelpers import stats

    out = {k: {**stats.seed_range(v[k] for v in by_seed.values()),
               "median": statistics.median(v[k] for v in by_seed.values())} for k in METRICS}
    return {**out, "seeds": sorted(by_seed)}


def _span(r: dict) -> str:
    return f"{r['median']:.3f} ({r['low']:.3f}-{r['high']:.3f})"


def _rate(x: float) -> str:
    return f"{x:.0e}".replace("e-0", "e-")  # 2e-4


def _setting(run: dict) -> dict:
    """A run's batch, G/D learning rates and steps, as table cells."""
    return {"batch": run["batch_size"], "G/D rates": f"{_rate(run['lr'])}/{_rate(run['lr_d'])}",
            "steps": f"{run['steps']:,}"}


def _knob_words(run: dict) -> str:
    """What a run's settings changed, in words: "rates 1e-3/2e-3", "batch 128 (80 epochs)"."""
    settings, words = dict(run["settings"]), []
    if {"lr", "lr_d"} & set(settings):
        words.append(f"rates {_rate(run['lr'])}/{_rate(run['lr_d'])}")
    if "batch_size" in settings:
        words.append(f"batch {settings['batch_size']}" + (f" ({settings['num_epochs']} epochs)"
                                                          if "num_epochs" in settings else ""))
    rest = {k: v for k, v in settings.items() if k not in ("lr", "lr_d", "batch_size",
                                                             "num_epochs")}
    return ", ".join(words + [f"{k} {v}" for k, v in rest.items()])


def blocks_part(runs: list, csp: dict, real: dict) -> dict:
    """004-a: the main recipe with PlainUp blocks beside the seeds run's CSPUp, seed by seed."""
    plain = {r["seed"]: r for r in runs if (r["recipe"], r["block"]) == ("main", "PlainUp")
             and not r.get("settings")}
    checks = [{"seed": r["seed"], "threads": r["threads"],
               "seeds_run_threads": csp[r["seed"]]["threads"],
               **{k: [r[k], csp[r["seed"]][k]] for k in METRICS}}
              for r in runs if (r["recipe"], r["block"]) == ("main", "CSPUp")
              and not r.get("settings") and r["seed"] in csp]  # does the bench reproduce 06?
    shared = sorted(set(csp) & set(plain))  # the seeds both blocks ran
    diffs = {k: [csp[s][k] - plain[s][k] for s in shared] for k in METRICS}
    ahead = {k: ("CSPUp" if min(d) > 0 else "PlainUp" if max(d) < 0 else "neither")
             for k, d in diffs.items() if d}
    summary = {"CSPUp": _summary(csp), "PlainUp": _summary(plain)}
    rows = [{"metric": k, "real digits": f"{real[k]:.3f}",
             f"CSPUp, {len(csp)} seeds": _span(summary["CSPUp"][k]),
             f"PlainUp, {len(plain)} seeds": _span(summary["PlainUp"][k]),
             "higher in every shared seed": ahead.get(k, "-")} for k in METRICS]
    named = {b: [k for k, v in ahead.items() if v == b] for b in ("CSPUp", "PlainUp")}
    said = "; ".join(f"{b} scores higher in every one on {', '.join(ks)}"
                     for b, ks in named.items() if ks)
    words = (f"On the {len(shared)} seeds both blocks ran ({', '.join(map(str, shared))}): "
             + (said or "neither block scores higher in every one on any of the five numbers")
             + ".")
    return {"summary": summary, "table": reports_table(rows), "verdict": words,
            "shared_seeds": shared, "differences": diffs, "ahead_in_every_shared_seed": ahead,
            "plain_params": next(iter(plain.values()))["params"] if plain else None,
            "n_csp": len(csp), "n_plain": len(plain), "plain_runs": list(plain.values()),
            "plain_minutes": statistics.median(r["seconds"] for r in plain.values()) / 60
            if plain else None,
            "reproduced": checks, "check_words": _check_words(checks)}


def ceiling_words(named_runs: list, real: dict, n_fake: int, n_real: int) -> str:
    """Which (name, run) pairs the evaluator reads better than held-out real digits, and whether
    by more than the sampling noise of two shares (n_fake draws, n_real real digits, ~95%)."""
    p = real["accuracy"]
    noise = 1.96 * (p * (1 - p) * (1 / n_fake + 1 / n_real)) ** 0.5
    above = [(name, r) for name, r in named_runs if r["accuracy"] > p]
    if not above:
        return f"No run is read better than the real digits ({p:.3f})."
    beyond = [name for name, r in above if r["accuracy"] - p > noise]
    return (f"Read better than the real digits ({p:.3f}): "
            + "; ".join(f"{name} ({r['accuracy']:.3f}, recall {r['recall']:.2f})"
                        for name, r in above)
            + f". The sampling noise of two shares of {n_fake:,} and {n_real:,} images is about "
            f"{noise:.3f} either way: "
            + (f"beyond it, the evaluator is fooled ({', '.join(beyond)})." if beyond else
               "each lies within it, so accuracy alone does not show a fooled judge; recall tells "
               "prototypes from handwriting."))


def _check_words(checks: list) -> str:
    """Whether the bench's CSPUp runs reproduced the seeds run's numbers for the same seeds."""
    if not checks:
        return "(No CSPUp run of the bench was checked against the seeds run.)"
    seeds = ", ".join(str(c["seed"]) for c in checks)
    gap = max(abs(c[k][0] - c[k][1]) for c in checks for k in METRICS)
    if gap == 0:
        return (f"The bench's own CSPUp run of seed {seeds} reproduced the seeds run's five "
                f"numbers exactly, at the same thread count: both sides ran the same recipe.")
    return (f"The bench's own CSPUp run of seed {seeds} did not reproduce the seeds run's numbers "
            f"exactly (largest gap {gap:.2g}).")


def student_part(runs: list, csp: dict, real: dict) -> dict:
    """002-l: the student's recipe at the main budget, and with the knobs the student tuned."""
    from aehelpers import stats

    groups: dict = {}
    for r in runs:
        if r["recipe"] == "student":
            groups.setdefault(json.dumps(r.get("settings", {}), sort_keys=True), {})[r["seed"]] = r
    if "{}" not in groups:
        return {}
    ours = _summary(csp)
    main = next(r for r in runs if r["recipe"] == "main" and not r.get("settings"))
    shown = ("accuracy", "worst", "recall", "cas")
    rows, said, lows = [], [], []
    for key, by_seed in sorted(groups.items(), key=lambda kv: len(kv[0])):  # our knobs first
        summ, first = _summary(by_seed), next(iter(by_seed.values()))
        rows.append({"recipe": "student's", **_setting(first), "seeds": len(by_seed),
                     **{k: _span(summ[k]) for k in shown}})
        below = stats.ranges_apart(ours["recall"], summ["recall"])  # in every seed of both
        knob = "our batch and rates" if key == "{}" else _knob_words(first)
        lows.append(below)
        said.append(f"with {knob}, accuracy {summ['accuracy']['median']:.2f} and recall "
                    f"{summ['recall']['median']:.2f} (CAS {summ['cas']['median']:.2f}; recall "
                    + ("below ours in every seed" if below else "not below ours in every seed")
                    + ")")
    rows.append({"recipe": "ours (seeds run)", **_setting(main), "seeds": len(csp),
                 **{k: _span(ours[k]) for k in shown}})
    rows.append({"recipe": "real digits", "batch": "-", "G/D rates": "-", "steps": "-",
                 "seeds": "-", **{k: f"{real[k]:.3f}" for k in shown}})
    words = (f"At the main budget ({main['steps']:,} steps) the student's recipe, median over the "
             f"seeds: {'; '.join(said)}. Ours: accuracy {ours['accuracy']['median']:.2f}, recall "
             f"{ours['recall']['median']:.2f}, CAS {ours['cas']['median']:.2f}; real digits: "
             f"recall {real['recall']:.2f}, CAS {real['cas']:.2f}; chance 0.10.")
    base = _summary(groups["{}"])
    if base["accuracy"]["low"] >= 0.9:  # every seed
        words += (f" Given the main run's steps, the student's recipe draws the asked digit in "
                  f"every seed (at least {base['accuracy']['low']:.2f}): the steps were short, ")
        words += ("but its draws cover less handwriting than ours in every seed and setting "
                  "tried (prototypes rather than handwriting), which the knobs the student tuned "
                  "did not fix."
                  if all(lows) else "and coverage is not below ours in every seed and setting.")
    n_seeds = sorted({len(g) for g in groups.values()})
    return {"table": reports_table(rows), "verdict": words, "n_settings": len(groups),
            "n_seeds": " or ".join(map(str, n_seeds)),
            "minutes": statistics.median(r["seconds"] for g in groups.values()
                                         for r in g.values()) / 60,
            "summary": {
                k: _summary(g) for k, g in groups.items()},
            "runs": [r for g in groups.values() for r in g.values()]}


def reports_table(rows: list) -> str:
    from aehelpers import reports

    return reports.markdown_table(rows, list(rows[0]))


def report() -> dict:
    """Collect the runs, set them beside the seeds run's CSPUp, draw the figure, save."""
    from aehelpers import plots

    runs = [json.loads(p.read_text()) for p in sorted(RUNS_DIR.glob("*.json"))]
    if not runs:
        raise SystemExit(f"no runs in {RUNS_DIR}: run `python bench/gan_blocks.py --block PlainUp "
                         f"--seed 0` (and more seeds) first")
    csp, real = seeds_run()
    blocks, student = blocks_part(runs, csp, real), student_part(runs, csp, real)
    named = ([(f"CSPUp seed {s}", r) for s, r in csp.items()]
             + [(f"PlainUp seed {r['seed']}", r) for r in blocks["plain_runs"]]
             + [("the student's recipe"
                 + (f" with {_knob_words(r)}" if r.get("settings") else "") + f" seed {r['seed']}",
                 r) for r in student.get("runs", [])])
    payload = {"env": common.environment(), "notebook": NOTEBOOK.name,
               "steps": runs[0]["steps"], **blocks, "student": student,
               "ceiling_words": ceiling_words(named, real, real["n_judged"], real["n_real"])}
    plain = {r["seed"]: r for r in blocks["plain_runs"]}
    base = {r["seed"]: r for r in student.get("runs", []) if not r.get("settings")}
    plots.use_style()
    groups = {"CSPUp": csp, "PlainUp": plain, **({"student": base} if base else {})}
    fig, axes = plots.plt.subplots(1, len(METRICS), figsize=(10, 2.8))
    for ax, k in zip(axes, METRICS):
        for i, by_seed in enumerate(groups.values()):
            ax.plot([i] * len(by_seed), [v[k] for v in by_seed.values()], "o", color=f"C{i}",
                    alpha=0.8)
        ax.axhline(real[k], color="grey", ls="--", lw=1, label="real digits")
        ax.set(xticks=range(len(groups)), xlim=(-0.6, len(groups) - 0.4), ylim=(0, 1.02), title=k)
        ax.set_xticklabels(list(groups), fontsize=8)
    axes[METRICS.index("worst")].legend(fontsize=8, loc="lower left")  # off the dots
    fig.suptitle(f"06's digit GAN at {payload['steps']:,} steps, judged at the last step: one dot"
                 " a seed" + (" (student: the student's recipe, CSPUp)" if base else ""))
    fig.tight_layout()
    common.MEDIA_DIR.mkdir(parents=True, exist_ok=True)
    fig.savefig(common.MEDIA_DIR / "gan_blocks.png", dpi=120)
    path = common.save("gan_blocks", payload)
    print(blocks["table"], blocks["verdict"], student.get("table", ""), student.get("verdict", ""),
          payload["ceiling_words"], f"wrote {path}", sep="\n")
    return payload


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", choices=list(RECIPES), default="main")
    parser.add_argument("--block", choices=["CSPUp", "PlainUp"], default="PlainUp")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                        help="replace a value of 06's settings cell, e.g. lr=1e-3 lr_d=2e-3")
    parser.add_argument("--report", action="store_true", help="collect the runs made so far")
    args = parser.parse_args()
    if args.report:
        report()
    else:
        settings = {k: ast.literal_eval(v) for k, v in (a.split("=", 1) for a in args.set)}
        result = one_run(args.recipe, args.block, args.seed, settings)
        RUNS_DIR.mkdir(parents=True, exist_ok=True)
        out = RUNS_DIR / f"{run_name(args.recipe, args.block, args.seed, settings)}.json"
        out.write_text(json.dumps(result, indent=1))
        print({k: result[k] for k in ("recipe", "block", "seed", *METRICS, "seconds")}, f"-> {out}")
