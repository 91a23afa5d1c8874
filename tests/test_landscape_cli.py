"""`steepest landscape`: the atlas files, and --json on standard output."""

import json

import numpy as np
from typer.testing import CliRunner

from steepest.cli.app import app

runner = CliRunner()


def test_json_lists_the_critical_points():
    r = runner.invoke(app, ["landscape", "double-well", "--json"])
    assert r.exit_code == 0, r.output
    pts = json.loads(r.output)
    assert sorted(p["kind"] for p in pts) == ["minimum", "minimum", "saddle"]
    for p in pts:
        assert set(p) == {"x", "energy", "kind", "index", "eigenvalues"}
    saddle = next(p for p in pts if p["kind"] == "saddle")
    np.testing.assert_allclose(saddle["x"], [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(sorted(saddle["eigenvalues"]), [-4.0, 2.0], atol=1e-10)


def test_atlas_files(tmp_path):
    r = runner.invoke(
        app, ["landscape", "himmelblau", "--out", str(tmp_path), "--resolution", "60"]
    )
    assert r.exit_code == 0, r.output
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {
        "critical_points.json",
        "manifolds.json",
        "basins.nc",
        "atlas.png",
        "disconnectivity.png",
    }
    data = json.loads((tmp_path / "critical_points.json").read_text())
    assert len(data["points"]) == 9 and data["morse_check"]["holds"]
    mf = json.loads((tmp_path / "manifolds.json").read_text())
    assert len(mf) == 4


def test_unknown_name_is_one_sentence():
    r = runner.invoke(app, ["landscape", "himmelblow"])
    assert r.exit_code == 2 and "unknown potential" in r.output and "Traceback" not in r.output
