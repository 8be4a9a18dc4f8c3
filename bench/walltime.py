"""Table 3: notebook wall time per profile, and the time of `make test` and `make reports`.

    result = walltime.notebooks(run=False)   # smoke: build/timings-smoke.json; default: seeds.json
    result = walltime.make_targets(run=True) # times make test and make reports in a fresh clone

The smoke timings are written by `python -m aehelpers execute --profile smoke notebooks/*.ipynb`
(with run=True this module runs it). The default timings are the seeds run's
(bench/results/seeds.json): each notebook's median over its seeds, at the code it has now, so the
table never shows a notebook as it was before its last change; build/timings-default.json (one
`make reports`) stands in where a notebook has no current seeds. Make timings come from a fresh
clone of HEAD (install included, as CI runs them) and are kept in bench/results/make.json, so a
later run without --make still shows and dates them.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import common

from aehelpers import runs

TARGETS_S = {"smoke": 5 * 60, "default": 20 * 60}  # all seven notebooks together (issue 6)
BUILD = common.REPO_ROOT / "build"


def execute_notebooks(profile: str) -> int:
    """Run every numbered notebook in `profile` (writes build/timings-<profile>.json); return rc."""
    notebooks = sorted(str(p) for p in (common.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        return 0
    cmd = [sys.executable, "-m", "aehelpers", "execute", "--profile", profile, *notebooks]
    return subprocess.run(cmd, cwd=common.REPO_ROOT).returncode


def default_from_seeds(path=common.RESULTS_DIR / "seeds.json") -> dict:
    """Per notebook with current seeds: {median, low, high, n} of its default runs' seconds."""
    if not path.exists():
        return {}
    out = {}
    for name, entry in json.loads(path.read_text())["notebooks"].items():
        nb = common.REPO_ROOT / "notebooks" / f"{name}.ipynb"
        if not nb.exists() or runs.source_hash(nb) != entry.get("hash"):
            continue  # other code than the notebook's now: its times say nothing of it
        secs = [r["seconds"] for r in entry["runs"].values()
                if r.get("status") == "ok" and isinstance(r.get("seconds"), (int, float))]
        if secs:
            out[name] = {"median": statistics.median(secs), "low": min(secs), "high": max(secs),
                         "n": len(secs)}
    return out


def notebooks(run: bool = False) -> dict:
    """Seconds per notebook in smoke and default, totals, and whether the targets are met."""
    out = {"rows": [], "totals": {}, "targets_s": TARGETS_S, "source": {}}
    if run:
        out["rc_smoke"] = execute_notebooks("smoke")
    n_all = len(list((common.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    per_nb, seeds = {}, default_from_seeds()
    for profile in TARGETS_S:
        path = BUILD / f"timings-{profile}.json"
        timings = {t["notebook"]: t["seconds"] for t in json.loads(path.read_text())} \
            if path.exists() else {}
        from_seeds = {}
        if profile == "default":
            from_seeds = {k: v["median"] for k, v in seeds.items()}
            timings = {**timings, **from_seeds}
        if not timings:
            out["source"][profile] = "not measured (run bench/run.py --notebooks, or make seeds)"
            continue
        where = []
        if from_seeds:
            n = len(from_seeds)
            where.append(f"bench/results/seeds.json, median over seeds for {n} "
                         f"notebook{'' if n == 1 else 's'}")
        if path.exists() and len(from_seeds) < len(timings):
            stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)
            where.append(f"{path.relative_to(common.REPO_ROOT)} ({stamp:%Y-%m-%d %H:%M} UTC)")
        out["source"][profile] = " and ".join(where)
        for name, seconds in timings.items():
            per_nb.setdefault(name, {})[profile] = seconds
        total = sum(timings.values())
        met = "yes" if total < TARGETS_S[profile] else "no"
        if len(timings) < n_all:  # the file holds only the last `execute` call's notebooks
            met = f"not judged: {len(timings)} of {n_all} notebooks timed"
        out["totals"][profile] = {"seconds": total, "notebooks": len(timings),
                                  "target_s": TARGETS_S[profile], "met": met}
    for name in sorted(per_nb):
        spread = seeds.get(name)
        out["rows"].append({"notebook": name, **{f"{p} s": per_nb[name].get(p, "-")
                                                 for p in TARGETS_S},
                            "default range (seeds)": (f"{spread['low']:.0f}-{spread['high']:.0f}"
                                                      f" ({spread['n']} runs)" if spread else "-")})
    return out


def make_targets(run: bool = False) -> dict:
    """Seconds of `make test` and `make reports` in a fresh clone of HEAD, install included (run
    now, or as recorded by an earlier --make); the clone is deleted afterwards."""
    path = common.RESULTS_DIR / "make.json"
    if run:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=common.REPO_ROOT,
                                capture_output=True, text=True).stdout.strip()
        clone = tempfile.mkdtemp(prefix="aeh-fresh-")
        result = {}
        try:
            subprocess.run(["git", "clone", "-q", str(common.REPO_ROOT), clone], check=True)
            for target in ("test", "reports"):
                start = time.perf_counter()
                rc = subprocess.run(["make", target], cwd=clone).returncode
                result[target] = {"seconds": round(time.perf_counter() - start, 1), "rc": rc,
                                  "date": common.environment()["date"],
                                  "how": f"make {target} in a fresh clone of {commit}, on "
                                         f"{common.cpu_name()}; make test first, so make reports "
                                         f"found its environment installed"}
        finally:
            shutil.rmtree(clone, ignore_errors=True)  # full disks have failed CI here
        common.save("make", result)
        return result
    if path.exists():
        return json.loads(path.read_text())
    return {}
