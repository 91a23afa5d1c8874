"""The `steepest` command: run, info, potentials; errors are one sentence and exit code 2."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import steepest as st
from steepest.cli.app import app

EXAMPLES = Path(__file__).parents[1] / "examples"
runner = CliRunner()

SMALL = """
[energy]
expression = "(x**2 - 1)**2 + y**2"
[integrate]
method = "rk4"
step = 0.01
t1 = 2.0
[initial]
points = [[0.5, 0.5], [-0.5, -0.5]]
"""


def write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_run_writes_dataset_summary_and_plot(tmp_path):
    out = tmp_path / "out"
    r = runner.invoke(app, ["run", str(write(tmp_path, SMALL)), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} == {"solution.nc", "summary.json", "landscape.png"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == ["done", "done"]
    assert summary["steps"] == [200, 200]
    sol = st.load(out / "solution.nc")
    np.testing.assert_allclose(sol.x_final, summary["final_points"])
    assert sol.settings["scenario"]["energy"]["expression"] == "(x**2 - 1)**2 + y**2"


def test_t1_and_set_override(tmp_path):
    out = tmp_path / "o"
    args = [
        "run",
        str(write(tmp_path, SMALL)),
        "--out",
        str(out),
        "--no-plot",
        "--t1",
        "0.5",
        "--set",
        "integrate.step=0.05",
        "--set",
        'output.format="zarr"',
    ]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == [10, 10] and summary["settings"]["t1"] == 0.5
    assert (out / "solution.zarr").is_dir()


@pytest.mark.parametrize(
    "text, fragment",
    [
        (SMALL.replace("step = 0.01", "stpe = 0.01"), "integrate.stpe: unknown key"),
        (SMALL.replace("t1 = 2.0", "t1 = nan"), "integrate.t1: the value nan is not finite"),
        (SMALL.replace('"(x**2 - 1)**2 + y**2"', "\"__import__('os')\""), "'__import__'"),
        ("[energy\nname=1", "not valid TOML"),
    ],
)
def test_bad_scenarios_exit_2_with_one_sentence(tmp_path, text, fragment):
    out = tmp_path / "o"
    r = runner.invoke(app, ["run", str(write(tmp_path, text)), "--out", str(out)])
    assert r.exit_code == 2
    assert fragment in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_missing_file(tmp_path):
    r = runner.invoke(app, ["run", str(tmp_path / "nope.toml")])
    assert r.exit_code == 2 and "no file" in r.output


def test_divergence_keeps_data_and_exits_1(tmp_path):
    text = SMALL.replace("step = 0.01", "step = 0.8")
    out = tmp_path / "o"
    r = runner.invoke(app, ["run", str(write(tmp_path, text)), "--out", str(out), "--no-plot"])
    assert r.exit_code == 1
    assert "exceeds the stability limit" in r.output
    summary = json.loads((out / "summary.json").read_text())
    assert "energy-increase" in summary["status"]
    assert st.load(out / "solution.nc").status.shape == (2,)


def test_info_and_potentials():
    r = runner.invoke(app, ["info"])
    assert r.exit_code == 0 and "float64: on" in r.output and "jax " in r.output
    assert "devices:" in r.output
    r = runner.invoke(app, ["potentials"])
    assert r.exit_code == 0 and "muller-brown" in r.output and "rastrigin" in r.output
