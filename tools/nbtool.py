"""Notebook chores for developers: build a notebook from a percent-format script, strip outputs.

    python tools/nbtool.py py2nb notebooks/src.py notebooks/01_conv_ae.ipynb
    python tools/nbtool.py nb2py notebooks/01_conv_ae.ipynb /tmp/01.py     # edit, then py2nb back
    python tools/nbtool.py refresh notebooks/01_conv_ae.ipynb   # run in smoke, keep checked outputs

Percent format: a line "# %%" starts a code cell, "# %% [markdown]" a markdown cell (its lines
start with "# "), and "# %% tags=[\"parameters\"]" a tagged code cell. Committed notebooks keep
only the text outputs (and an execution count, which nbval needs) of cells marked
"# NBVAL_CHECK_OUTPUT"; nothing else, no figures: those live in media/.
"""

import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def py2nb(src: Path) -> nbformat.NotebookNode:
    cells, kind, tags, lines = [], None, [], []

    def flush():
        if kind is None:
            return
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            text = "\n".join(re.sub(r"^# ?", "", ln) for ln in text.splitlines())
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell(text)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    for line in src.read_text().splitlines():
        m = HEADER.match(line)
        if m:
            flush()
            kind = "markdown" if m.group("md") else "code"
            tags = json.loads(m.group("tags")) if m.group("tags") else []
            lines = []
        else:
            lines.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"},
                   "language_info": {"name": "python"}}
    return nb


def nb2py(nb) -> str:
    out = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags")
        suffix = f" tags={json.dumps(tags)}" if tags else ""
        if cell.cell_type == "markdown":
            out.append("# %% [markdown]" + suffix)
            out.extend(("# " + ln).rstrip() for ln in cell.source.splitlines())
        else:
            out.append("# %%" + suffix)
            out.append(cell.source)
        out.append("")
    return "\n".join(out)


def strip(nb, executed=None):
    """Drop outputs except text outputs of NBVAL_CHECK_OUTPUT cells (taken from `executed`).

    Checked cells are numbered 1, 2, ...: nbval refuses outputs on a cell without a count.
    """
    checked = 0
    if executed is not None:  # runs.execute adds an injected-parameters cell: drop it again
        executed.cells = [c for c in executed.cells
                          if "injected-parameters" not in c.metadata.get("tags", [])]
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        keep = []
        if "NBVAL_CHECK_OUTPUT" in cell.source:
            source = executed.cells[i] if executed is not None else cell
            for out in source.get("outputs", []):
                if out.output_type == "stream" and out.name == "stdout":
                    keep.append(out)
                elif out.output_type == "execute_result" and "text/plain" in out.data:
                    keep.append(nbformat.v4.new_output(
                        "execute_result", data={"text/plain": out.data["text/plain"]}))
        cell.outputs = keep
        if keep:
            checked += 1
            cell.execution_count = checked
    return nb


def main(argv):
    cmd, *args = argv
    if cmd == "py2nb":
        nbformat.write(strip(py2nb(Path(args[0]))), args[1])
    elif cmd == "nb2py":
        Path(args[1]).write_text(nb2py(nbformat.read(args[0], as_version=4)))
    elif cmd in ("strip", "refresh"):
        from aehelpers import runs

        for path in args:
            nb = nbformat.read(path, as_version=4)
            executed = None
            if cmd == "refresh":
                runs.execute(path, "smoke")
                executed = nbformat.read(ROOT / "build" / "executed" / "smoke" / Path(path).name,
                                         as_version=4)
            nbformat.write(strip(nb, executed), path)
            print(f"{cmd}: {path}")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
