"""Every notebook's smoke profile on a CUDA GPU, when one is present (skipped otherwise).

CI runs the notebooks on the CPU only (nbval), where a tensor left on the wrong device cannot
fail; on a GPU the same run breaks at the first model called on a CPU tensor. Run them with
`pytest -m cuda tests/test_notebooks_cuda.py` on a machine with a GPU (e.g. Colab).
"""

import json
from pathlib import Path

import pytest
import torch

from aehelpers import config, runs

NOTEBOOKS = sorted((config.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_smoke_runs_on_cuda(notebook, tmp_path):
    timing = runs.execute(notebook, profile="smoke", out_dir=tmp_path)
    executed = json.loads((tmp_path / Path(notebook).name).read_text())
    printed = "".join("".join(o.get("text", "")) for c in executed["cells"]
                      for o in c.get("outputs", []))
    assert "device=cuda" in printed, "config.setup did not pick the GPU"
    assert timing["seconds"] > 0


def test_every_notebook_is_collected_for_the_cuda_run():
    # the parametrisation above must see all seven notebooks, even where it skips them
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07"]
