"""Every example runs: the TOML scenarios through the CLI, the scripts as programs."""

import json
import runpy
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from steepest.cli.app import app

EXAMPLES = Path(__file__).parents[1] / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_scenario_example_runs(path, tmp_path):
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert all(s in ("done", "converged") for s in summary["status"])
    assert summary["stats"]["energy_monotone"]
    assert (tmp_path / "landscape.png").stat().st_size > 10_000


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.stem)
def test_script_example_runs(path, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(path), str(tmp_path)])
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out
