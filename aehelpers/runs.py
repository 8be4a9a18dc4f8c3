"""Running the notebooks: once, only where something changed, or once per seed; and what each ran.

    python -m aehelpers execute notebooks/*.ipynb      # reruns a notebook only if its sources changed
    python -m aehelpers execute --force notebooks/*.ipynb
    python -m aehelpers seeds --seeds 0 1 2 3 4 notebooks/*.ipynb   # or: make seeds
    python -m aehelpers build reports/*.md             # the PDFs (see pdfs)

A notebook's **source hash** covers its cells, the package modules it imports (and theirs,
read from the import lines), `aehelpers/__init__.py` and the shipped data (data/SHA256SUMS). A run
stamps it into media/<notebook>/metrics.json (`run`); `execute` skips a notebook whose stamp
matches, so a second `make reports` with nothing changed runs no notebook.

`seeds` runs each notebook once per seed on top of these; `cli` is the command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from pathlib import Path

from . import config

PACKAGE = config.REPO_ROOT / "aehelpers"

# ---------------------------------------------------------------------------- one run


def inject_parameters(nb, **params):
    """Insert a cell setting params after the cell tagged "parameters" (papermill's convention).

    The notebook then runs with those values whatever the environment says, exactly as
    `papermill in.ipynb out.ipynb -p PROFILE full` would run it.
    """
    import nbformat

    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    if not tagged:
        raise ValueError("the notebook has no cell tagged 'parameters' to inject values after")
    source = "# Injected parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(tagged[0] + 1, cell)
    return nb


def execute(notebook, profile: str = "default", out_dir=None, timeout: int = 1800, seed=None,
            media=None, threads: int | None = None) -> dict:
    """Run a notebook top to bottom in a profile (and seed); stamp its metrics.json; return the time (s).

    `media` sends its figures and metrics elsewhere than media/ (the kernel reads $AEH_MEDIA);
    `threads` caps the kernel's CPU threads (OMP_NUM_THREADS), for runs side by side.
    The executed copy is saved under build/executed/<profile>/, even when a cell fails.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = Path(notebook).resolve()
    out_dir = Path(out_dir or config.REPO_ROOT / "build" / "executed" / profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    params = {"PROFILE": profile} if seed is None else {"PROFILE": profile, "SEED": seed}
    nb = inject_parameters(nbformat.read(notebook, as_version=4), **params)
    env = dict(os.environ)
    env.pop(config.MEDIA_ENV, None)
    if media is not None:
        env[config.MEDIA_ENV] = str(media)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}})
    start = time.perf_counter()
    try:
        client.execute(env=env)
    finally:
        name = notebook.name if seed is None else f"{notebook.stem}_seed{seed}.ipynb"
        nbformat.write(nb, out_dir / name)  # keep the outputs, even of a failed run
    seconds = round(time.perf_counter() - start, 1)
    metrics_path = Path(media or config.media_root(profile)) / notebook.stem / "metrics.json"
    if metrics_path.exists():
        metrics = json.loads(metrics_path.read_text())
        metrics["run"] = {"hash": source_hash(notebook), "commit": git_commit(),
                          "seconds": seconds, "profile": profile, "threads": thread_cap(threads)}
        metrics_path.write_text(json.dumps(metrics, indent=1, sort_keys=True))
    return {"notebook": notebook.stem, "profile": profile, "seconds": seconds}


def thread_cap(threads: int | None = None) -> int | None:
    """The CPU threads a kernel runs on: `threads`, else $OMP_NUM_THREADS, else None (all)."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    return threads or (int(env) if env.isdigit() else None)


# ---------------------------------------------------------------------------- what a run depends on

IMPORT_NAMES = re.compile(r"from\s+aehelpers\s+import\s+(\([^)]*\)|[^\n]*)")
DOTTED = re.compile(r"(?:from\s+aehelpers|import\s+aehelpers)\.(\w+)")
RELATIVE = re.compile(r"^from\s+\.(\w*)\s+import\s+(\([^)]*\)|[^\n]*)", re.M)


def _names(group: str) -> set[str]:
    """The imported names of `a, b as c, (d, e)  # comment` lines."""
    group = re.sub(r"#[^\n]*", "", group).strip("() \n")
    return {part.split(" as ")[0].strip() for part in group.replace("\n", " ").split(",")} - {""}


def package_modules(notebook) -> list[str]:
    """The aehelpers modules a notebook imports, directly or through the modules it imports (sorted)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    todo = set(DOTTED.findall(code))
    for group in IMPORT_NAMES.findall(code):
        todo |= _names(group)
    seen = set()
    while todo:
        name = todo.pop()
        path = PACKAGE / f"{name}.py"
        if name in seen or not path.exists():  # a function imported by name, not a module
            continue
        seen.add(name)
        for module, group in RELATIVE.findall(path.read_text()):
            todo |= {module} if module else _names(group)
    return sorted(seen)


def source_hash(notebook) -> str:
    """16 hex digits over the notebook's code and markdown, the package modules it imports,
    aehelpers/__init__.py and the shipped data's checksums: what decides its numbers."""
    import nbformat

    h = hashlib.sha256()
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:  # sources only: committed outputs change nothing the run computes
        h.update(f"{cell.cell_type}\0{cell.source}\0".encode())
    files = [PACKAGE / "__init__.py"] + [PACKAGE / f"{m}.py" for m in package_modules(notebook)]
    files.append(config.REPO_ROOT / "data" / "SHA256SUMS")
    for path in files:
        h.update(f"{path.relative_to(config.REPO_ROOT)}\0".encode() + path.read_bytes())
    return h.hexdigest()[:16]


def git_commit() -> str:
    """The checked-out commit (12 hex digits, '+' when the tree has changes), or 'unknown'."""
    try:
        run = lambda *a: subprocess.run(["git", *a], cwd=config.REPO_ROOT, capture_output=True,
                                        text=True, check=True).stdout.strip()
        return run("rev-parse", "--short=12", "HEAD") + ("+" if run("status", "--porcelain") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def stamp(notebook, profile: str = "default", media=None) -> dict:
    """The `run` stamp in the notebook's metrics.json ({} where it has none)."""
    path = Path(media or config.media_root(profile)) / Path(notebook).stem / "metrics.json"
    return json.loads(path.read_text()).get("run", {}) if path.exists() else {}


def is_current(notebook, profile: str = "default") -> bool:
    """True when media/ holds a run of this profile at the notebook's current source hash."""
    run = stamp(notebook, profile)
    return run.get("profile") == profile and run.get("hash") == source_hash(notebook)


def recorded_threads(notebook, profile: str = "default") -> int | None:
    """The thread cap of the run media/ holds for this notebook ($OMP_NUM_THREADS overrides it):
    a rerun on the same cap computes in the same float order, so a refactor reproduces it exactly."""
    return thread_cap() or stamp(notebook, profile).get("threads")
