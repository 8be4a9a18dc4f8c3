"""runs (source hashes, stamps, skipping current notebooks), seeds (the seeds run, carrying it
over a refactor) and spreads (each number over the seeds, the seeds report)."""

import json

import nbformat
import pytest

from aehelpers import cli, config, pdfs, runs, seeds, spreads

TINY = """import os
from aehelpers import config, reports
cfg = config.setup("tiny", profile=PROFILE, seed=SEED)
assert SEED != 3, "seed 3 breaks"
reports.record(headline={"acc": 0.9 + 0.01 * SEED, "word": "lower" if SEED % 2 else "tie",
                         "diff": {"2": SEED - 1.5}},
               threads=os.environ.get("OMP_NUM_THREADS"), curve=list(range(10)))"""


def tiny_notebook(path, code=TINY):
    params = nbformat.v4.new_code_cell("PROFILE = None\nSEED = 0")
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# tiny"), params,
                                         nbformat.v4.new_code_cell(code)])
    nbformat.write(nb, path)
    return path


def test_package_modules_follow_imports_through_the_package(tmp_path):
    nb = tiny_notebook(tmp_path / "a.ipynb", "from aehelpers import (gan,  # the GAN\n  reports)\n")
    modules = runs.package_modules(nb)
    # gan imports config, blocks and train; train imports checkpoint
    assert {"gan", "reports", "config", "blocks", "train", "checkpoint"} <= set(modules)
    assert "wells" not in modules and "anomaly" not in modules


def test_source_hash_follows_code_not_outputs(tmp_path):
    nb_path = tiny_notebook(tmp_path / "a.ipynb")
    before = runs.source_hash(nb_path)
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi")]
    nbformat.write(nb, nb_path)
    assert runs.source_hash(nb_path) == before  # outputs decide nothing
    nb.cells[2].source += "\nx = 1"
    nbformat.write(nb, nb_path)
    assert runs.source_hash(nb_path) != before


def test_source_hash_follows_an_imported_module(tmp_path, monkeypatch):
    package = tmp_path / "aehelpers"
    package.mkdir()
    for name in ("__init__", "reports", "config", "wells"):
        (package / f"{name}.py").write_text(f"# {name}\n" + ("from . import config\n"
                                                            if name == "reports" else ""))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "SHA256SUMS").write_text("abc  x\n")
    monkeypatch.setattr(runs, "PACKAGE", package)
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    nb = tiny_notebook(tmp_path / "a.ipynb", "from aehelpers import reports")
    before = runs.source_hash(nb)
    (package / "wells.py").write_text("# changed, but a.ipynb does not import it\n")
    assert runs.source_hash(nb) == before
    (package / "config.py").write_text("# changed: reports imports it\n")
    assert runs.source_hash(nb) != before
    after = runs.source_hash(nb)
    (tmp_path / "data" / "SHA256SUMS").write_text("abd  x\n")
    assert runs.source_hash(nb) != after


def test_execute_stamps_and_is_current(tmp_path):
    nb = tiny_notebook(tmp_path / "tiny.ipynb")
    media = tmp_path / "media"
    out = runs.execute(nb, "default", out_dir=tmp_path / "out", seed=2, media=media, threads=1)
    metrics = json.loads((media / "tiny" / "metrics.json").read_text())
    assert metrics["seed"] == 2 and metrics["threads"] == "1"
    assert metrics["run"]["hash"] == runs.source_hash(nb) and metrics["run"]["seconds"] == out["seconds"]
    assert runs.stamp(nb, media=media)["profile"] == "default"


def test_recorded_threads_reads_the_stamp_unless_the_environment_sets_them(monkeypatch, tmp_path):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(runs, "stamp", lambda nb, profile: {"threads": 1} if nb == "a" else {})
    assert runs.recorded_threads("a") == 1 and runs.recorded_threads("b") is None
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert runs.recorded_threads("a") == 2


def test_execute_all_skips_a_current_notebook(monkeypatch, capsys, tmp_path):
    calls, caps = [], []
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)  # its timings log, not the repository's
    monkeypatch.setattr(runs, "is_current", lambda nb, profile: nb == "same.ipynb")
    monkeypatch.setattr(runs, "source_hash", lambda nb: "h")
    monkeypatch.setattr(runs, "recorded_threads", lambda nb, profile: 1)
    monkeypatch.setattr(runs, "execute", lambda nb, profile, threads: calls.append(nb) or
                        caps.append(threads) or {"notebook": "x", "profile": profile, "seconds": 0.0})
    cli._execute_all(["same.ipynb", "changed.ipynb"], "smoke", force=False)
    assert calls == ["changed.ipynb"] and "not run" in capsys.readouterr().out
    cli._execute_all(["same.ipynb"], "smoke", force=True)
    assert calls == ["changed.ipynb", "same.ipynb"] and caps == [1, 1]  # the recorded thread cap
    assert (tmp_path / "build" / "timings-smoke.json").exists()


def test_seeds_run_records_crashes_resumes_and_spreads(tmp_path, capsys, monkeypatch):
    differences = tmp_path / "differences.json"
    differences.write_text(json.dumps({"tiny": {"acc_minus_diff": ["headline.acc", "headline.diff.2"]}}))
    monkeypatch.setattr(spreads, "DIFFERENCES_JSON", differences)
    nb = tiny_notebook(tmp_path / "tiny.ipynb")
    path = tmp_path / "seeds.json"
    seeds.run_seeds([nb], seeds=[0, 1, 2, 3], jobs=2, path=path, scratch=tmp_path / "m")
    entry = json.loads(path.read_text())["notebooks"]["tiny"]
    assert entry["hash"] == runs.source_hash(nb) and set(entry["runs"]) == {"0", "1", "2", "3"}
    assert entry["runs"]["3"]["status"] == "crashed" and "seed 3 breaks" in entry["runs"]["3"]["error"]
    assert entry["runs"]["1"]["headline"]["acc"] == pytest.approx(0.91)
    assert "curve.0" not in entry["runs"]["1"]["numbers"]  # curves stay out
    assert "[1/4]" in capsys.readouterr().out

    seeds.run_seeds([nb], seeds=[0, 1, 2, 3], jobs=1, path=path, scratch=tmp_path / "m")
    assert "1 run(s) to do" in capsys.readouterr().out  # only the crashed one again

    spread = spreads.spreads("tiny", {"run": {"hash": entry["hash"]}}, path=path)
    acc = spread["headline"]["acc"]
    assert (acc["n"], acc["min"], acc["max"]) == (3, pytest.approx(0.90), pytest.approx(0.92))
    assert format(acc, ".2f") == "0.90 to 0.92 over 3 seeds, median 0.91; 1 more crashed"
    assert str(spread["headline"]["word"]).startswith('"tie" in 2, "lower" in 1 of 3 seeds')
    assert spread["headline"]["diff"]["2"]["sign"] == "on both sides of zero (2 of 3 seeds below)"
    paired = spread["diff"]["acc_minus_diff"]  # per seed: 0.9 + 0.01 s - (s - 1.5)
    assert paired["values"] == pytest.approx([2.4, 1.41, 0.42])
    assert paired["sign"] == "above zero in every seed"
    with pytest.raises(KeyError):
        pdfs.fill("{{ seeds.headline.typo }}", {"seeds": spread})

    stale = spreads.spreads("tiny", {"run": {"hash": "other"}}, path=path)
    assert format(stale["headline"]["acc"], ".2f").startswith("stale")
    assert pdfs.fill("{{ seeds.headline.new_key:.2f }}", {"seeds": stale}).startswith("stale")
    missing = spreads.spreads("x", path=path)
    assert "not yet run" in pdfs.fill("{{ seeds.headline.acc:.1f }}", {"seeds": missing})


def test_carry_keeps_the_seeds_only_where_the_new_code_reproduces_seed_0(tmp_path, monkeypatch):
    media = tmp_path / "media"
    monkeypatch.setenv(config.MEDIA_ENV, str(media))  # media/ of this test
    nb = tiny_notebook(tmp_path / "tiny.ipynb")
    runs.execute(nb, "default", seed=0, media=media)
    seed0 = seeds._from_media(nb, runs.stamp(nb))
    old_hash, path = runs.source_hash(nb), tmp_path / "seeds.json"
    recorded = {"0": seed0, "1": {**seed0, "from": None, "headline": {"acc": 0.91}}}
    path.write_text(json.dumps({"notebooks": {"tiny": {"hash": old_hash, "runs": recorded}}}))
    assert seeds.carry_seeds([nb], path) == {"tiny": "current already"}

    def edit(code=TINY, title="# tiny"):  # the notebook's sources change, and with them its hash
        nbk = nbformat.read(nb, as_version=4)
        nbk.cells[0].source, nbk.cells[2].source = title, code
        nbformat.write(nbk, nb)

    edit(title="# tiny, retitled")  # a refactor: other sources, the same numbers
    assert seeds.carry_seeds([nb], path)["tiny"].startswith("not carried: media/ has no default")
    runs.execute(nb, "default", seed=0, media=media)
    before = path.read_text()
    edit(TINY.replace("0.9 + 0.01", "0.8 + 0.01"))  # other numbers: nothing may carry
    runs.execute(nb, "default", seed=0, media=media)
    assert seeds.carry_seeds([nb], path)["tiny"] == (
        "not carried: seed 0 differs in 1 numbers (headline.acc)")
    assert path.read_text() == before
    edit(title="# tiny, retitled")
    runs.execute(nb, "default", seed=0, media=media)
    assert seeds.carry_seeds([nb], path) == {"tiny": f"carried 1 runs from {old_hash}"}
    entry = json.loads(path.read_text())["notebooks"]["tiny"]
    assert entry["hash"] == runs.source_hash(nb) != old_hash
    assert entry["runs"]["1"] == {**recorded["1"], "carried_from": old_hash}
    assert "carried_from" not in entry["runs"]["0"]
    assert seeds.differences(entry["runs"]["0"], seed0) == []
    assert spreads.spreads("tiny", {"run": {"hash": entry["hash"]}}, path)["headline"]["acc"]["n"] == 2


def test_differences_name_the_numbers_that_changed_and_ignore_times():
    a = {"headline": {"acc": 0.9, "word": "tie", "nan": float("nan")},
         "numbers": {"train_seconds": 3.0, "n": 5}}
    b = {"headline": {"acc": 0.9, "word": "lower", "nan": float("nan")},
         "numbers": {"train_seconds": 4.0, "n": 5, "new": 1}}
    assert seeds.differences(a, a) == [] and seeds.differences(a, b) == ["headline.word", "new"]


def test_spread_counts_targets_and_signs():
    met = [spreads.meets({"a": v}, "a", {"at_least": 0.9}) for v in (0.95, 0.85, 0.91)]
    spread = spreads.Spread([0.95, 0.85, 0.91], met, {"at_least": 0.9})
    assert format(spread, ".2f").endswith("2 of 3 meet ≥ 0.90")
    assert format(spreads.Spread([1.0, 1.0, 0.9996]), ".3f") == "1.000 in all 3 seeds"
    assert spreads.Spread([-2.0, -1.0])["sign"] == "below zero in every seed"
    assert spreads.Spread([1.0, 0.5])["sign"] == "above zero in every seed"
    assert spreads.meets({"ours": 110.0, "peer": 115.0}, "ours", {"below": "peer"}) is True
    assert spreads.meets({"ours": 120.0, "peer": 115.0}, "ours", {"below": "peer"}) is False
    assert spreads.meets({"ours": "n/a"}, "ours", {"at_most": 1}) is None


def test_seeds_fields_tables_and_missed_targets(tmp_path, monkeypatch):
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    nb = tiny_notebook(nb_dir / "tiny.ipynb")
    runs_ = {str(s): {"status": "ok", "seconds": 10.0, "started": 100.0 * s,
                      "headline": {"acc": 0.88 + 0.01 * s}, "numbers": {}} for s in range(5)}
    path = tmp_path / "seeds.json"
    path.write_text(json.dumps({"notebooks": {"tiny": {"hash": runs.source_hash(nb), "runs": runs_}}}))
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"tiny": {"headline.acc": {"at_least": 0.9}}}))
    monkeypatch.setattr(spreads, "TARGETS_JSON", targets)
    fields = spreads.seeds_fields(path, nb_dir)
    assert "| tiny | acc | ≥ 0.90 | 0.9 | 0.88 to 0.92 | 3 of 5 |" in fields["tables"]["targets"]
    assert fields["missed"] == "tiny: acc (3 of 5 seeds)" and fields["n_met"] == 0
    assert fields["wall_minutes"] == pytest.approx((400 + 10) / 60, abs=0.05)
    assert "(current)" in fields["tables"]["runs"]
    assert fields["mixed_threads"] == "none" and "| all |" in fields["tables"]["runs"]
    assert fields["how_run"] == "run one at a time, each on all the machine's cores"
    runs_["3"]["threads"] = runs_["4"]["threads"] = 1  # two seeds run side by side
    path.write_text(json.dumps({"notebooks": {"tiny": {"hash": runs.source_hash(nb), "runs": runs_}}}))
    fields = spreads.seeds_fields(path, nb_dir)
    assert fields["mixed_threads"] == "tiny" and "| all, all, all, 1, 1 |" in fields["tables"]["runs"]
    assert "except tiny seeds 3, 4" in fields["how_run"]
    assert fields["carried"] == "none"
    runs_["2"]["carried_from"] = "abc"  # a refactor reproduced seed 0: seed 2 kept its old run
    path.write_text(json.dumps({"notebooks": {"tiny": {"hash": runs.source_hash(nb), "runs": runs_}}}))
    fields = spreads.seeds_fields(path, nb_dir)
    assert fields["carried"] == "tiny seeds 2 (ran at abc)" and "(seeds carried)" in fields["tables"]["runs"]


def test_build_all_rebuilds_only_stale_pdfs_and_leaves_no_failing_one(tmp_path, monkeypatch):
    md = tmp_path / "benchmarks.md"
    md.write_text('---\ntitle: "b"\n---\n\nbody\n')
    source = tmp_path / "metrics.json"
    source.write_text("{}")
    built, problems = [], []
    monkeypatch.setattr(cli, "pdf_inputs", lambda md_, name: [md_, source])
    monkeypatch.setattr(pdfs, "build", lambda md_, pdf_path: built.append(md_) or
                        pdf_path.write_text("pdf"))
    monkeypatch.setattr(pdfs, "check_pdf", lambda pdf, md_: list(problems))
    assert cli._build_all([md], strict=True) == 0 and len(built) == 1
    assert cli._build_all([md], strict=True) == 0 and len(built) == 1  # newer than its inputs
    import os
    later = md.with_suffix(".pdf").stat().st_mtime + 10
    os.utime(source, (later, later))
    assert cli._build_all([md], strict=True) == 0 and len(built) == 2  # an input changed
    assert cli._build_all([md], strict=True, force=True) == 0 and len(built) == 3
    problems.append("page 1 is half empty")
    assert cli._build_all([md], strict=True, force=True) == 1
    assert not md.with_suffix(".pdf").exists()  # removed, so the next run builds and fails again


def test_differences_set_times_aside_wherever_they_sit():
    a = {"headline": {"acc": 0.9}, "numbers": {"timing_seconds": 1.0, "loop_microseconds_range.0": 5}}
    b = {"headline": {"acc": 0.9}, "numbers": {"timing_seconds": 2.0, "loop_microseconds_range.0": 7}}
    assert seeds.differences(a, b) == []
    assert seeds.differences(a, {**b, "headline": {"acc": 0.8}}) == ["headline.acc"]
