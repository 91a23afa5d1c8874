"""steepest learn / steepest diagnose / [learning] scenarios, and the learning figures."""

import json

import numpy as np
from typer.testing import CliRunner

import steepest as st
from steepest.cli.app import app

SCENARIO = """
title = "tiny"
[learning]
data = "iris"
model = "least-squares"
[train]
optimizer = "gd"
step = [0.1, 0.3]
steps = 50
every = 5
flow = false
"""


def test_diagnose_reports_the_exact_logistic_curvature():
    r = CliRunner().invoke(
        app, ["diagnose", "iris", "--model", "logistic", "--step", "2.0", "--json"]
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    # softmax regression at θ = 0: ∇²L = (1/K)(I − 11ᵀ/K) ⊗ X̃ᵀX̃/n, so λ_max = λ_max(X̃ᵀX̃/n)/K
    X = np.c_[st.learning.load("iris").X, np.ones(150)]
    lam = np.linalg.eigvalsh(X.T @ X / 150)[-1] / 3
    assert abs(d["lam_max"] - lam) < 1e-12 * lam
    assert abs(d["lam_min"]) < 1e-12  # the common shift of the logits costs nothing
    r = 2.0 * lam  # h·λ_max against 2, with the 5 % band of the report
    assert d["verdict"] == ("stable" if r <= 1.9 else "edge" if r <= 2.1 else "diverging")
    text = CliRunner().invoke(app, ["diagnose", "iris", "--model", "logistic", "--step", "1"])
    assert "stability limit of gradient descent 2/λ_max" in text.output


def test_learn_writes_summary_with_checks(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(SCENARIO)
    r = CliRunner().invoke(app, ["learn", str(path), "--out", str(tmp_path / "o"), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["kind"] == "learning" and s["exit_code"] == 0
    assert s["checks"] and all(s["checks"].values())
    assert [run["h"] for run in s["runs"]] == [0.1, 0.3]
    assert (tmp_path / "o" / "training.png").stat().st_size > 5000


def test_scenario_errors_name_the_key(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(SCENARIO)
    r = CliRunner().invoke(app, ["learn", str(path), "--set", "train.stpe=1"])
    assert r.exit_code == 2
    assert "train.stpe: unknown key (did you mean train.step?)" in r.output
    r = CliRunner().invoke(app, ["learn", str(path), "--set", "train.step=-1"])
    assert r.exit_code == 2 and "h: the step size must be a finite number > 0" in r.output
    r = CliRunner().invoke(app, ["learn", str(path), "--set", "learning.data=mnist"])
    assert r.exit_code == 2 and "dataset: unknown dataset 'mnist'" in r.output
    r = CliRunner().invoke(app, ["learn", str(path), "--set", "train.optimizer=adamw"])
    assert r.exit_code == 2 and "train.optimizer: unknown optimiser 'adamw'" in r.output
    other = tmp_path / "flow.toml"
    other.write_text('[energy]\nname = "himmelblau"\n')
    r = CliRunner().invoke(app, ["learn", str(other)])
    assert r.exit_code == 2 and "has no [learning] table" in r.output


def test_canyon_and_slice_figures():
    from steepest.plot.learning import canyon_figure

    V = st.potentials.get("quadratic", A=np.diag([1.0, 100.0]))
    c = st.learning.curvature(V, [1.0, 1.0])
    sol = st.learning.gradient_descent(V, 0.9 * c.stability_limit, 60, theta0=[1.0, 0.5], every=1)
    fig = canyon_figure(V, sol, minimum=[0.0, 0.0], across=c.v_max)
    across = sol.x @ (c.v_max / np.linalg.norm(c.v_max))
    # across the canyon GD flips sign every step (1 − hλ_max = −0.8); along it, it crawls
    assert np.all(np.sign(across[1:]) == -np.sign(across[:-1]))
    assert np.all(np.diff(sol.x[:, 0]) < 0)
    assert len(fig.axes) >= 2


def test_every_optimizer_runs_from_a_scenario(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(SCENARIO.replace("step = [0.1, 0.3]", "step = 0.05\nbatch_size = 30"))
    # natural gradient descent is gradient_descent(metric=fisher_metric) (tested in the API)
    for opt in ("proximal", "heavy-ball", "nesterov", "sgd", "adam"):
        out = tmp_path / opt
        args = [
            "learn",
            str(path),
            "--out",
            str(out),
            "--no-plot",
            "--set",
            f"train.optimizer={opt}",
        ]
        r = CliRunner().invoke(app, args + ["--set", "train.steps=20"])
        assert r.exit_code == 0, (opt, r.output)
        s = json.loads((out / "summary.json").read_text())
        run = s["runs"][0]
        assert run["optimizer"] == opt and run["status"] == "done"
        assert run["loss_final"] < run["loss_initial"], (opt, run)
