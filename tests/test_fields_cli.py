"""`steepest run` of [field] scenarios: PFHub 1a's free_energy.csv, overrides, transport runs,
key validation that names the key, `steepest resume` refusals."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from steepest.cli.app import app

EXAMPLES = Path(__file__).parents[1] / "examples"


def _run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def spinodal(tmp_path_factory):
    out = tmp_path_factory.mktemp("spinodal")
    r = _run("run", EXAMPLES / "spinodal.toml", "--out", out)
    assert r.exit_code == 0, r.output
    return out, r.output


def test_spinodal_writes_pfhub_free_energy_csv(spinodal):
    out, output = spinodal
    lines = (out / "free_energy.csv").read_text().splitlines()
    assert lines[0] == "time,free_energy"
    t, F = np.loadtxt(lines[1:], delimiter=",").T
    assert t[0] == 0 and t[-1] == 50 and np.all(np.diff(t) > 0)
    assert 319.03 <= F[0] <= 319.25  # PFHub 1a's published spread of F(0)
    assert np.all(np.diff(F) < 0)  # F decreases at every recorded time
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "field" and summary["exit_code"] == 0
    assert summary["checks"]["pfhub1a_F0_in_[319.03,319.25]"] and all(summary["checks"].values())
    assert abs(summary["mass_final"] - summary["mass_initial"]) <= 1e-12 * summary["mass_initial"]
    for name in ("energy.png", "fields.png"):
        assert (out / name).stat().st_size > 10_000
    anim = [p for p in out.iterdir() if p.suffix in (".gif", ".mp4")]
    assert anim and anim[0].stat().st_size > 10_000
    assert "not periodic" in output  # the benchmark's non-periodic data are noted, not hidden


def test_overrides_and_a_finished_run_resumes_to_nothing(spinodal, tmp_path):
    out = tmp_path / "short"
    r = _run(
        "run", EXAMPLES / "spinodal.toml", "--out", out, "--t1", "4",
        "--set", "field.shape=[32, 32]", "--set", "output.field_every=2.0", "--no-plot",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    s = json.loads((out / "summary.json").read_text())
    assert s["t_final"] == 4.0 and not any(p.suffix == ".png" for p in out.iterdir())
    # the same output directory again is refused (the run is there), and resume finds it done
    r = _run("run", EXAMPLES / "spinodal.toml", "--out", out, "--t1", "4")
    assert r.exit_code == 2 and "already holds a run" in r.output
    r = _run("resume", out)
    assert r.exit_code == 0, r.output
    assert (
        json.loads((out / "summary.json").read_text())["free_energy_final"]
        == s["free_energy_final"]
    )


def test_heat_rod_example_balances_entropy(tmp_path):
    r = _run(
        "run", EXAMPLES / "field-heat-rod.toml", "--out", tmp_path, "--set", "field.shape=[24]"
    )
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["model"] == "transport" and all(s["checks"].values())
    assert s["sigma_min"] >= 0
    gain = s["entropy_final"] - s["entropy_initial"]
    assert gain > 0 and abs(gain - s["entropy_produced"]) <= 1e-6 * gain
    assert (tmp_path / "entropy.png").is_file() and (tmp_path / "solution.nc").is_file()


BASE = """
[field]
shape = [16]
lengths = [1.0]
[functional]
kind = "ginzburg-landau"
[scheme]
dt = 0.1
t1 = 1.0
[initial]
expression = "cos(2*pi*x)"
"""


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"scheme": "stpe = 1"}, "scheme.stpe: unknown key; the keys of [scheme] are kind, dt,"),
        ({"field": "shpe = [8]"}, "field.shpe: unknown key (did you mean field.shape?)"),
        ({"replace": ("ginzburg-landau", "quartic")}, "functional.kind: unknown functional"),
        ({"functional": "m = 2"}, "functional.m: the ginzburg-landau functional takes"),
        ({"initial": 'kind = "noise"'}, "initial.kind: unknown initial condition"),
        ({"output": 'checkpoint_every = "often"'}, "output.checkpoint_every: expected an integer"),
        ({"output": "checkpoint_every = 0"}, "output.checkpoint_every: expected a whole number"),
        (
            {"output": "every = 0.1\nfield_every = 0.25"},
            "output.field_every: 0.25 is not a multiple",
        ),
        ({"flow": 'metric = "H2"'}, "flow.metric: unknown metric"),
        ({"flow": "mobility = -1"}, "flow.mobility: the mobility must be > 0"),
        ({"field": 'boundary = "sticky"'}, "field.boundary: unknown boundary"),
        ({"scheme": 'kind = "leapfrog"'}, "scheme.kind: unknown scheme"),
        ({"top": "colour = 1"}, "colour: unknown key"),
        ({"scheme": 'method = "rkc"'}, "scheme.method: only a transport run takes a method"),
    ],
)
def test_bad_keys_are_named(tmp_path, change, key):
    text = BASE
    for table, line in change.items():
        if table == "top":
            text = line + "\n" + text
        elif table == "replace":
            text = text.replace(*line)
        elif f"[{table}]" in text:
            text = text.replace(f"[{table}]\n", f"[{table}]\n{line}\n")
        else:
            text += f"[{table}]\n{line}\n"
    path = tmp_path / "bad.toml"
    path.write_text(text)
    r = _run("run", path, "--out", tmp_path / "out")
    assert r.exit_code == 2, r.output
    assert "error:" in r.output and key in " ".join(r.output.split()), r.output
    assert not (tmp_path / "out" / "fields.zarr").exists()  # refused before anything ran


def test_transport_scenario_keys_are_named(tmp_path):
    text = (EXAMPLES / "field-heat-rod.toml").read_text()
    for bad, key in [
        (("[scheme]\n", "[scheme]\ndt = 0.1\n"), "scheme.dt: a transport run takes only"),
        (("[initial]\n", "[initial]\nc = 1.0\n"), "initial.c: this transport run has the fields T"),
        (('conductivity = "0.5 + T"', 'conductivity = "0.5 + q"'), "transport.conductivity"),
        (('T = "1 + 0.5*cos(pi*x) + 0.3*x"', 'T = "x - 0.5"'), "initial.T: the absolute"),
    ]:
        path = tmp_path / "bad.toml"
        path.write_text(text.replace(*bad))
        r = _run("run", path, "--out", tmp_path / "out")
        assert r.exit_code == 2 and key in " ".join(r.output.split()), r.output


def test_resume_refuses_what_is_not_a_field_run(tmp_path, spinodal):
    r = _run("resume", tmp_path)
    assert r.exit_code == 2 and "holds no steepest-run.json" in r.output
    run = tmp_path / "copy"
    shutil.copytree(spinodal[0], run)
    (run / "checkpoint.npz").write_bytes(b"garbage")
    r = _run("resume", run)
    assert r.exit_code == 2 and "checkpoint" in r.output and "cannot be read" in r.output


@pytest.mark.slow
def test_spinodal_to_t_1000_follows_the_published_curve(tmp_path):
    # PFHub 1a at t = 100 and 1000: PRISMS-PF 115.6 and 70.35, MOOSE 139.8 and 85.4 (codes differ
    # by ~20 %, pfhub-benchmark-1.md); F must fall between about the two
    r = _run("run", EXAMPLES / "spinodal.toml", "--out", tmp_path, "--t1", "1000", "--no-plot")
    assert r.exit_code == 0, r.output
    t, F = np.loadtxt((tmp_path / "free_energy.csv").read_text().splitlines()[1:], delimiter=",").T
    assert np.all(np.diff(F) < 0)
    F100, F1000 = np.interp([100.0, 1000.0], t, F)
    assert 105 < F100 < 150, F100
    assert 60 < F1000 < 95, F1000


def test_sweeps_of_field_scenarios(tmp_path):
    import steepest as st

    # transport: the entropy an insulated rod gains at equilibrium is C(log T̄ − ∫ log T₀ dx),
    # proportional to the heat capacity C, and the rod ends at its mean temperature whatever C is
    rod = {
        "field": {"shape": [16], "lengths": [1.0], "boundary": "no-flux"},
        "transport": {"conductivity": 1.0},
        "initial": {"T": "1 + 0.5*cos(pi*x)"},
        "scheme": {"t1": 5.0},  # the slowest mode decays as exp(−π² t k/C): e⁻²⁴ at C = 2
        "output": {"n_save": 3},
    }
    ds = st.parallel.sweep(rod, {"transport.heat_capacity": [1.0, 2.0]}, out=tmp_path / "rod")
    assert (np.asarray(ds.run_status) == 1).all()
    dS = np.asarray(ds["entropy_produced"])
    assert abs(dS[1] / dS[0] - 2.0) < 1e-6
    T = np.asarray(ds["T_final"])
    np.testing.assert_allclose(T, T[0].mean(), rtol=1e-6)
    # a gradient flow: Cahn–Hilliard conserves the mass at every step size of the sweep
    ch = {
        "field": {"shape": [16, 16], "lengths": [32.0, 32.0]},
        "functional": {"kind": "pfhub1"},
        "flow": {"metric": "H-1", "mobility": 5.0},
        "scheme": {"dt": 0.5, "t1": 4.0},
        "initial": {"kind": "random", "mean": 0.5, "amplitude": 0.02, "seed": 1},
    }
    ds = st.parallel.sweep(ch, {"scheme.dt": [0.25, 0.5, 1.0]}, out=tmp_path / "ch")
    m = np.asarray(ds["mass_final"])
    np.testing.assert_allclose(m, 0.5 * 32 * 32, rtol=1e-3)  # the random start's mean is ≈ 0.5
    assert np.ptp(m) < 1e-12 * m[0]
    assert list(np.asarray(ds["steps"])) == [16, 8, 4]
    assert np.asarray(ds["c_final"]).shape == (3, 16, 16)


def test_unwritable_output_is_refused_before_the_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for example in ("field-heat-rod.toml", "spinodal.toml"):
        r = _run("run", EXAMPLES / example, "--out", blocker / "run")
        assert r.exit_code == 2, r.output
        assert "output.dir: cannot write to" in " ".join(r.output.split())
