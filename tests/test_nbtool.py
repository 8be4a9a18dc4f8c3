"""tools/nbtool.py: a notebook survives nb2py -> py2nb unchanged, and strip keeps only checked text."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("nbtool", ROOT / "tools" / "nbtool.py")
nbtool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nbtool)


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_round_trip_keeps_every_cell(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    script = tmp_path / "nb.py"
    script.write_text(nbtool.nb2py(nb))
    back = nbtool.py2nb(script)
    assert [c.cell_type for c in back.cells] == [c.cell_type for c in nb.cells]
    for a, b in zip(nb.cells, back.cells):
        assert a.source.strip() == b.source.strip()
        assert a.metadata.get("tags", []) == b.metadata.get("tags", [])


def test_strip_keeps_only_the_text_of_checked_cells():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)", execution_count=7, outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="1\n"),
            nbformat.v4.new_output("display_data", data={"image/png": "iVB"})]),
        nbformat.v4.new_code_cell("print(2)", execution_count=8, outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="2\n")])])
    out = nbtool.strip(nb)
    assert [o.output_type for o in out.cells[0].outputs] == ["stream"]
    assert out.cells[0].execution_count == 1  # nbval needs a count on a checked cell
    assert out.cells[1].outputs == [] and out.cells[1].execution_count is None
