"""Table 3: notebook wall time per profile, and the time of `make test` and `make reports`.

    result = walltime.notebooks(run=False)   # reads build/timings-{smoke,default}.json
    result = walltime.make_targets(run=True) # times make test and make reports (long)

The notebook timings are written by
`python -m aehelpers execute --profile P notebooks/*.ipynb` (`make reports` runs it
for default); with run=True this module runs that itself. Make timings
are kept in bench/results/make.json, so a later run without --make still shows (and dates) them.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import common

TARGETS_S = {"smoke": 5 * 60, "default": 20 * 60}  # all seven notebooks together (issue 6)
BUILD = common.REPO_ROOT / "build"


def execute_notebooks(profile: str) -> int:
    """Run every numbered notebook in `profile` (writes build/timings-<profile>.json); return rc."""
    notebooks = sorted(str(p) for p in (common.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        return 0
    cmd = [sys.executable, "-m", "aehelpers", "execute", "--profile", profile, *notebooks]
    return subprocess.run(cmd, cwd=common.REPO_ROOT).returncode


def notebooks(run: bool = False) -> dict:
    """Seconds per notebook in smoke and default, totals, and whether the targets are met."""
    out = {"rows": [], "totals": {}, "targets_s": TARGETS_S, "source": {}}
    if run:
        for profile in TARGETS_S:
            out[f"rc_{profile}"] = execute_notebooks(profile)
    per_nb = {}
    for profile in TARGETS_S:
        path = BUILD / f"timings-{profile}.json"
        if not path.exists():
            out["source"][profile] = "not measured (run bench/run.py --notebooks)"
            continue
        stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)
        where = path.relative_to(common.REPO_ROOT)
        out["source"][profile] = f"{where} ({stamp:%Y-%m-%d %H:%M} UTC)"
        timings = json.loads(path.read_text())
        for t in timings:
            per_nb.setdefault(t["notebook"], {})[profile] = t["seconds"]
        total = sum(t["seconds"] for t in timings)
        n_all = len(list((common.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
        met = "yes" if total < TARGETS_S[profile] else "no"
        if len(timings) < n_all:  # the file holds only the last `execute` call's notebooks
            met = f"not judged: {len(timings)} of {n_all} notebooks timed"
        out["totals"][profile] = {"seconds": total, "notebooks": len(timings),
                                  "target_s": TARGETS_S[profile], "met": met}
    for name in sorted(per_nb):
        out["rows"].append({"notebook": name, **{f"{p} s": per_nb[name].get(p, "-")
                                                 for p in TARGETS_S}})
    return out


def make_targets(run: bool = False) -> dict:
    """Seconds of `make test` and `make reports` (run now, or as recorded by an earlier --make)."""
    path = common.RESULTS_DIR / "make.json"
    if run:
        result = {}
        for target in ("test", "reports"):
            start = time.perf_counter()
            rc = subprocess.run(["make", target], cwd=common.REPO_ROOT).returncode
            result[target] = {"seconds": time.perf_counter() - start, "rc": rc,
                              "date": common.environment()["date"]}
        common.save("make", result)
        return result
    if path.exists():
        return json.loads(path.read_text())
    return {}
