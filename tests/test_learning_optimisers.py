"""Optimisers as discretisations of ODEs: each discrete method against its continuous limit."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.special as sp

import steepest as st

LAM = np.array([1.0, 10.0, 100.0])
X0 = np.array([1.0, 1.0, 1.0])


@pytest.fixture(scope="module")
def quadratic():
    return st.potentials.get("quadratic", A=np.diag(LAM))


def _slope(x, y):
    return np.polyfit(np.log(x), np.log(y), 1)[0]


def test_nesterov_ode_exact_and_iterates_converge_as_sqrt_s(quadratic):
    # Su, Boyd & Candès (2016): for f = ½λx², X″ + (3/t)X′ + λX = 0 has X = x₀·2J₁(√λt)/(√λt)
    T = 3.0

    def exact(t):
        z = np.sqrt(LAM)[None, :] * np.asarray(t)[:, None]
        zs = np.where(z > 0, z, 1.0)
        return np.where(z > 0, 2 * sp.j1(zs) / zs, 1.0) * X0

    ode = st.learning.nesterov_ode(quadratic, T, theta0=X0, n_save=31)
    assert str(ode.status) == "done"
    assert np.max(np.abs(ode.x - exact(ode.t))) < 1e-8
    ss, errs = [], []
    for steps in (75, 150, 300, 600):
        s = (T / steps) ** 2
        sol = st.learning.nesterov(quadratic, s, steps, theta0=X0, every=steps // 75)
        errs.append(np.max(np.abs(sol.x - exact(sol.t))))
        ss.append(s)
    assert _slope(ss, errs) == pytest.approx(0.5, abs=0.05)  # O(√s)


def test_heavy_ball_follows_the_damped_ode(quadratic):
    gamma, T = 3.0, 3.0
    # the damped oscillator x″ + γx′ + λx = 0 from (1, 0), per eigencomponent: overdamped for
    # λ = 1 (imaginary r), underdamped for λ = 10, 100
    r = np.sqrt(np.asarray(LAM - gamma**2 / 4, dtype=complex))

    def exact(t):
        t = np.asarray(t)[:, None]
        e = np.exp(-gamma * t / 2)
        return np.real(e * (np.cos(r * t) + gamma / 2 * np.sin(r * t) / r)) * X0

    ode = st.learning.heavy_ball_ode(quadratic, gamma, T, theta0=X0, n_save=31)
    assert np.max(np.abs(ode.x - exact(ode.t))) < 1e-8
    mech = ode.stats["mechanical_energy"]
    assert np.all(np.diff(mech) <= 1e-14)  # dE/dt = −γ|θ′|²
    ds, errs = [], []
    for steps in (300, 600, 1200):
        d = T / steps
        sol = st.learning.heavy_ball(
            quadratic, d * d, 1 - gamma * d, steps, theta0=X0, every=steps // 30
        )
        np.testing.assert_allclose(sol.t, ode.t, rtol=1e-12)
        errs.append(np.max(np.abs(sol.x - exact(sol.t))))
        ds.append(d)
    assert _slope(ds, errs) == pytest.approx(1.0, abs=0.05)  # O(δ), δ = √h


@pytest.fixture(scope="module")
def iris_binary():
    return st.learning.logistic_regression(st.learning.load("iris", classes=[1, 2]))


def test_natural_gradient_flow_is_invariant_under_reparametrisation(iris_binary):
    L = iris_binary
    rng = np.random.default_rng(0)
    A = rng.normal(size=(L.dim, L.dim)) + 3 * np.eye(L.dim)
    b = rng.normal(size=L.dim)
    M = st.learning.reparametrised(L, A, b)
    assert float(M(M.theta0)) == pytest.approx(float(L(L.theta0)), rel=1e-14)
    # the Fisher matrix transforms as F̃ = AᵀFA
    F, Ft = (np.asarray(m.fisher(m.theta0)) for m in (L, M))
    np.testing.assert_allclose(Ft, A.T @ F @ A, rtol=1e-10, atol=1e-12)
    # and, for logistic regression (a canonical link), equals the Hessian
    np.testing.assert_allclose(F, np.asarray(L.hessian(L.theta0)), rtol=1e-10, atol=1e-14)
    kw = dict(method="rk4", h=0.01, n_save=11)
    nat = st.learning.gradient_flow(L, 5.0, metric=st.learning.fisher_metric(L), **kw)
    nat_phi = st.learning.gradient_flow(M, 5.0, metric=st.learning.fisher_metric(M), **kw)
    assert np.max(np.abs(nat.x - M.to_theta(nat_phi.x))) < 1e-10
    euc = st.learning.gradient_flow(L, 5.0, **kw)
    euc_phi = st.learning.gradient_flow(M, 5.0, **kw)
    assert np.max(np.abs(euc.x - M.to_theta(euc_phi.x))) > 1e-2
    assert nat.dissipation_ok and nat.energy[-1] < nat.energy[0]


def test_preconditioned_descent_with_the_hessian_is_newton():
    L = st.learning.least_squares(st.learning.load("wine"))
    H = np.asarray(L.hessian(L.theta0))
    M = st.learning.preconditioner(H)
    c = st.learning.curvature(L, metric=M, method="dense")
    assert c.lam_max == pytest.approx(1.0, rel=1e-10) and c.lam_min == pytest.approx(1.0, 1e-10)
    one = st.learning.gradient_descent(L, 1.0, 1, metric=M)
    X = np.c_[L.data.X, np.ones(L.data.n)]
    W = np.linalg.lstsq(X, L.data.one_hot(), rcond=None)[0]
    theta_star = np.concatenate([W[:-1].ravel(), W[-1]])
    assert np.max(np.abs(one.x[-1] - theta_star)) < 1e-10


def test_mirror_descent_and_the_replicator_flow():
    c = np.array([0.3, 0.1, 0.5, 0.2])
    p0 = np.array([0.1, 0.2, 0.3, 0.4])
    cj = jnp.asarray(c)

    def linear(p):
        return cj @ p

    md = st.learning.mirror_descent(linear, p0, 0.1, 100, every=10)
    exact = p0 * np.exp(-np.outer(md.t, c))
    exact /= exact.sum(axis=1, keepdims=True)
    # for a linear loss, mirror descent lands on the replicator flow at every t = kh
    assert np.max(np.abs(md.x - exact)) < 1e-14
    rf = st.learning.replicator_flow(linear, p0, 10.0, n_save=11)
    assert np.max(np.abs(rf.x - exact)) < 1e-9
    # a nonlinear loss on the simplex: O(h) from the flow, iterates stay on the simplex
    target = jnp.asarray([0.4, 0.3, 0.2, 0.1])

    def kl(p):  # KL(target ‖ p): convex, minimum at p = target
        return jnp.sum(target * jnp.log(target / p))

    ref = st.learning.replicator_flow(kl, p0, 2.0, n_save=11)
    hs, errs = [], []
    for steps in (50, 100, 200):
        sol = st.learning.mirror_descent(kl, p0, 2.0 / steps, steps, every=steps // 10)
        assert np.max(np.abs(sol.x.sum(axis=1) - 1.0)) < 1e-14 and np.all(sol.x > 0)
        errs.append(np.max(np.abs(sol.x - ref.x)))
        hs.append(2.0 / steps)
    assert _slope(hs, errs) == pytest.approx(1.0, abs=0.08)
    assert np.all(np.diff(ref.energy) <= 0)  # a gradient flow: f falls along it
    with pytest.raises(st.ScenarioError, match="p0: a point of the open simplex"):
        st.learning.mirror_descent(kl, [0.5, 0.6, 0.1, 0.1], 0.1, 10)


def test_any_optax_optimiser_beside_the_flow(iris_binary):
    L = iris_binary
    sol = st.learning.run_optax(L, optax.adam(0.05), 200, lr=0.05, every=10, name="adam")
    tr = st.learning.beside_flow(L, sol, sharpness=False)
    assert tr.flow.dissipation_ok
    np.testing.assert_allclose(tr.flow.t, sol.t, rtol=1e-12)
    assert tr.distance[0] == 0.0 and tr.distance[-1] > 0
    assert sol.energy[-1] < 0.5 * sol.energy[0]


@pytest.mark.parametrize(("sampling", "power"), [("replacement", 1), ("reshuffle", 2)])
def test_sgd_noise_ball_scales_with_the_step(sampling, power):
    # least squares on iris, started at θ*: with batches drawn with replacement SGD's stationary
    # E|θ − θ*|² scales as h (Li, Tai & E 2017); with random reshuffling the noise of an epoch
    # nearly cancels and it scales as h² (Mishchenko, Khaled & Richtárik, NeurIPS 2020)
    L = st.learning.least_squares(st.learning.load("iris"), l2=1e-2)
    X = np.c_[L.data.X, np.ones(L.data.n)]
    n, d = X.shape
    W = np.linalg.solve(X.T @ X + 1e-2 * n * np.eye(d), X.T @ L.data.one_hot())
    theta_star = np.concatenate([W[:-1].ravel(), W[-1]])
    ms = []
    for h in (0.02, 0.01):
        steps = int(round(60.0 / h))
        sol = st.learning.sgd(
            L, h, steps, batch_size=5, seed=1, theta0=theta_star, every=10, sampling=sampling
        )
        ms.append(np.mean(np.sum((sol.x[len(sol.x) // 5 :] - theta_star) ** 2, axis=1)))
    assert ms[0] / ms[1] == pytest.approx(2.0**power, rel=0.2)
