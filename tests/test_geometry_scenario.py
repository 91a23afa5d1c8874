"""`steepest run` for [geometry] scenarios: outputs, checks, and one-sentence errors."""

import json

import pytest
from typer.testing import CliRunner

from steepest.cli.app import app


def _write(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def test_a_geometry_scenario_writes_its_outputs_and_honours_set_and_t1(tmp_path):
    p = _write(
        tmp_path,
        '[geometry]\nflow = "curve-shortening"\nn_save = 5\n'
        '[geometry.shape]\nkind = "circle"\nn = 48\n',
    )
    out = tmp_path / "out"
    r = CliRunner().invoke(
        app, ["run", str(p), "--out", str(out), "--t1", "0.2", "--set", "geometry.shape.n=40"]
    )
    assert r.exit_code == 0, r.output
    s = json.loads((out / "summary.json").read_text())
    assert s["kind"] == "geometry" and s["exit_code"] == 0
    assert s["checks"] and all(s["checks"].values())
    assert s["t_final"] == pytest.approx(0.2)
    assert s["stats"]["vertices"] == 40
    # the circle loses area at exactly 2π per unit time: r² = r0² − 2t
    a0, a1 = s["diagnostics_first_last"]["area"]
    assert a0 - a1 == pytest.approx(2 * 3.141592653589793 * 0.2, rel=0.02)
    assert (out / "geometry.png").stat().st_size > 10_000
    assert (out / "solution.nc").is_file()


@pytest.mark.parametrize(
    "text, words",
    [
        ('[geometry]\nflow = "curve-shortnening"\n', "geometry.flow: expected one of"),
        ('[geometry]\nflow = "curve-shortening"\nstpe = 0.1\n', "did you mean geometry.step"),
        ('[geometry]\nflow = "ricci"\n[geometry.shape]\nkind = "peanut"\n', "shape.kind"),
        ('[geometry]\nflow = "mean-curvature"\nt1 = "soon"\n', "geometry.t1: expected a number"),
        (
            '[geometry]\nflow = "curve-shortening"\n[geometry.shape]\nkind = "points"\n'
            "points = [[0, 0], [1, 1], [1, 0], [0, 1]]\n",
            "intersects itself",
        ),
        (
            '[geometry]\nflow = "normalized-ricci"\n[geometry.shape]\nkind = "icosphere"\n'
            'u0 = "__import__(1)"\n',
            "geometry.shape.u0",
        ),
    ],
)
def test_bad_geometry_scenarios_fail_with_one_sentence(tmp_path, text, words):
    r = CliRunner().invoke(app, ["run", str(_write(tmp_path, text)), "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert words in " ".join(r.output.split()), r.output
    assert "Traceback" not in r.output
