"""findings: a section's finding, filled from the numbers the run has recorded."""

import json

import pytest

from aehelpers import findings, pdfs


def test_show_records_fills_and_returns_the_text(smoke_config, capsys):
    text = findings.show("BCE {{ bce:.3f }} over {{ steps }} steps, {{ table.low.0:.0% }}",
                         bce=0.08712, steps=500, table={"low": [0.25]})
    assert text == "BCE 0.087 over 500 steps, 25%"
    assert text in capsys.readouterr().out  # outside a notebook it is printed
    saved = json.loads((smoke_config.media_dir / "metrics.json").read_text())
    assert saved["bce"] == 0.08712 and saved["steps"] == 500


def test_show_reads_numbers_recorded_earlier_in_the_run(smoke_config):
    findings.show("first", floor=0.0580)
    assert findings.show("floor {{ floor:.4f }}") == "floor 0.0580"


def test_show_refuses_a_missing_number_and_keeps_the_recorded_ones(smoke_config):
    with pytest.raises(KeyError, match="typo"):
        findings.show("{{ typo }}", kept=1)
    saved = json.loads((smoke_config.media_dir / "metrics.json").read_text())
    assert saved["kept"] == 1  # nothing the run measured is lost


def test_reports_and_notebooks_share_one_filler():
    assert pdfs.fill is findings.fill
