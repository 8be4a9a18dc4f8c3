"""Each number's spread over the seeds run, for the reports; and the seeds run's own report.

    In a report:  {{ headline.auroc:.3f }} in this run; {{ seeds.headline.auroc:.3f }}
                  -> 0.993 in this run; 0.981 to 0.995 over 5 seeds, median 0.990; 5 of 5 meet ≥ 0.95

`spreads` gives a report each number of its metrics over the seeds in bench/results/seeds.json
(written by `seeds.run_seeds`), counted against its target in reports/targets.json, and says
"stale" where the seeds ran other code than the report's run. `seeds_fields` makes
reports/seeds.md's tables: every target, headline number and run over the seeds.
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

from . import config
from .runs import source_hash
from .seeds import SEEDS_JSON, load, numbers

TARGETS_JSON = config.REPO_ROOT / "reports" / "targets.json"
DIFFERENCES_JSON = config.REPO_ROOT / "reports" / "seed_differences.json"


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def meets(run: dict, key: str, target: dict) -> bool | None:
    """Whether one run's flat numbers meet a target of reports/targets.json (None: not measured)."""
    value = run.get(key)
    if not _is_number(value):
        return None
    if "at_least" in target:
        return value >= target["at_least"]
    if "at_most" in target:
        return value <= target["at_most"]
    other = run.get(target.get("below") or target.get("above"))
    if not _is_number(other):
        return None
    return value < other if "below" in target else value > other


def target_text(target: dict, spec: str = "") -> str:
    """'≥ 0.90', '≤ 0.05', 'below headline.peer_neg_elbo'."""
    for word, sign in (("at_least", "≥"), ("at_most", "≤")):
        if word in target:
            return f"{sign} {format(target[word], spec or '.2f')}"
    word = "below" if "below" in target else "above"
    return f"{word} {target[word].split('.')[-1].replace('_', ' ')}"


class Spread(dict):
    """One number over the seeds (n, min, median, max, meet, sign); formatted as text:
    f"{spread:.2f}" -> '0.93 to 0.97 over 5 seeds, median 0.95; 4 of 5 meet ≥ 0.90'."""

    def __init__(self, values, met=None, target=None, stale=False, crashed=0, note=None):
        values = list(values)
        super().__init__(n=len(values), values=values, stale=stale, crashed=crashed)
        self.target, self.note = target, note
        if values and all(_is_number(v) for v in values):
            self.update(min=min(values), max=max(values), median=statistics.median(values))
            below = sum(v < 0 for v in values)
            self["sign"] = ("below zero in every seed" if below == len(values) else
                            "above zero in every seed" if not any(v <= 0 for v in values) else
                            f"on both sides of zero ({below} of {len(values)} seeds below)")
        if met is not None:
            self["meet"] = f"{sum(met)} of {len(met)}"
            self["met"] = sum(met)

    def __format__(self, spec: str) -> str:
        if self.note:
            return self.note
        n, values = self["n"], self["values"]
        if "min" in self:
            fmt = lambda v: format(v, spec or ".3g")
            text = (f"{fmt(self['min'])} in all {n} seeds" if fmt(self["min"]) == fmt(self["max"])
                    else f"{fmt(self['min'])} to {fmt(self['max'])} over {n} seeds, "
                         f"median {fmt(self['median'])}")
        else:  # verdict words: how often each was said
            counts = {v: values.count(v) for v in dict.fromkeys(values)}
            text = ", ".join(f'"{v}" in {c}' for v, c in counts.items()) + f" of {n} seeds"
        if "meet" in self:
            text += f"; {self['meet']} meet {target_text(self.target, spec)}"
        if self["crashed"]:
            text += f"; {self['crashed']} more crashed"
        return ("stale (the seeds ran other code than this report): " + text) if self["stale"] else text

    def __str__(self) -> str:
        return format(self, "")


class _Tree(dict):
    """Nested spreads; where the seeds are missing or stale, an unknown key gives `fallback`."""

    fallback = None

    def __contains__(self, key):
        return self.fallback is not None or dict.__contains__(self, key)

    def __missing__(self, key):
        if self.fallback is None:
            raise KeyError(key)
        return self.fallback


class _Placeholder(Spread, _Tree):
    """What a report says where the seeds run has no number: any deeper key gives itself."""

    def __init__(self, note):
        Spread.__init__(self, [], note=note)
        self.fallback = self


def flat_runs(entry: dict) -> dict[str, dict]:
    """Seed -> that run's numbers (headline under 'headline.'), for the runs that finished."""
    return {seed: {**{f"headline.{k}": v for k, v in numbers(run.get("headline", {})).items()},
                   **run.get("numbers", {})}
            for seed, run in entry.get("runs", {}).items() if run.get("status") == "ok"}


def spreads(name: str, metrics: dict | None = None, path: Path = SEEDS_JSON) -> dict:
    """A report's `seeds` fields: its metrics' numbers over the seeds run, as nested Spreads."""
    entry = load(path)["notebooks"].get(name)
    if not entry:
        return _Placeholder("not yet run over seeds (make seeds)")
    stale = entry.get("hash") != (metrics or {}).get("run", {}).get("hash")
    runs = flat_runs(entry)
    for key, (a, b) in _load_targets(DIFFERENCES_JSON).get(name, {}).items():
        for run in runs.values():  # a paired difference: both numbers from the same seed
            if _is_number(run.get(a)) and _is_number(run.get(b)):
                run[f"diff.{key}"] = run[a] - run[b]
    crashed = sum(r.get("status") == "crashed" for r in entry.get("runs", {}).values())
    targets = _load_targets().get(name, {})
    tree = _Tree()
    if stale:
        tree.fallback = _Placeholder("stale: the seeds ran other code than this report")
    for key in sorted({k for run in runs.values() for k in run}):
        values = [run[key] for run in runs.values() if key in run]
        target = targets.get(key)
        met = None if target is None else [m for m in (meets(r, key, target) for r in runs.values())
                                           if m is not None]
        node, *parents = tree, *key.split(".")[:-1]
        for part in parents:
            child = dict.get(node, part)
            if not isinstance(child, _Tree):
                child = dict.setdefault(node, part, _Tree())
                child.fallback = tree.fallback
            node = child
        dict.__setitem__(node, key.split(".")[-1], Spread(values, met, target, stale, crashed))
    return tree


def targets_note(name: str, text: str | None = None) -> str:
    """One sentence per target of a report: the number, the target and where it comes from (with
    `text`, only the targets whose number the report's text quotes)."""
    targets = {key: t for key, t in _load_targets().get(name, {}).items()
               if text is None or key in text}
    return " ".join(f"{key.removeprefix('headline.').replace('_', ' ')} {target_text(t)}: {t['why']}."
                    for key, t in targets.items()) or "This report has no numeric target."


def _load_targets(path: Path | None = None) -> dict:
    """reports/targets.json (or another such file) without its '_about' notes."""
    path = path or TARGETS_JSON
    return {k: v for k, v in json.loads(path.read_text()).items()
            if not k.startswith("_")} if path.exists() else {}


# ---------------------------------------------------------------------------- the seeds report


def seeds_fields(path: Path = SEEDS_JSON, notebooks_dir: Path = config.REPO_ROOT / "notebooks") -> dict:
    """reports/seeds.md's fields: per target and per headline number its median, range and how
    many seeds meet it; per notebook its runs, their time, their threads and whether they are
    stale (a run's numbers can change with its thread count, as a GAN's do)."""
    from .reports import markdown_table

    results, targets = load(path)["notebooks"], _load_targets()
    rows_t, rows_h, rows_r, missed, starts, ends = [], [], [], [], [], []
    capped, mixed, carried = [], [], []
    for name, entry in results.items():
        nb = notebooks_dir / f"{name}.ipynb"
        stale = not nb.exists() or source_hash(nb) != entry.get("hash")
        runs, all_runs = flat_runs(entry), entry.get("runs", {})
        seconds = [r["seconds"] for r in all_runs.values() if r.get("seconds") is not None]
        starts += [r["started"] for r in all_runs.values() if "started" in r]
        ends += [r["started"] + r["seconds"] for r in all_runs.values() if "started" in r]
        threads = {seed: _threads(r) for seed, r in all_runs.items()}
        capped_seeds = [seed for seed, t in threads.items() if t != "all"]
        if capped_seeds:
            capped.append(f"{_words(name)} seeds {', '.join(capped_seeds)}")
        mixed_here = len(set(threads.values())) > 1
        if mixed_here:
            mixed.append(_words(name))
        carried_seeds = [seed for seed, r in all_runs.items() if "carried_from" in r]
        if carried_seeds:
            froms = sorted({all_runs[seed]["carried_from"] for seed in carried_seeds})
            carried.append(f"{_words(name)} seeds {', '.join(carried_seeds)} "
                           f"(ran at {', '.join(froms)})")
        rows_r.append({"notebook": _words(name), "seeds": ", ".join(all_runs),
                       "threads": (", ".join(threads.values()) if mixed_here
                                   else next(iter(threads.values()), "-")),
                       "crashed": sum(r.get("status") == "crashed" for r in all_runs.values()),
                       "median run (s)": f"{statistics.median(seconds):.0f}" if seconds else "-",
                       "code": entry.get("hash", "?") + (" (stale)" if stale else " (current)")
                       + (" (seeds carried)" if carried_seeds else "")})
        for key, target in targets.get(name, {}).items():
            met = [m for m in (meets(r, key, target) for r in runs.values()) if m is not None]
            spread = Spread([r[key] for r in runs.values() if key in r], met, target)
            rows_t.append({"notebook": _words(name), "number": _words(key.removeprefix("headline.")),
                           "target": target_text(target), "median": _short(spread.get("median")),
                           "range": f"{_short(spread.get('min'))} to {_short(spread.get('max'))}",
                           "seeds meeting it": spread.get("meet", "-")})
            if not met or spread["met"] < 0.8 * len(met):  # a target holds in 4 of 5 seeds
                missed.append(f"{_words(name)}: {_words(key.removeprefix('headline.'))} "
                              f"({spread.get('meet', 'not measured')} seeds)")
        for key in sorted({k for r in runs.values() for k in r if k.startswith("headline.")}):
            values = [r[key] for r in runs.values() if key in r]
            if _varies(key, values):
                rows_h.append({"notebook": _words(name), "number": _words(key.removeprefix("headline.")),
                               "median": _short(statistics.median(values)),
                               "range": f"{_short(min(values))} to {_short(max(values))}",
                               "seeds": len(values)})
    cols = lambda rows: list(rows[0]) if rows else ["notebook"]
    return {
        "tables": {"targets": markdown_table(rows_t, cols(rows_t)),
                   "headlines": markdown_table(rows_h, cols(rows_h)),
                   "runs": markdown_table(rows_r, cols(rows_r))},
        "n_notebooks": len(results), "n_runs": sum(len(e.get("runs", {})) for e in results.values()),
        "wall_minutes": round((max(ends) - min(starts)) / 60, 1) if starts else 0.0,
        "run_minutes": round(sum(r.get("seconds") or 0 for e in results.values()
                                 for r in e.get("runs", {}).values()) / 60, 1),
        "missed": "; ".join(missed) if missed else "none",
        "how_run": ("run one at a time, each on all the machine's cores" if not capped else
                    "run one at a time on all the machine's cores, except " + "; ".join(capped)
                    + " (side by side, each capped at the threads the table gives)"),
        "mixed_threads": ", ".join(mixed) if mixed else "none",
        "carried": "; ".join(carried) if carried else "none",
        "n_targets": len(rows_t), "n_met": len(rows_t) - len(missed),
        "commits": ", ".join(sorted({e.get("commit", "?") for e in results.values()})),
    }


INTERVAL_PARTS = re.compile(r"(_ci|\.low|\.high|_low|_high|\.\d)$|_ci\.")


def _varies(key: str, values: list) -> bool:
    """A headline number worth a row over the seeds: numeric, not one end of an interval, and not
    the same in every seed (settings, floors and chance are)."""
    return (all(_is_number(v) for v in values) and not INTERVAL_PARTS.search(key)
            and len({round(v, 9) for v in values}) > 1)


def _threads(run: dict) -> str:
    """The CPU threads a run was capped at: 'all' where it was not capped (JOBS=1)."""
    return "all" if run.get("threads") is None else str(run["threads"])


def _words(name: str) -> str:
    """'06_gan_csp' -> '06 gan csp': names that a table can wrap."""
    return name.replace("_", " ")


def _short(v) -> str:
    """A number for a table: 3 significant digits, thousands separated."""
    if not _is_number(v):
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def write_seeds_fields(metrics_path: Path, path: Path = SEEDS_JSON) -> None:
    """media/seeds/metrics.json for reports/seeds.md, from seeds.json and reports/targets.json."""
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(seeds_fields(path), indent=1, sort_keys=True))
