"""The Colab branch of every notebook's setup cell, run here with a stand-in `google.colab`.

Opened from GitHub in Colab, a notebook has no checkout: its first code cell clones the course
and puts the clone first on sys.path, so `config` finds data/ and writes media/ inside the clone
(a `pip install` from git would copy the package into site-packages, away from data/). Here the
clone comes from this repository (AEH_REPO, a local path: no network) into a fresh folder.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aehelpers import config

ROOT = config.REPO_ROOT
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def colab_branch(notebook: Path) -> str:
    """The `if "google.colab" in sys.modules:` block of the notebook's first cell that has one."""
    for cell in json.loads(notebook.read_text())["cells"]:
        lines = "".join(cell["source"]).splitlines()
        for i, line in enumerate(lines):
            if line.startswith('if "google.colab" in sys.modules'):
                body = [line]
                for rest in lines[i + 1:]:
                    if rest and not rest.startswith(" "):
                        break
                    body.append(rest)
                return "\n".join(body)
    raise AssertionError(f"{notebook.name} has no Colab branch in its setup cell")


def test_every_notebook_has_the_same_colab_branch_and_it_installs_nothing_with_pip():
    branches = {nb.name: colab_branch(nb) for nb in NOTEBOOKS}
    assert len(branches) == 7 and len(set(branches.values())) == 1, "the setup cells differ"
    branch = next(iter(branches.values()))
    assert "pip" not in branch and "sys.path.insert(0" in branch and "git" in branch


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the repository's git history")
def test_the_colab_branch_clones_the_course_and_setup_finds_its_data(tmp_path):
    script = textwrap.dedent('''
        import sys, types
        sys.modules["google"] = types.ModuleType("google")
        sys.modules["google.colab"] = types.ModuleType("google.colab")  # as Colab's kernel has
        ''') + colab_branch(NOTEBOOKS[0]) + textwrap.dedent('''
        from pathlib import Path
        import aehelpers
        from aehelpers import config, data
        clone = Path("aehelpers-course").resolve()
        assert Path(aehelpers.__file__).resolve().parent == clone / "aehelpers", aehelpers.__file__
        cfg = config.setup("07_well_leaks", profile="smoke", seed=0)
        assert str(cfg.media_dir).startswith(str(clone)), cfg.media_dir
        print(len(data.mnist_splits("smoke")[0]), "digits from", config.data_root())
        ''')
    env = {k: v for k, v in os.environ.items() if not k.startswith("AEH_")}
    env["AEH_REPO"] = str(ROOT)  # a local clone: the test needs no network
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert str(tmp_path / "aehelpers-course" / "data") in run.stdout
    # a second run of the cell (Colab re-runs cells) finds the clone and does not clone again
    again = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
