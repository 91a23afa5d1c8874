"""Every example runs: the TOML scenarios through the CLI, the scripts as programs."""

import json
import runpy
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from steepest.cli.app import RUNNERS, app

EXAMPLES = Path(__file__).parents[1] / "examples"


def _kind(path: Path) -> str | None:
    import tomllib

    data = tomllib.loads(path.read_text())
    return next((t for t in RUNNERS if t in data), None)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_scenario_example_runs(path, tmp_path):
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    if _kind(path) is None:  # a flow on Rⁿ
        assert all(s in ("done", "converged") for s in summary["status"])
        assert summary["stats"]["energy_monotone"]
        assert (tmp_path / "landscape.png").stat().st_size > 10_000
    else:  # a field, geometry or learning run: every invariant it checked holds
        assert summary["kind"] == _kind(path)
        assert summary["exit_code"] == 0
        assert summary["checks"] and all(summary["checks"].values()), summary["checks"]
        assert any(p.suffix == ".png" for p in tmp_path.iterdir())


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.stem)
def test_script_example_runs(path, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(path), str(tmp_path)])
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out
