"""Scenario files: every error names its key; overrides; grids; metrics from expressions."""

import numpy as np
import pytest

import steepest as st
from steepest.scenario import build

BASE = {
    "energy": {"name": "double-well"},
    "integrate": {"method": "rk4", "step": 0.01, "t1": 1.0},
    "initial": {"points": [[0.5, 0.5]]},
}


def with_(path: str, value):
    data = {k: dict(v) for k, v in BASE.items()}
    table, _, key = path.partition(".")
    if key:
        data.setdefault(table, {})[key] = value
    else:
        data[table] = value
    return data


@pytest.mark.parametrize(
    "data, key, fragment",
    [
        (with_("integrate.stpe", 0.1), "integrate.stpe", "did you mean integrate.step"),
        (with_("integrate.step", "fast"), "integrate.step", "expected a number"),
        (with_("integrate.step", float("nan")), "integrate.step", "not finite"),
        (with_("integrate.t1", float("inf")), "integrate.t1", "not finite"),
        (with_("integrate.t1", -1.0), "integrate.t1", "positive"),
        (with_("integrate.method", "rk5"), "integrate.method", "rk45"),
        (with_("integrate.n_save", 1), "integrate.n_save", "≥ 2"),
        (with_("integrate.max_steps", 1.5), "integrate.max_steps", "integer"),
        (with_("integrate.save_state", "yes"), "integrate.save_state", "true or false"),
        (with_("energy.name", "himmelblow"), "energy.name", "himmelblau"),
        (with_("energy.expression", "x**2"), "energy", "exactly one"),
        (with_("energy.params", {"q": 1}), "energy.params.q", "parameters are"),
        (with_("energy.bounds", [[1.0, 0.0], [0.0, 1.0]]), "bounds", "low < high"),
        (with_("energy.function", "os:system"), "energy", "exactly one"),
        ({**with_("initial.points", [[0.5]])}, "initial.points", "2 coordinates"),
        (with_("initial.grid", {"x": [0, 1, 3]}), "initial", "exactly one"),
        (with_("metric.kind", "hyperbolic"), "metric.kind", "euclidean"),
        (with_("metric.matrix", [[1.0, 0.0], [0.0, 1.0]]), "metric.matrix", "not used"),
        (with_("output.format", "hdf"), "output.format", "netcdf"),
        (with_("outputs", {}), "outputs", "unknown key"),
        (
            with_("metric", {"kind": "preconditioned", "matrix": [[1.0, 2.0], [2.0, 1.0]]}),
            "metric.matrix",
            "positive definite",
        ),
        (
            with_("metric", {"kind": "preconditioned", "matrix": [[1.0, 0.0]]}),
            "metric.matrix",
            "square",
        ),
        (
            with_("metric", {"kind": "riemannian", "diagonal": ["1 + x**2", "__import__"]}),
            "metric.diagonal[1]",
            "__import__",
        ),
        (
            {"energy": {"expression": "x.y"}, "initial": {"points": [[0.0]]}},
            "energy.expression",
            "attribute access",
        ),
        ({"initial": {"points": [[0.0]]}}, "energy", "no [energy]"),
    ],
)
def test_errors_name_the_key(data, key, fragment):
    with pytest.raises(st.ScenarioError) as e:
        build(data)
    msg = str(e.value)
    assert key in msg and fragment in msg, msg
    assert "\n" not in msg and "Traceback" not in msg


def test_function_import_is_opt_in():
    data = {"energy": {"function": "math:fsum", "dim": 2}, "initial": {"points": [[0, 0]]}}
    with pytest.raises(st.ScenarioError, match="--allow-import"):
        build(data)


def test_overrides_and_t1():
    sc = build(BASE, ["integrate.step=0.05", 'integrate.method="euler"'], t1=3.0)
    assert sc.solve_kwargs == {"t1": 3.0, "method": "euler", "h": 0.05}
    with pytest.raises(st.ScenarioError, match="--set"):
        build(BASE, ["integrate.step"])


def test_grid_and_random_starts():
    sc = build(with_("initial", {"grid": {"x": [-1.0, 1.0, 3], "y": [0.0, 1.0, 2]}}))
    assert sc.x0.shape == (6, 2)
    assert {tuple(p) for p in sc.x0} == {(a, b) for a in (-1.0, 0.0, 1.0) for b in (0.0, 1.0)}
    sc = build(with_("initial", {"random": {"n": 50, "seed": 3}}))
    lo, hi = np.asarray(sc.flow.energy.plot_bounds).T
    assert sc.x0.shape == (50, 2) and np.all((sc.x0 >= lo) & (sc.x0 <= hi))


def test_expression_energy_and_riemannian_metric_run():
    data = {
        "energy": {"expression": "(x**2 - a)**2 + b*y**2", "params": {"a": 1.0, "b": 2.0}},
        "metric": {"kind": "riemannian", "G": [["1 + x**2", "0"], ["0", "2"]]},
        "integrate": {"method": "rk45", "t1": 20.0},
        "initial": {"points": [[0.5, 0.5], [-0.3, 0.2]]},
    }
    sol = build(data).run()
    np.testing.assert_allclose(sol.x_final, [[1.0, 0.0], [-1.0, 0.0]], atol=1e-6)
    assert sol.settings["scenario"]["metric"]["kind"] == "riemannian"
