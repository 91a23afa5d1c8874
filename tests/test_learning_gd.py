"""Gradient descent as explicit Euler: stability limit, rates, modified equation, proximal point,
the optax bridge and the edge of stability, each checked against its published statement."""

import numpy as np
import optax
import pytest

import steepest as st
from steepest.integrate.solve import COMPILE_COUNT
from steepest.learning import _cache

LAM = np.array([1.0, 10.0, 100.0])


@pytest.fixture(scope="module")
def rotated_quadratic():
    # diag(1, 10, 100) in a rotated basis, so the eigenvectors are not the coordinate axes
    Q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(3, 3)))
    A = Q @ np.diag(LAM) @ Q.T
    return st.potentials.get("quadratic", A=0.5 * (A + A.T))


@pytest.fixture(scope="module")
def breast_cancer_logistic():
    return st.learning.logistic_regression(st.learning.load("breast_cancer"))


def test_stability_limit_and_growth_factor(rotated_quadratic):
    V = rotated_quadratic
    x0 = np.array([1.0, -0.5, 0.25])
    c = st.learning.curvature(V, x0)
    assert c.lam_max == pytest.approx(100.0, rel=1e-12)
    assert c.stability_limit == pytest.approx(0.02, rel=1e-12)
    v = c.v_max / np.linalg.norm(c.v_max)
    for factor, converges in ((0.99, True), (1.01, False)):
        h = factor * c.stability_limit
        sol = st.learning.gradient_descent(V, h, 1500, theta0=x0, every=1)
        along = sol.x @ v
        growth = np.abs(along[1:] / along[:-1])
        # the error along the top eigenvector is multiplied by 1 − hλ_max each step, exactly
        assert np.max(np.abs(growth - abs(1 - h * c.lam_max))) < 1e-10
        assert np.all(np.sign(along[1:]) == -np.sign(along[:-1]))  # it flips every step
        final = np.linalg.norm(sol.x[-1])
        if converges:
            assert final < 1e-10
        else:
            assert final > 1e10
        verdict = st.learning.diagnose(V, h=h, theta=x0).verdict
        assert verdict == "edge"
    assert st.learning.diagnose(V, h=0.5 * c.stability_limit, theta=x0).verdict == "stable"
    assert st.learning.diagnose(V, h=1.5 * c.stability_limit, theta=x0).verdict == "diverging"


def test_no_recompile_for_a_new_step(rotated_quadratic):
    V = rotated_quadratic
    st.learning.gradient_descent(V, 0.01, 300, theta0=[1.0, 1.0, 1.0], every=3)
    n = COMPILE_COUNT["n"]
    st.learning.gradient_descent(V, 0.015, 300, theta0=[0.5, 1.0, 2.0], every=3)
    assert COMPILE_COUNT["n"] == n
    st.learning.heavy_ball(V, 0.01, 0.5, 300, theta0=[1.0, 1.0, 1.0], every=3)
    m = _cache.TRACE_COUNT["n"]
    st.learning.heavy_ball(V, 0.02, 0.7, 300, theta0=[1.0, 2.0, 1.0], every=3)
    assert _cache.TRACE_COUNT["n"] == m


def _rate(xs, k1, k2):
    e = np.linalg.norm(xs, axis=-1)
    return (e[k2] / e[k1]) ** (1.0 / (k2 - k1))


def test_rates_gd_and_heavy_ball_on_the_quadratic(rotated_quadratic):
    V = rotated_quadratic
    x0 = np.array([1.0, 1.0, 1.0])
    c = st.learning.curvature(V, x0)
    kappa = c.condition_number
    assert kappa == pytest.approx(100.0, rel=1e-10)
    # GD at h = 2/(L + μ): the error contracts by (κ − 1)/(κ + 1) per step (Polyak 1987, §1.4)
    gd = st.learning.gradient_descent(V, c.optimal_step, 1000, theta0=x0, every=1)
    assert _rate(gd.x, 500, 1000) == pytest.approx((kappa - 1) / (kappa + 1), rel=0.01)
    # heavy ball with Polyak's parameters: (√κ − 1)/(√κ + 1) per step
    h, beta, rate = c.heavy_ball()
    sk = np.sqrt(kappa)
    assert rate == pytest.approx((sk - 1) / (sk + 1), rel=1e-12)
    hb = st.learning.heavy_ball(V, h, beta, 600, theta0=x0, every=1)
    assert _rate(hb.x, 300, 600) == pytest.approx(rate, rel=0.01)


def test_rate_on_least_squares_over_real_data():
    L = st.learning.least_squares(st.learning.load("iris"))
    c = st.learning.curvature(L, method="lanczos")
    X = np.c_[L.data.X, np.ones(L.data.n)]
    lam = np.linalg.eigvalsh(X.T @ X / L.data.n)  # the exact spectrum (I_K ⊗ X̃ᵀX̃/n)
    assert c.lam_max == pytest.approx(lam[-1], rel=1e-10)
    assert c.lam_min == pytest.approx(lam[0], rel=1e-8)
    W = np.linalg.lstsq(X, L.data.one_hot(), rcond=None)[0]
    theta_star = np.concatenate([W[:-1].ravel(), W[-1]])  # params {"W": (d, K), "b": (K,)}
    steps = 2000
    gd = st.learning.gradient_descent(L, c.optimal_step, steps, every=1)
    err = gd.x - theta_star
    rho = c.optimal_rate
    measured = _rate(err, steps // 2, steps)
    assert -np.log(measured) == pytest.approx(-np.log(rho), rel=0.01)


def test_modified_equation_barrett_dherin(breast_cancer_logistic):
    L = breast_cancer_logistic
    T = 4.0
    d_flow, d_mod = [], []
    for N in (40, 80, 160):
        h = T / N
        gd = st.learning.gradient_descent(L, h, N, every=N // 4)
        fl = st.learning.gradient_flow(L, T, method="rk4", h=h / 16, n_save=5)
        Lh = st.learning.modified_loss(L, h)
        fm = st.learning.gradient_flow(Lh, T, theta0=L.theta0, method="rk4", h=h / 16, n_save=5)
        d_flow.append(np.max(np.linalg.norm(gd.x - fl.x, axis=1)))
        d_mod.append(np.max(np.linalg.norm(gd.x - fm.x, axis=1)))
    r1 = np.array(d_flow[:-1]) / np.array(d_flow[1:])
    r2 = np.array(d_mod[:-1]) / np.array(d_mod[1:])
    # O(h) from the flow of L, O(h²) from the flow of L + (h/4)|∇L|²
    np.testing.assert_allclose(r1, 2.0, rtol=0.10)
    np.testing.assert_allclose(r2, 4.0, rtol=0.10)


def test_proximal_point_where_gd_diverges():
    L = st.learning.least_squares(st.learning.load("wine"))
    c = st.learning.curvature(L)
    h = 10.0 / c.lam_max
    gd = st.learning.gradient_descent(L, h, 60, every=1)
    pp = st.learning.proximal_point(L, h, 60, every=1)
    # GD: the top mode grows by |1 − 10| = 9 per step; the proximal point shrinks every mode
    assert gd.energy[-1] > 1e20 * gd.energy[0] or str(gd.status) == "non-finite"
    assert np.all(np.diff(pp.energy) <= 0)
    assert np.all(np.diff(pp.energy) < 0)
    assert str(pp.status) == "done"
    assert pp.energy[-1] < 0.5 * pp.energy[0]


def test_optax_sgd_equals_euler_steps():
    L = st.learning.mlp(st.learning.load("digits", n=128, scaling="center"), hidden=(8,))
    h = 0.3
    gd = st.learning.gradient_descent(L, h, 200, every=1)
    ox = st.learning.run_optax(L, optax.sgd(h), 200, lr=h, every=1)
    assert np.max(np.abs(ox.x - gd.x)) <= 1e-14
    np.testing.assert_allclose(ox.t, gd.t, rtol=1e-13)
    # full-batch "SGD" is GD as well (the batch sums in another order: round-off only)
    sg = st.learning.sgd(L, h, 200, batch_size=L.data.n, every=1)
    assert np.max(np.abs(sg.x - gd.x)) < 1e-12


@pytest.fixture(scope="module")
def eos_runs():
    data = st.learning.load("digits", n=256, scaling="center")
    L = st.learning.mlp(data, hidden=(16,), activation="tanh", loss="mse")
    return {
        h: st.learning.gd_and_flow(L, h, 4000, every=40, rtol=1e-6, atol=1e-8) for h in (0.6, 0.5)
    }


def test_edge_of_stability_small(eos_runs):
    # Cohen et al. (2021): full-batch GD sharpens until λ_max reaches 2/h, then hovers there;
    # the gradient flow from the same start keeps sharpening past 2/h
    for tr in eos_runs.values():
        e = tr.edge_of_stability()
        assert e["rose"], e  # started below 2/h and climbed to it
        assert e["plateau_rel_dev"] < 0.05, e
        assert e["flow_over"] > 1.1, e
        assert np.all(tr.residual_gd < 1e-2 * tr.sharpness_gd)  # Lanczos certificates
        assert str(tr.flow.status) == "done" and tr.flow.dissipation_ok
        # GD's loss is not monotone at the edge of stability, but it still falls overall
        assert tr.loss_gd[-1] < 0.1 * tr.loss_gd[0]


def test_bad_input():
    V = st.potentials.get("quadratic", A=np.diag(LAM))
    for h in (0.0, -0.1, float("nan"), "fast"):
        with pytest.raises(st.ScenarioError, match="h: the step size must be a finite number > 0"):
            st.learning.gradient_descent(V, h, 10, theta0=[1.0, 1.0, 1.0])
    with pytest.raises(st.ScenarioError, match="theta0: 1 of the 3 parameters are NaN"):
        st.learning.gradient_descent(V, 0.01, 10, theta0=[1.0, np.nan, 1.0])
    with pytest.raises(st.ScenarioError, match="steps: expected a positive integer"):
        st.learning.heavy_ball(V, 0.01, 0.5, 0, theta0=[1.0, 1.0, 1.0])
    with pytest.raises(st.ScenarioError, match=r"beta: the momentum must be a number in \[0, 1\)"):
        st.learning.heavy_ball(V, 0.01, 1.0, 10, theta0=[1.0, 1.0, 1.0])
    with pytest.raises(st.ScenarioError, match="every: 3 does not divide steps = 10"):
        st.learning.gradient_descent(V, 0.01, 10, theta0=[1.0, 1.0, 1.0], every=3)
    with pytest.raises(st.ScenarioError, match="optimizer: expected an optax"):
        st.learning.run_optax(V, "adam", 10, theta0=[1.0, 1.0, 1.0])


def test_a_stiff_quadratic_gets_the_stiff_advice_and_its_rates():
    """diag(1, 1e4): κ = 1e4 > 10³ is stiff. GD's rate at h is max|1 − hλ| (here 1 − h·1);
    the best GD rate is (κ − 1)/(κ + 1) and Polyak's heavy ball (√κ − 1)/(√κ + 1) with
    h = 4/(√L + √μ)², β = rate² — all closed forms of the quadratic."""
    V = st.potentials.get("quadratic", A=[[1.0, 0.0], [0.0, 1e4]])
    h = 1e-4
    d = st.learning.diagnose(V, h=h, theta=[1.0, 1.0])
    c = d.curvature
    assert c.lam_max == pytest.approx(1e4, rel=1e-10) and c.lam_min == pytest.approx(1.0, rel=1e-10)
    assert d.stiff and d.verdict == "stable"
    assert d.rate == pytest.approx(1 - h * 1.0, rel=1e-12)
    k = 1e4
    assert c.optimal_rate == pytest.approx((k - 1) / (k + 1), rel=1e-10)
    hb_h, hb_beta, hb_rate = c.heavy_ball()
    assert hb_rate == pytest.approx((100 - 1) / (100 + 1), rel=1e-10)
    assert hb_h == pytest.approx(4 / (100 + 1) ** 2, rel=1e-10) and hb_beta == pytest.approx(
        hb_rate**2, rel=1e-12
    )
    stiff = [a for a in d.advice if a.startswith("stiff")]
    assert len(stiff) == 1 and "heavy ball" in stiff[0] and "Preconditioned" in stiff[0]
    assert "kvaerno5" in stiff[0]
    # one decade of error: ln 10 / −ln ρ steps (GD ≈ 1.15e4, heavy ball ≈ 115)
    assert f"~{np.log(10) / -np.log((k - 1) / (k + 1)):.3g} steps per decade" in stiff[0]
    # a mild quadratic is not stiff and is told so
    mild_V = st.potentials.get("quadratic", A=[[1.0, 0.0], [0.0, 10.0]])
    mild = st.learning.diagnose(mild_V, h=0.1, theta=[1.0, 1.0])
    assert not mild.stiff and any(a.startswith("not stiff") for a in mild.advice)
