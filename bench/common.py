"""What every benchmark section shares: the run's environment, timing, tables and result files.

    env = common.environment()                     # device, torch version, threads, date, host
    seconds = common.median_times({"a": fa, "b": fb}, repeats=5)   # interleaved a, b, a, b, ...
    rounds = common.interleaved_times({"a": fa, "b": fb}, repeats=5)  # every round's seconds
    summary = common.compare(rounds, base="a")     # per contender: seconds, ratio (spread), ...
    print(common.table(rows, ["name", "images/s", "ratio"]))
    common.save("speed", payload)                   # bench/results/speed.json

Timings on a shared machine are noisy; every ratio in a table is measured within one run, with the
contenders interleaved (a, b, c, a, b, c, ...) over several rounds. A ratio is taken per round,
between the times of the same round, and the table gives the median of those per-round ratios
with their range (min-max over the rounds) in brackets, e.g. "0.991 (0.975-1.004)": a slow minute
hits every contender of a round alike, and the range shows how far one round can be off.
Absolute images/s are only comparable within one run.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from aehelpers import reports

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
MEDIA_DIR = REPO_ROOT / "media" / "benchmarks"  # the report's figures and metrics.json


# ---------------------------------------------------------------------------------------------
# the environment a run measured
# ---------------------------------------------------------------------------------------------

def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict:
    """Device, versions, thread count, load and date of this run (recorded beside every table)."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": gpu or "none found",
        "load_at_start": round(load, 2),  # 1-minute load average: > threads means a busy machine
    }


# ---------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------

def sync():
    """Wait for queued GPU work, so a timer measures it (no-op on CPU)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn) -> float:
    """Seconds one call of fn() takes, GPU work included."""
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def interleaved_times(contenders: dict, repeats: int = 5, warmup: int = 1, timer=None) -> dict:
    """Seconds of every round per contender: {name: [s_round1, s_round2, ...]}.

    The contenders run interleaved (a, b, c, a, b, c, ...) for `warmup` untimed rounds and then
    `repeats` timed ones, so round i of every contender ran in the same stretch of time.
    `timer(fn)` returns the seconds of one call (default `timed`); a contender that measures
    itself (a child process) passes `timer=lambda fn: fn()`. NaN marks a round that failed.
    """
    timer = timer or timed
    times = {name: [] for name in contenders}
    for round_ in range(warmup + repeats):
        for name, fn in contenders.items():  # a, b, c, a, b, c: noise hits every contender
            seconds = timer(fn)
            if round_ >= warmup:
                times[name].append(seconds)
    return times


def median_times(contenders: dict, repeats: int = 5, warmup: int = 1) -> dict:
    """Median seconds per contender over `repeats` interleaved rounds, after `warmup` rounds."""
    return {name: statistics.median(ts)
            for name, ts in interleaved_times(contenders, repeats, warmup).items()}


class Spread(float):
    """A median that carries the range of the values it came from; formats as 'median (lo-hi)'.

    It is a float (arithmetic, comparisons and JSON see the median), but every format spec is
    applied to all three numbers: f"{Spread.of([0.98, 1.0, 1.01]):.2f}" == "1.00 (0.98-1.01)".
    `values` keeps the per-round numbers; `as_dict()` gives them for the result files.
    """

    def __new__(cls, median: float, lo: float, hi: float, values=()):
        self = super().__new__(cls, median)
        self.lo, self.hi, self.values = float(lo), float(hi), [float(v) for v in values]
        return self

    @classmethod
    def of(cls, values) -> Spread:
        """Median and min-max of the finite values (NaN, a failed round, is left out)."""
        finite = [float(v) for v in values if math.isfinite(v)]
        if not finite:
            return cls(math.nan, math.nan, math.nan, values)
        return cls(statistics.median(finite), min(finite), max(finite), finite)

    def __format__(self, spec: str) -> str:
        lo, hi = format(self.lo, spec), format(self.hi, spec)
        sep = " to " if self.lo < 0 or self.hi < 0 else "-"  # "(-110 to 145)", not "(-110-145)"
        return f"{format(float(self), spec)} ({lo}{sep}{hi})"

    def __repr__(self) -> str:
        return f"Spread({float(self)!r}, {self.lo!r}, {self.hi!r})"

    def __reduce__(self):  # pickle/copy keep the range
        return (Spread, (float(self), self.lo, self.hi, self.values))

    def as_dict(self) -> dict:
        return {"median": float(self), "min": self.lo, "max": self.hi, "rounds": self.values}


def compare(times: dict, base: str, work: float = 1.0) -> dict:
    """Per contender, from `interleaved_times` output: median seconds and the paired ratios.

    Returns {name: {"seconds": Spread, "per_s": Spread of work/seconds (e.g. images/s),
    "ratio": Spread of base_i / t_i (its speed relative to `base`; > 1 is faster),
    "slowdown": Spread of t_i / base_i (how many times longer than `base` it takes),
    "extra_s": Spread of t_i - base_i}} where i runs over the rounds, so every ratio pairs two
    times of the same round. Rounds where either time is NaN are left out of that pair.
    """
    ref = times[base]
    out = {}
    for name, ts in times.items():
        pairs = [(t, b) for t, b in zip(ts, ref) if math.isfinite(t) and math.isfinite(b)]
        out[name] = {
            "seconds": Spread.of(ts),
            "per_s": Spread.of([work / t for t in ts if math.isfinite(t) and t > 0]),
            "ratio": Spread.of([b / t for t, b in pairs]),
            "slowdown": Spread.of([t / b for t, b in pairs]),
            "extra_s": Spread.of([t - b for t, b in pairs]),
        }
    return out


# ---------------------------------------------------------------------------------------------
# tables and files
# ---------------------------------------------------------------------------------------------

def table(rows: list[dict], columns: list[str], title: str = "") -> str:
    """A plain-text table of rows (dicts) in the given column order, numbers formatted short."""
    def cell(v):
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 10 else f"{v:,.1f}" if abs(v) < 100 else f"{v:,.0f}"
        return str(v)

    cells = [[cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = [title] if title else []
    lines.append("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def save(name: str, payload: dict) -> Path:
    """Write payload to bench/results/<name>.json; return the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1, default=str))
    return path


def quick_args(doc: str, quick_help: str, device: bool = False):
    """A benchmark's command line: --quick (help `quick_help`), and --device when asked for."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    if device:
        parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    return parser.parse_args()


markdown_table = reports.markdown_table  # one table writer for the reports and the benchmarks
