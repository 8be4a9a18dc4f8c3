"""Committed notebooks stay light and clean: no images, no execution counts, no private paths.

One exception: a cell marked NBVAL_CHECK_OUTPUT keeps its text output and an execution count,
because nbval only compares the outputs of reference cells that were run.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPORTS = sorted((ROOT / "reports").glob("*.md"))
METRICS = sorted((ROOT / "media").glob("*/metrics.json"))  # committed with the reports
MAX_NOTEBOOK_BYTES = 200_000  # text outputs only; a notebook over this carries something bulky
PRIVATE = re.compile(r"(/home/\w+|/Users/\w+|/root/|/work/|C:\\\\Users|ghp_[A-Za-z0-9]{20,}|"
                     r"hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9]{20,})")


def problems(nb: dict) -> list[str]:
    """What is wrong with a committed notebook's JSON (empty list: nothing)."""
    found = []
    for i, cell in enumerate(nb.get("cells", [])):
        checked = "NBVAL_CHECK_OUTPUT" in "".join(cell.get("source", ""))
        if cell.get("execution_count") is not None and not checked:
            found.append(f"cell {i} has an execution count")
        if checked and cell.get("outputs") and cell.get("execution_count") is None:
            found.append(f"cell {i} is checked by nbval but has no execution count")
        for out in cell.get("outputs", []):
            if out.get("execution_count") is not None:
                found.append(f"cell {i} output has an execution count")
            if any(k.startswith("image/") for k in out.get("data", {})):
                found.append(f"cell {i} carries an image output")
            if out.get("output_type") == "error":
                found.append(f"cell {i} carries an error output ({out.get('ename')})")
    if "widgets" in nb.get("metadata", {}):
        found.append("notebook metadata holds widget state")
    text = json.dumps(nb)
    for m in PRIVATE.finditer(text):
        found.append(f"private path or token {m.group(0)!r}")
    return found


def test_checker_catches_images_counts_and_paths():
    bad = {"cells": [{"cell_type": "code", "execution_count": 3, "source": "open('/home/ann/x')",
                      "outputs": [{"output_type": "display_data", "data": {"image/png": "iVB"}}]}]}
    found = problems(bad)
    assert any("execution count" in p for p in found)
    assert any("image output" in p for p in found)
    assert any("/home/ann" in p for p in found)
    crashed = {"cells": [{"cell_type": "code", "execution_count": None, "source": "1/0",
                          "outputs": [{"output_type": "error", "ename": "ZeroDivisionError"}]}],
               "metadata": {"widgets": {}}}
    assert problems(crashed) == ["cell 0 carries an error output (ZeroDivisionError)",
                                 "notebook metadata holds widget state"]
    assert PRIVATE.findall('{"token": "ghp_' + "a" * 30 + '", "data": "/Users/bob/x"}')
    assert problems({"cells": [{"cell_type": "code", "execution_count": None,
                                "source": "x = 1", "outputs": []}]}) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_is_clean(path):
    assert problems(json.loads(path.read_text())) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_is_small(path):
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES


@pytest.mark.parametrize("path", REPORTS + METRICS,
                         ids=[str(p.relative_to(ROOT)) for p in REPORTS + METRICS])
def test_report_and_metrics_have_no_private_paths(path):
    assert PRIVATE.findall(path.read_text()) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_prints_its_seed_and_profile(path):
    # config.setup prints "profile=... seed=..." unless told verbose=False
    code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                     if c["cell_type"] == "code")
    calls = re.findall(r"setup\(([^)]*)\)", code)
    assert calls and all("verbose=False" not in args for args in calls)
