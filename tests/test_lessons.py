"""Notebooks read as lessons (issue 22): one settings cell, short code cells, and every section
ends with what it found, filled from the run's numbers (`findings.show`)."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_CELL_LINES = 30
SETUP_SECTIONS = ("Data", "The model", "Framing")  # they set up; they end in a print or a figure
NOT_YET: dict[str, str] = {}  # notebook stem -> why it is not a lesson yet (a strict xfail)


def lesson_problems(nb: dict) -> list[str]:
    """What keeps a notebook from reading as a lesson (empty list: nothing)."""
    cells = [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]
    found = [f"code cell {i} has {len(src.splitlines())} lines"
             for i, (kind, src) in enumerate(cells)
             if kind == "code" and len(src.splitlines()) > MAX_CELL_LINES]
    picks = [i for i, (kind, src) in enumerate(cells) if kind == "code" and "cfg.pick(" in src]
    if len(picks) > 1:
        found.append(f"profile settings (cfg.pick) in cells {picks}, not in one settings cell")
    heads = [i for i, (kind, src) in enumerate(cells) if kind == "markdown"
             and re.match(r"## ", src)] + [len(cells)]
    for start, end in zip(heads, heads[1:]):
        title = cells[start][1].splitlines()[0]
        code = [src for kind, src in cells[start:end] if kind == "code"]
        if code and not any(t in title for t in SETUP_SECTIONS) \
                and "findings.show(" not in code[-1]:
            found.append(f"section {title[3:40]!r} does not end with its finding")
    return found


def test_checker_sees_long_cells_scattered_settings_and_missing_findings():
    md = lambda s: {"cell_type": "markdown", "source": s}
    code = lambda s: {"cell_type": "code", "source": s}
    good = {"cells": [code("x = cfg.pick(smoke=1, default=2)"), md("## Data"), code("load()"),
                      md("## 1 · A result"), code("fit()"), code("findings.show('...')")]}
    assert lesson_problems(good) == []
    bad = {"cells": [code("x = cfg.pick(smoke=1, default=2)"), md("## 1 · A result"),
                     code("y = cfg.pick(smoke=1, default=3)\n" + "z = 1\n" * 31)]}
    assert len(lesson_problems(bad)) == 3  # a long cell, two settings cells, no finding


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.xfail(reason=NOT_YET[p.stem], strict=True))
    if p.stem in NOT_YET else p for p in NOTEBOOKS], ids=[p.stem for p in NOTEBOOKS])
def test_notebook_reads_as_a_lesson(path):
    assert lesson_problems(json.loads(path.read_text())) == []
