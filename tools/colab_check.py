"""Run notebooks the way Colab does, as far as that can be checked offline.

    python tools/colab_check.py                       # every notebook, smoke profile
    python tools/colab_check.py notebooks/07_well_leaks.ipynb --profile default

Colab opens a notebook from GitHub with no checkout beside it. For each notebook this copies the
file alone into an empty folder, puts a stand-in `google.colab` module in front of its first cell
(so the setup cell takes its Colab branch), points AEH_REPO at this repository (the branch clones
it; on Colab the URL is GitHub's) and runs every cell with nbclient. It passes when the package
is imported from the clone, the figures land in the clone's media folder and no cell fails.
What it cannot check offline: Colab's own Python and package versions, and its GPU.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO_ROOT = Path(__file__).resolve().parent.parent
STAND_IN = ('import sys, types\nsys.modules["google"] = types.ModuleType("google")\n'
            'sys.modules["google.colab"] = types.ModuleType("google.colab")  # as on Colab')
WHERE = 'import aehelpers\nprint("PACKAGE", aehelpers.__file__)\nprint("MEDIA", cfg.media_dir)'


def check(notebook: Path, profile: str) -> str:
    """Run one notebook Colab-style in a fresh folder; return a one-line result (raises on failure)."""
    folder = Path(tempfile.mkdtemp(prefix="colab-"))
    try:
        shutil.copy(notebook, folder)
        nb = nbformat.read(folder / notebook.name, as_version=4)
        setup = next(i for i, c in enumerate(nb.cells) if "config.setup(" in c.source)
        nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(WHERE))
        nb.cells.insert(0, nbformat.v4.new_code_cell(STAND_IN))
        env = {k: v for k, v in os.environ.items() if not k.startswith("AEH_")}
        env.update(AEH_REPO=str(REPO_ROOT), AEH_PROFILE=profile, MPLBACKEND="Agg")
        start = time.perf_counter()
        NotebookClient(nb, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute(env=env)
        printed = "".join(o.get("text", "") for o in nb.cells[setup + 2].outputs)
        clone = folder / "aehelpers-course"
        package = printed.split("PACKAGE ", 1)[1].split()[0]
        media = printed.split("MEDIA ", 1)[1].split()[0]
        assert Path(package).is_relative_to(clone), f"the package came from {package}, not the clone"
        assert Path(media).is_relative_to(clone) and any(Path(media).glob("*.png")), media
        return (f"{notebook.name}: ok in {time.perf_counter() - start:.0f} s, package and "
                f"{len(list(Path(media).glob('*.png')))} figures in the clone")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        default=sorted((REPO_ROOT / "notebooks").glob("[0-9]*.ipynb")))
    parser.add_argument("--profile", default="smoke", choices=["smoke", "default", "full"])
    args = parser.parse_args(argv)
    for nb in args.notebooks:
        print(check(nb.resolve(), args.profile), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
