"""bench's wall-time table: default times from the seeds run at the current code only, and the
budget verdict built from the measured minutes (never a typed sentence)."""

import importlib.util
import json
import sys
from pathlib import Path

from aehelpers import runs

ROOT = Path(__file__).resolve().parent.parent


def load(name):
    sys.path.insert(0, str(ROOT / "bench"))  # bench's modules import `common` from there
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_default_times_come_from_current_seeds_only(tmp_path):
    walltime = load("walltime")
    nb = ROOT / "notebooks" / "02_denoising_noise_zoo.ipynb"
    runs_of = lambda secs: {str(i): {"status": "ok", "seconds": s} for i, s in enumerate(secs)}
    seeds = {"notebooks": {
        "02_denoising_noise_zoo": {"hash": runs.source_hash(nb), "runs": runs_of([50, 40, 70])},
        "07_well_leaks": {"hash": "other code", "runs": runs_of([60, 61])}}}
    path = tmp_path / "seeds.json"
    path.write_text(json.dumps(seeds))
    got = walltime.default_from_seeds(path)
    assert got == {"02_denoising_noise_zoo": {"median": 50, "low": 40, "high": 70, "n": 3}}


def test_budget_verdict_says_fits_or_not_from_the_minutes():
    verdict = load("run").budget_verdict
    rows = [{"notebook": "a", "default s": 600.0}, {"notebook": "b", "default s": 1500.0}]
    wall = {"make": {"test": {"seconds": 240.0}},
            "notebooks": {"rows": rows, "totals": {"default": {"seconds": 2100.0, "met": "no"}}}}
    text = verdict(wall)
    assert "`make test` fits its budget (4.0 of 5 min)" in text
    assert "`make reports` does not fit its budget when every notebook runs (35.0 of 20 min; " \
           "b alone 25.0 min)" in text
    wall["notebooks"]["totals"]["default"] = {"seconds": 900.0, "met": "yes"}
    wall["make"]["test"]["seconds"] = 360.0
    text = verdict(wall)
    assert "`make test` does not fit" in text and "`make reports` fits its budget" in text
    wall["notebooks"]["totals"]["default"]["met"] = "not judged: 6 of 7 notebooks timed"
    assert "make reports" not in verdict(wall)  # not every notebook timed: no verdict on it
    assert verdict({}) == "not measured."
