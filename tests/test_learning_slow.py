"""Long validation runs of the learning area (make test-slow)."""

import numpy as np
import pytest

import steepest as st


@pytest.mark.slow
def test_edge_of_stability_on_a_digits_mlp_for_two_step_sizes():
    # Cohen et al. (2021): full-batch GD on a tanh MLP (MSE) sharpens until λ_max = 2/h and
    # stays there, for each step size; the gradient flow keeps sharpening past 2/h
    data = st.learning.load("digits", n=512, scaling="center")
    L = st.learning.mlp(data, hidden=(32,), activation="tanh", loss="mse")
    s0 = st.learning.curvature(L).lam_max
    for f in (1.25, 1.5):
        h = 2.0 / (f * s0)
        tr = st.learning.gd_and_flow(L, h, 8000, every=40, rtol=1e-6, atol=1e-8, lanczos_iters=40)
        e = tr.edge_of_stability()
        assert e["rose"] and e["initial"] < 0.85 * e["two_over_h"], e
        assert e["plateau_saves"] >= 50, e
        assert e["plateau_rel_dev"] < 0.05, e
        assert e["mean_rel_dev"] < 0.02, e
        assert e["flow_over"] > 1.3, e  # the flow went on sharpening
        assert np.all(tr.residual_gd < 1e-2 * tr.sharpness_gd)
        assert tr.flow.dissipation_ok and str(tr.flow.status) == "done"


@pytest.mark.slow
def test_natural_gradient_flow_invariance_with_an_adaptive_solver():
    # the flow itself (rk45 at tight tolerance, not a fixed-step scheme) is parametrisation-free
    L = st.learning.logistic_regression(st.learning.load("iris", classes=[1, 2]))
    rng = np.random.default_rng(1)
    A = rng.normal(size=(L.dim, L.dim)) + 3 * np.eye(L.dim)
    M = st.learning.reparametrised(L, A, rng.normal(size=L.dim))
    kw = dict(method="rk45", rtol=1e-13, atol=1e-14, n_save=11)
    a = st.learning.gradient_flow(L, 5.0, metric=st.learning.fisher_metric(L), **kw)
    b = st.learning.gradient_flow(M, 5.0, metric=st.learning.fisher_metric(M), **kw)
    assert np.max(np.abs(a.x - M.to_theta(b.x))) < 1e-10
    e = st.learning.gradient_flow(L, 5.0, **kw)
    f = st.learning.gradient_flow(M, 5.0, **kw)
    assert np.max(np.abs(e.x - M.to_theta(f.x))) > 1e-2
