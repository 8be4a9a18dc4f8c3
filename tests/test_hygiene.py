"""Committed notebooks stay light and clean: no images, no execution counts, no private paths."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPORTS = sorted((ROOT / "reports").glob("*.md"))
PRIVATE = re.compile(r"(/home/\w+|/Users/\w+|/root/|/work/|C:\\\\Users|ghp_[A-Za-z0-9]{20,}|"
                     r"hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9]{20,})")


def problems(nb: dict) -> list[str]:
    """What is wrong with a committed notebook's JSON (empty list: nothing)."""
    found = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("execution_count") is not None:
            found.append(f"cell {i} has an execution count")
        for out in cell.get("outputs", []):
            if out.get("execution_count") is not None:
                found.append(f"cell {i} output has an execution count")
            if any(k.startswith("image/") for k in out.get("data", {})):
                found.append(f"cell {i} carries an image output")
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
    assert problems({"cells": [{"cell_type": "code", "execution_count": None,
                                "source": "x = 1", "outputs": []}]}) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_is_clean(path):
    assert problems(json.loads(path.read_text())) == []


@pytest.mark.parametrize("path", REPORTS, ids=[p.name for p in REPORTS])
def test_report_has_no_private_paths(path):
    assert PRIVATE.findall(path.read_text()) == []
