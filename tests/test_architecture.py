"""Who may import whom (DESIGN: 'Who may import whom'): the package's import graph stays layered."""

import ast
from pathlib import Path

import aehelpers

PACKAGE = Path(aehelpers.__file__).parent

# module -> the package modules it may import; anything else is a new edge to think about
ALLOWED = {
    "config": set(), "sets": set(), "checkpoint": set(),
    "folders": {"config", "sets"}, "data": {"config", "sets", "folders"},
    "noise": {"config"}, "blocks": {"config"}, "losses": {"config"}, "metrics": {"config"},
    "models": {"blocks"}, "train": {"config", "checkpoint"},
    "plots": {"config", "printing"}, "printing": set(), "reports": {"config"}, "findings": {"reports"},
    "anomaly": {"config", "metrics", "train"}, "stats": {"anomaly"}, "baselines": {"anomaly"},
    "positions": {"config", "data", "sets", "train", "blocks", "models"},
    "gan": {"config", "blocks", "train"}, "faces": {"metrics"}, "wells": {"config", "data", "sets"},
    "evaluate": {"config", "metrics", "plots", "train"}, "debug": {"blocks"},
    # running notebooks and building the reports: never imported by a notebook
    "runs": {"config"}, "seeds": {"config", "runs"}, "spreads": {"config", "runs", "seeds", "reports"},
    "pdfs": {"config", "spreads", "findings"},
    "lit": set(),  # optional (Lightning): never imported by __init__
    "cli": {"config", "pdfs", "runs", "seeds", "spreads"},
}


def package_imports(path: Path) -> set[str]:
    """The aehelpers modules a file imports (relative imports: from . import x, from .x import y)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aehelpers"):
            found.add(node.module.split(".")[1] if "." in node.module else "aehelpers")
    return found


def test_every_module_imports_only_what_the_design_allows():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert modules == set(ALLOWED), "a module was added or removed: give it a row in ALLOWED"
    extra = {m: package_imports(PACKAGE / f"{m}.py") - ALLOWED[m] for m in modules}
    assert {m: e for m, e in extra.items() if e} == {}


def test_the_allowed_graph_has_no_cycle_and_the_checker_sees_imports(tmp_path):
    def reaches(node, target, seen=()):
        return any(dep == target or (dep not in seen and reaches(dep, target, seen + (dep,)))
                   for dep in ALLOWED[node])

    assert not any(reaches(m, m) for m in ALLOWED)
    probe = tmp_path / "probe.py"
    probe.write_text("from . import config, data\nfrom .models import ConvAE\nimport torch\n")
    assert package_imports(probe) == {"config", "data", "models"}
