"""The seeds run: every notebook once per seed, its numbers kept in bench/results/seeds.json.

    python -m aehelpers seeds --seeds 0 1 2 3 4 notebooks/*.ipynb    # or: make seeds
    python -m aehelpers seeds --carry notebooks/*.ipynb    # after a refactor: see carry_seeds

`run_seeds` executes each notebook in the default profile once per seed (its `SEED` parameter)
and keeps every run's numbers in bench/results/seeds.json: per notebook the source hash
(`runs.source_hash`) and commit it ran, per seed the headline, the other recorded numbers and
the run time, or that it crashed. Seed 0 is the report's own run: it writes media/, the other
seeds write build/seeds/. A notebook and seed already run at the current hash is not run again.
`carry_seeds` keeps the runs across a refactor that reproduced seed 0 exactly. The module
`spreads` reads seeds.json for the reports.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from . import config
from .runs import execute, git_commit, package_modules, source_hash, stamp, thread_cap

SEEDS_JSON = config.REPO_ROOT / "bench" / "results" / "seeds.json"


# ---------------------------------------------------------------------------- the seeds run


def numbers(metrics: dict, prefix: str = "") -> dict:
    """The metrics' numbers and short verdict words, flattened to dotted keys ('headline.auroc');
    tables, long texts and curves (lists of more than 4) are left out."""
    out = {}
    for key, value in metrics.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(numbers(value, path + "."))
        elif isinstance(value, list) and len(value) <= 4:
            out.update(numbers({str(i): v for i, v in enumerate(value)}, path + "."))
        elif isinstance(value, (int, float)) or (isinstance(value, str) and len(value) <= 80):
            out[path] = value
    return out


def load(path: Path = SEEDS_JSON) -> dict:
    """seeds.json's contents: {"notebooks": {name: {hash, commit, modules, runs}}}."""
    return json.loads(path.read_text()) if path.exists() else {"notebooks": {}}


def _update(path: Path, notebook, change) -> None:
    """Apply change(entry) to one notebook's entry of seeds.json under a lock (two workers may
    finish at once), written atomically."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results, name = load(path), Path(notebook).stem
        entry = change(results["notebooks"].get(name, {}))
        entry["runs"] = dict(sorted(entry["runs"].items(), key=lambda kv: int(kv[0])))
        results["notebooks"][name] = entry
        results["notebooks"] = dict(sorted(results["notebooks"].items()))
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(path)


def _save_run(path: Path, notebook, hash_: str, seed: int, run: dict, commit: str = "") -> None:
    """Merge one run into seeds.json; runs of other code (another hash) are dropped."""
    def change(entry):
        if entry.get("hash") != hash_:  # other code: its runs are no spread of this one
            entry = {"hash": hash_, "runs": {}}
        entry.update(commit=commit or git_commit(), modules=package_modules(notebook))
        entry["runs"][str(seed)] = run
        return entry
    _update(path, notebook, change)


def _one_seed(notebook: str, seed: int, threads: int | None, media: Path | None) -> dict:
    """Run one notebook at one seed with its figures in `media` (None: media/); its record."""
    started, threads = time.time(), thread_cap(threads)
    executed = Path(media).parent / "executed" if media else config.REPO_ROOT / "build" / "executed"
    try:
        seconds = execute(notebook, "default", seed=seed, media=media, threads=threads,
                          out_dir=executed / "seeds")["seconds"]
    except Exception as error:  # a crash is a result too; the other runs go on
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # no terminal colours in the record
        last = text.strip().splitlines()[-1:] or [type(error).__name__]
        return {"status": "crashed", "error": last[0][:300], "seconds": round(time.time() - started, 1),
                "started": started, "threads": threads}
    metrics = json.loads((Path(media or config.media_root("default")) / Path(notebook).stem
                          / "metrics.json").read_text())
    return {"status": "ok", "seconds": seconds, "started": started, "threads": threads,
            **_kept(metrics)}


def _kept(metrics: dict) -> dict:
    """What seeds.json keeps of a run's metrics: its headline and its other numbers."""
    return {"headline": metrics.get("headline", {}),
            "numbers": {k: v for k, v in numbers(metrics).items()
                        if not k.startswith(("headline.", "run."))}}


def run_seeds(notebooks, seeds=(0, 1, 2, 3, 4), jobs: int = 1, path: Path = SEEDS_JSON,
              scratch: Path | None = None) -> dict:
    """Run each notebook once per seed in the default profile, keeping each run in seeds.json.

    Runs already in seeds.json at the notebook's current hash are not run again (nor is seed 0
    where media/ holds a default run at that hash: its numbers are taken from there). Seed 0
    writes media/, seed k build/seeds/seed<k>/media (all of them `scratch`/seed<k> if given).
    With jobs > 1, that many kernels run at once, each on 2 // jobs threads (at least 1).
    """
    def media_for(seed):
        if scratch is not None:
            return Path(scratch) / f"seed{seed}"
        return None if seed == 0 else config.REPO_ROOT / "build" / "seeds" / f"seed{seed}" / "media"

    from concurrent.futures import ThreadPoolExecutor, as_completed

    results, todo, commit = load(path), [], git_commit()  # what was checked out at the start
    for nb in notebooks:
        name, hash_ = Path(nb).stem, source_hash(nb)
        done = results["notebooks"].get(name, {})
        for seed in seeds:
            old = done.get("runs", {}).get(str(seed), {})
            if done.get("hash") == hash_ and old.get("status") == "ok":
                continue
            media_run = stamp(nb)
            if (seed == 0 and scratch is None and media_run.get("hash") == hash_
                    and media_run.get("profile") == "default"):
                _save_run(path, nb, hash_, 0, commit=commit, run=_from_media(nb, media_run))
                continue
            todo.append((str(nb), seed, hash_))
    todo.sort(key=lambda job: job[1])  # seed by seed: seed 0 (media/) first, an even tail
    print(f"seeds: {len(todo)} run(s) to do, {jobs} at a time", flush=True)
    threads = max(1, 2 // jobs) if jobs > 1 else None
    start = time.time()
    # threads suffice: each run is a kernel process of its own, the thread only waits for it
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_one_seed, nb, seed, threads, media_for(seed)): (nb, seed, h)
                   for nb, seed, h in todo}
        for i, future in enumerate(as_completed(futures), start=1):
            nb, seed, hash_ = futures[future]
            run = future.result()
            _save_run(path, nb, hash_, seed, run, commit)
            print(f"[{i}/{len(todo)}] {Path(nb).stem} seed {seed}: {run['status']} in "
                  f"{run['seconds']:.0f} s ({(time.time() - start) / 60:.1f} min so far)"
                  + (f": {run['error']}" if run["status"] == "crashed" else ""), flush=True)
    return load(path)


def _from_media(notebook, media_run: dict) -> dict:
    """Seed 0's record taken from media/'s default run (its stamp `media_run`)."""
    metrics = json.loads((config.media_root("default") / Path(notebook).stem
                          / "metrics.json").read_text())
    return {"status": "ok", "seconds": media_run.get("seconds"), "from": "media/",
            "threads": media_run.get("threads"), **_kept(metrics)}


# ---------------------------------------------------------------------------- after a refactor


def differences(a: dict, b: dict) -> list[str]:
    """The recorded numbers (dotted keys) on which two runs' records differ, times aside."""
    flat = lambda run: {**{f"headline.{k}": v for k, v in numbers(run.get("headline", {})).items()},
                        **run.get("numbers", {})}
    fa, fb = flat(a), flat(b)
    same = lambda x, y: x == y or (x != x and y != y)  # NaN is the same as NaN here
    return sorted(k for k in fa.keys() | fb.keys()
                  if "seconds" not in k and not same(fa.get(k), fb.get(k)))  # a time, anywhere


def carry_seeds(notebooks, path: Path = SEEDS_JSON) -> dict[str, str]:
    """After a refactor, keep each notebook's seeds runs under its new source hash where media/'s
    default run at that hash reproduced the recorded seed 0 exactly; notebook -> what was done.

    Exactly: every recorded number and verdict word the same (times aside), at the same thread
    cap. Code that gave seed 0 the same numbers gave the other seeds the same numbers in every
    rerun of this project so far (02-05 and 07, December 2026), so their runs carry over, each
    marked with the hash it ran (`carried_from`); any difference and the seeds must run again.
    """
    return {Path(nb).stem: _carry(nb, path) for nb in notebooks}


def _carry(notebook, path: Path) -> str:
    """carry_seeds for one notebook: what it did, in words."""
    hash_, media_run = source_hash(notebook), stamp(notebook)
    entry = load(path)["notebooks"].get(Path(notebook).stem)
    if entry is None or entry.get("hash") == hash_:
        return "nothing to carry" if entry is None else "current already"
    if media_run.get("hash") != hash_ or media_run.get("profile") != "default":
        return "not carried: media/ has no default run of the current code"
    seed0, old_hash = _from_media(notebook, media_run), entry["hash"]
    recorded = entry["runs"].get("0", {})
    differ = differences(recorded, seed0)
    if differ:
        return f"not carried: seed 0 differs in {len(differ)} numbers ({', '.join(differ[:3])})"
    if recorded.get("threads") != seed0["threads"]:
        return "not carried: seed 0 ran at other threads than the recorded one"

    def change(entry):
        runs = {seed: {**run, "carried_from": run.get("carried_from", old_hash)}
                for seed, run in entry["runs"].items() if seed != "0"}
        return {"hash": hash_, "commit": git_commit(), "modules": package_modules(notebook),
                "runs": {"0": seed0, **runs}}
    _update(path, notebook, change)
    return f"carried {len(entry['runs']) - 1} runs from {old_hash}"
