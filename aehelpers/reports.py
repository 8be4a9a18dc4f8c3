"""Numbers from a run into media/<notebook>/metrics.json, where the reports read them.

In a notebook:   reports.record(test_mse=0.0123, num_epochs=15)
In a report:     The test MSE is {{ test_mse:.4f }} after {{ num_epochs }} epochs.

`pdfs` fills the reports' {{ fields }} from metrics.json and builds the PDFs; `runs` executes
the notebooks (`python -m aehelpers execute|seeds|build`).
"""

from __future__ import annotations

import json

from . import config


def record(**numbers) -> dict:
    """Merge numbers into <media>/<notebook>/metrics.json (with profile and seed); return all."""
    cfg = config.current()
    path = cfg.media_dir / "metrics.json"
    metrics = json.loads(path.read_text()) if path.exists() else {}
    metrics.update({"profile": cfg.profile, "seed": cfg.seed})
    metrics.update({k: _plain(v) for k, v in numbers.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(metrics, indent=1, sort_keys=True))
    tmp.replace(path)  # atomic: a crash mid-write never leaves half a file
    return metrics


def _plain(v):
    """Tensors and numpy numbers -> Python numbers/lists, so json can write them."""
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def markdown_table(rows: list[dict], columns: list[str], formats: dict | None = None) -> str:
    """A Markdown pipe table of rows (dicts) for a report field, e.g. record(tables={"noise": ...});
    formats maps a column to a format spec such as ".2f"."""
    formats = formats or {}

    def cell(column, v):
        if isinstance(v, (int, float)) and not isinstance(v, bool) and column in formats:
            return format(v, formats[column])
        return str(v).replace("|", "/")

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(c, r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)
