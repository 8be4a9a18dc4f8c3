"""What every benchmark section shares: the run's environment, timing, tables and result files.

    env = common.environment()                     # device, torch version, threads, date, host
    seconds = common.median_times({"a": fa, "b": fb}, repeats=5)   # interleaved a, b, a, b, ...
    print(common.table(rows, ["name", "images/s", "ratio"]))
    common.save("speed", payload)                   # bench/results/speed.json

Timings on a shared machine are noisy; every ratio in a table is measured within one run, with the
contenders interleaved (a, b, c, a, b, c, ...) and the median taken, so a slow minute hits all of
them alike. Absolute images/s are only comparable within one run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

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


def median_times(contenders: dict, repeats: int = 5, warmup: int = 1) -> dict:
    """Median seconds per contender over `repeats` interleaved rounds, after `warmup` rounds."""
    times = {name: [] for name in contenders}
    for round_ in range(warmup + repeats):
        for name, fn in contenders.items():  # a, b, c, a, b, c: noise hits every contender
            seconds = timed(fn)
            if round_ >= warmup:
                times[name].append(seconds)
    return {name: statistics.median(ts) for name, ts in times.items()}


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


def markdown_table(rows: list[dict], columns: list[str], formats: dict | None = None) -> str:
    """A pipe table for the report (one {{ tables.name }} field); formats per column."""
    formats = formats or {}

    def cell(column, v):
        if isinstance(v, (int, float)) and not isinstance(v, bool) and column in formats:
            return format(v, formats[column])
        return str(v).replace("|", "/")

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(c, r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)
