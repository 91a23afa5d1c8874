"""Integrators against mathematics: exact linear flows, measured orders, dissipation, stability."""

import importlib

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import steepest as st
from steepest.integrate.methods import RK4_STABILITY

solve_mod = importlib.import_module("steepest.integrate.solve")

A3 = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
X0 = np.array([1.0, -2.0, 0.5])


def quad(A):
    return st.potentials.get("quadratic", A=A)


@pytest.mark.parametrize("method", ["rk45", "tsit5", "kvaerno5"])
def test_linear_flow_is_matrix_exponential(method):
    """V = ½xᵀAx: x(t) = expm(−tA)x0; adaptive methods reach 1e-8 relative error."""
    sol = st.solve(quad(A3), X0, t1=2.0, method=method, rtol=1e-11, atol=1e-13, n_save=11)
    for t, x in zip(sol.t, sol.x, strict=True):
        exact = scipy.linalg.expm(-t * A3) @ X0
        assert np.linalg.norm(x - exact) <= 1e-8 * np.linalg.norm(exact)


def test_fixed_step_linear_flow_matches_amplification_factor():
    """Euler on V = ½xᵀAx is x_n = (I − hA)ⁿ x0 exactly (gradient descent on a quadratic)."""
    h = 0.01
    sol = st.solve(quad(A3), X0, t1=1.0, method="euler", h=h)
    np.testing.assert_allclose(
        sol.x_final, np.linalg.matrix_power(np.eye(3) - h * A3, 100) @ X0, rtol=1e-13
    )
    assert sol.steps == 100 and sol.t[-1] == 1.0


def _order(method, hs, reference, flow, x0, t1):
    errs = [
        np.linalg.norm(st.solve(flow, x0, t1=t1, method=method, h=h, n_save=2).x_final - reference)
        for h in hs
    ]
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    return slope, errs


@pytest.mark.parametrize(
    "method, order, hs",
    [
        ("euler", 1, [0.02, 0.01, 0.005, 0.0025]),
        ("rk4", 4, [0.1, 0.05, 0.025, 0.0125]),
        ("implicit-euler", 1, [0.02, 0.01, 0.005, 0.0025]),
        ("discrete-gradient", 2, [0.04, 0.02, 0.01, 0.005]),
    ],
)
def test_measured_convergence_order(method, order, hs):
    """The slope of log(error) against log(h) on a nonlinear flow equals the scheme's order."""
    flow = st.GradientFlow(st.potentials.get("double-well"))
    x0, t1 = np.array([0.3, 1.0]), 1.0
    ref = st.solve(flow, x0, t1=t1, method="rk45", rtol=1e-13, atol=1e-15, n_save=2).x_final
    slope, errs = _order(method, hs, ref, flow, x0, t1)
    assert abs(slope - order) < 0.3, (slope, errs)


def test_preconditioned_newton_step_lands_on_minimum():
    """With M = A, one unit step of euler on V = ½(x − c)ᵀA(x − c) is Newton's method."""
    c = np.array([0.5, -1.0, 2.0])
    V = st.Potential(lambda x: 0.5 * (x - c) @ (jnp.asarray(A3) @ (x - c)), dim=3)
    flow = st.GradientFlow(V, st.Preconditioned(A3))
    sol = st.solve(flow, X0, t1=1.0, method="euler", h=1.0)
    np.testing.assert_allclose(sol.x_final, c, atol=1e-14)
    assert sol.steps == 1


def test_metric_decides_the_path_but_not_the_minimum():
    """Same energy, different metric: different paths, same minimum."""
    V = st.potentials.get("quadratic", A=[[1.0, 0.0], [0.0, 10.0]])
    flows = [st.GradientFlow(V), st.GradientFlow(V, st.Preconditioned([[1.0, 0.0], [0.0, 10.0]]))]
    sols = [st.solve(f, [1.0, 1.0], t1=20.0, method="rk45", n_save=21) for f in flows]
    for s in sols:
        np.testing.assert_allclose(s.x_final, [0.0, 0.0], atol=1e-7)
    # the preconditioned path is the straight line to the minimum; the Euclidean one is not
    xp = sols[1].x
    np.testing.assert_allclose(xp[:, 0], xp[:, 1], rtol=1e-7, atol=1e-12)
    assert np.max(np.abs(sols[0].x[:, 0] - sols[0].x[:, 1])) > 0.3


def test_riemannian_conformal_metric_keeps_the_path():
    """G = c(x)I only reparametrises time: the path of the flow is the same curve."""
    V = st.potentials.get("double-well")
    G = st.Riemannian(lambda x: (1.0 + x @ x) * jnp.ones(2), diagonal=True)
    e = st.solve(
        st.GradientFlow(V), [0.2, 1.0], t1=30.0, method="rk45", rtol=1e-10, atol=1e-12, n_save=201
    )
    r = st.solve(
        st.GradientFlow(V, G),
        [0.2, 1.0],
        t1=60.0,
        method="rk45",
        rtol=1e-10,
        atol=1e-12,
        n_save=401,
    )
    np.testing.assert_allclose(e.x_final, [1.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(r.x_final, [1.0, 0.0], atol=1e-7)

    # On V = (x² − 1)² + y² the flow lines satisfy dy/dx = y/(2x(x² − 1)), so
    # I(x, y) = y |x|^½ / |x² − 1|^¼ is constant on every path of every conformal metric.
    def invariant(x):
        sel = np.abs(x[:, 0] ** 2 - 1) > 1e-3  # away from the minimum where I is 0/0
        return x[sel, 1] * np.sqrt(np.abs(x[sel, 0])) / np.abs(x[sel, 0] ** 2 - 1) ** 0.25

    I0 = invariant(np.array([[0.2, 1.0]]))[0]
    for s in (e, r):
        np.testing.assert_allclose(invariant(s.x), I0, rtol=1e-7)
    # … while the clocks differ: the Riemannian flow is slower (c(x) ≥ 1)
    assert np.all(r.x[1:40, 0] < e.x[1:40, 0])


def test_dissipation_rate_matches_energy_decay():
    """dV/dt = −∇Vᵀ G⁻¹ ∇V along a state-dependent metric flow (checked by differencing)."""
    V = st.potentials.get("himmelblau")
    G = st.Riemannian(lambda x: jnp.array([[2.0 + jnp.sin(x[0]), 0.3], [0.3, 1.0 + x[1] ** 2]]))
    flow = st.GradientFlow(V, G)
    sol = st.solve(flow, [0.0, 0.0], t1=0.05, method="rk45", rtol=1e-12, atol=1e-14, n_save=501)
    dEdt = np.gradient(sol.energy, sol.t, edge_order=2)
    rate = np.array([float(flow.dissipation(jnp.asarray(x))) for x in sol.x])
    np.testing.assert_allclose(dEdt[5:-5], rate[5:-5], rtol=1e-5)
    assert np.all(rate < 0)


def test_jacobian_symmetric_and_fixed_point_eigenvalues_real():
    """−∇²V is symmetric; G⁻¹∇²V has real eigenvalues at fixed points: nodes and saddles only."""
    V = st.potentials.get("muller-brown")
    rng = np.random.default_rng(3)
    flow = st.GradientFlow(V)
    for x in rng.uniform([-1.5, -0.5], [1.2, 2.0], (20, 2)):
        J = np.asarray(flow.jacobian(x))
        np.testing.assert_allclose(J, J.T, rtol=1e-12, atol=1e-9)
    G = st.Riemannian(lambda x: jnp.array([[2.0 + x[0] ** 2, 0.7], [0.7, 1.0 + x[1] ** 2]]))
    for metric in (st.Euclidean(), st.Preconditioned([[3.0, 1.0], [1.0, 0.5]]), G):
        fl = st.GradientFlow(V, metric)
        fixed = [
            [-0.558223634633, 1.441725841805],
            [-0.822001558733, 0.624312802815],
            [0.212486582001, 0.292988325107],
        ]
        for x in fixed:
            J = np.asarray(fl.jacobian(jnp.asarray(x)))
            lam = np.linalg.eigvals(J)
            assert np.max(np.abs(lam.imag)) < 1e-9 * np.max(np.abs(lam))
            # J is self-adjoint in the G inner product: GJ is symmetric
            GJ = np.asarray(metric.matrix(jnp.asarray(x))) @ J
            np.testing.assert_allclose(GJ, GJ.T, rtol=1e-6, atol=1e-6)


def test_discrete_gradient_monotone_far_beyond_stability_where_euler_diverges():
    A = np.diag([1.0, 100.0])
    V = quad(A)
    limit = 2.0 / 100.0
    h = 100 * limit
    # On a quadratic both are exact linear maps: per mode, the midpoint rule multiplies by
    # (1 − hλ/2)/(1 + hλ/2) and implicit Euler by 1/(1 + hλ); the energy follows mode by mode.
    factors = {
        "discrete-gradient": lambda lam: (1 - h * lam / 2) / (1 + h * lam / 2),
        "implicit-euler": lambda lam: 1 / (1 + h * lam),
    }
    n = np.arange(41)
    for method, r in factors.items():
        sol = st.solve(V, [1.0, 1.0], t1=40 * h, method=method, h=h)
        assert np.all(np.diff(sol.energy) <= 0.0), method
        exact = 0.5 * r(1.0) ** (2 * n) + 50.0 * r(100.0) ** (2 * n)
        np.testing.assert_allclose(sol.energy, exact, rtol=1e-9, atol=1e-300)
    with pytest.raises(st.FlowDiverged) as e:
        st.solve(V, [1.0, 1.0], t1=40 * h, method="euler", h=h)
    msg = str(e.value)
    assert "step 2 exceeds the stability limit 0.02" in msg
    assert e.value.stability_limit == pytest.approx(limit, rel=1e-12)
    np.testing.assert_allclose(e.value.x, [1.0, 1.0])  # the last finite state
    assert e.value.solution is not None and e.value.solution.status == "energy-increase"
    with pytest.raises(st.FlowDiverged) as e:
        st.solve(V, [1.0, 1.0], t1=1.0, method="rk4", h=0.05)
    assert e.value.stability_limit == pytest.approx(RK4_STABILITY / 100.0, rel=1e-12)


def test_discrete_gradient_energy_identity_on_nonconvex_landscape():
    """V(x') − V(x) = −h|∇̄V|² ≤ 0 exactly, even with steps far beyond the explicit limit."""
    V = st.potentials.get("muller-brown")
    sol = st.solve(
        V, [[-0.8, 1.2], [0.9, 0.2], [-0.3, 0.3]], t1=0.5, method="discrete-gradient", h=0.05
    )  # λ_max ~ 4000 here: 100× beyond 2/λ_max
    assert np.all(np.diff(sol.energy, axis=1) <= 1e-12)


def test_batch_equals_loop_and_second_call_does_not_recompile():
    flow = st.GradientFlow(st.potentials.get("himmelblau"))
    x0 = np.random.default_rng(0).uniform(-5, 5, (7, 2))
    for method, kw in (("rk4", {"h": 1e-3}), ("rk45", {})):
        batch = st.solve(flow, x0, t1=0.3, method=method, n_save=5, **kw)
        for i in range(len(x0)):
            one = st.solve(flow, x0[i], t1=0.3, method=method, n_save=5, **kw)
            np.testing.assert_allclose(batch.x[i], one.x, rtol=1e-12, atol=1e-12)
        n = solve_mod.COMPILE_COUNT["n"]
        again = st.solve(flow, x0 + 0.1, t1=0.5, method=method, n_save=5, **kw)
        assert solve_mod.COMPILE_COUNT["n"] == n, "a second call with equal shapes recompiled"
        assert again.stats["compile_time_s"] == 0.0


def test_blocks_give_the_same_answer():
    flow = st.GradientFlow(st.potentials.get("himmelblau"))
    x0 = np.random.default_rng(1).uniform(-5, 5, (50, 2))
    a = st.solve(flow, x0, t1=0.2, method="rk4", h=1e-3, n_save=3)
    b = st.solve(flow, x0, t1=0.2, method="rk4", h=1e-3, n_save=3, block_size=16)
    np.testing.assert_array_equal(a.x, b.x)


def test_grad_tol_stops_and_holds():
    V = st.potentials.get("double-well")
    for method, kw in (("rk4", {"h": 1e-2}), ("rk45", {})):
        sol = st.solve(V, [[0.5, 0.5], [1.0, 0.0]], t1=50.0, method=method, grad_tol=1e-6, **kw)
        assert list(sol.status) == ["converged", "converged"]
        assert sol.grad_norm[0, -1] <= 1e-6 and sol.t_final[0] < 20.0
        assert sol.steps[1] == 0  # started at the minimum
        np.testing.assert_array_equal(sol.x[0, -1], sol.x_final[0])


def test_errors_record_keeps_other_trajectories():
    V = st.potentials.get("saddle")
    sol = st.solve(V, [[0.0, 1.0], [1.0, 0.0]], t1=400.0, method="rk4", h=0.01, errors="record")
    assert list(sol.status) == ["done", "non-finite"]
    assert abs(sol.x_final[0, 1]) < 1e-300 or sol.x_final[0, 1] == 0.0
    assert np.isfinite(sol.x_final[1]).all()


def test_unbounded_energy_is_named():
    with pytest.raises(st.FlowDiverged, match="unbounded below"):
        st.solve(st.potentials.get("saddle"), [1.0, 0.0], t1=400.0, method="rk4", h=0.01)


def test_max_steps_says_stiff():
    V = quad(np.diag([1.0, 1e6]))
    with pytest.raises(st.ConvergenceError, match="kvaerno5"):
        st.solve(V, [1.0, 1.0], t1=10.0, method="rk45", max_steps=200)
    sol = st.solve(V, [1.0, 1.0], t1=10.0, method="kvaerno5", max_steps=200)
    assert sol.status == "done"


@pytest.mark.parametrize(
    "kwargs, key",
    [
        (dict(t1=-1.0, method="rk45"), "t1"),
        (dict(t1=float("nan"), method="rk45"), "t1"),
        (dict(t1=1.0, method="rk5"), "method"),
        (dict(t1=1.0, method="euler"), "h"),
        (dict(t1=1.0, method="euler", h=0.0), "h"),
        (dict(t1=1.0, method="rk45", rtol=-1.0), "rtol"),
        (dict(t1=1.0, method="rk45", n_save=1), "n_save"),
        (dict(t1=1.0, method="rk45", errors="ignore"), "errors"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, key):
    with pytest.raises(st.ScenarioError) as e:
        st.solve(st.potentials.get("double-well"), [0.5, 0.5], **kwargs)
    assert e.value.key == key and str(e.value).startswith(key)


def test_bad_starts_are_refused():
    V = st.potentials.get("double-well")
    with pytest.raises(st.ScenarioError, match=r"shape \(2,\)"):
        st.solve(V, [0.5, 0.5, 0.5], t1=1.0)
    with pytest.raises(st.ScenarioError, match="start 1"):
        st.solve(V, [[0.5, 0.5], [np.nan, 0.0]], t1=1.0)


def test_riemannian_metric_that_is_not_spd_is_diagnosed():
    V = st.potentials.get("double-well")
    G = st.Riemannian(lambda x: jnp.array([[1.0 - x[0], 0.0], [0.0, 1.0]]))
    with pytest.raises(st.FlowDiverged, match="not symmetric positive definite"):
        st.solve(st.GradientFlow(V, G), [1.5, 0.1], t1=1.0, method="rk4", h=1e-3)


def test_gradient_descent_stops_at_the_exact_step():
    """GD with grad_tol stops at the first n with |A x_n| ≤ tol, x_n = (I − hA)ⁿx0 (numpy)."""
    h, tol = 0.05, 1e-6
    V = quad(A3)
    x, n = X0.copy(), 0
    while np.linalg.norm(A3 @ x) > tol:
        x, n = x - h * (A3 @ x), n + 1
    for start in (X0, np.stack([X0, 2 * X0, 0.5 * X0])):
        sol = st.solve(V, start, t1=100.0, method="euler", h=h, grad_tol=tol)
        steps = np.atleast_1d(sol.steps)
        assert steps[0] == n
        np.testing.assert_allclose(np.atleast_2d(sol.x_final)[0], x, rtol=1e-12)
        assert np.atleast_1d(sol.t_final)[0] == pytest.approx(n * h, rel=1e-12)


def test_divergence_is_caught_at_the_first_rising_step():
    """Euler at h slightly above 2/λ_max: the energy first rises at a step numpy predicts."""
    A = np.diag([1.0, 10.0])
    h = 0.2 * 1.02  # 2/λ_max = 0.2: the stiff mode grows by |1 − 10h| = 1.04 per step
    x = np.array([1.0, 1e-3])
    n = 0
    while True:
        x1 = x - h * (A @ x)
        if 0.5 * x1 @ A @ x1 > 0.5 * x @ A @ x:
            break
        x, n = x1, n + 1
    with pytest.raises(st.FlowDiverged) as e:
        st.solve(quad(A), [1.0, 1e-3], t1=1000 * h, method="euler", h=h)
    assert e.value.step == n
    np.testing.assert_allclose(e.value.x, x, rtol=1e-12)
    assert "exceeds the stability limit 0.2" in str(e.value)


def test_proximal_step_without_minimiser_is_halved():
    """On V = y² − x² the proximal problem has a minimiser only for h < 1/|λ_min| = 1/2: a unit
    step is retried as halves, then quarters, which exist: four implicit sub-steps of 1/4."""
    sol = st.solve(st.potentials.get("saddle"), [0.5, 0.5], t1=2.0, method="implicit-euler", h=1.0)
    # implicit Euler on x' = 2x, y' = −2y with step 1/4: x ← x/(1 − 1/2), y ← y/(1 + 1/2)
    np.testing.assert_allclose(sol.x_final, [0.5 * 2.0**8, 0.5 / 1.5**8], rtol=1e-10)
    assert sol.stats["rejected_or_halved"] == 4  # 1 → 1/2 → 1/4, in each of the two steps
    sol = st.solve(st.potentials.get("saddle"), [0.5, 0.5], t1=1.0, method="implicit-euler", h=0.1)
    np.testing.assert_allclose(sol.x_final, [0.5 / 0.8**10, 0.5 / 1.2**10], rtol=1e-10)


@pytest.mark.parametrize(
    "method, kw", [("rk4", {"h": 1e-4}), ("rk45", {}), ("discrete-gradient", {"h": 1e-2})]
)
def test_segmented_run_with_progress_equals_one_segment(method, kw):
    """progress= runs the loop in compiled segments; the answer must not change."""
    V = st.potentials.get("muller-brown")
    x0 = [[-0.8, 1.2], [0.2, 0.6], [0.9, 0.2]]
    seen = []
    a = st.solve(V, x0, t1=0.05, method=method, n_save=31, progress=seen.append, **kw)
    b = st.solve(V, x0, t1=0.05, method=method, n_save=31, **kw)
    assert a.stats["segments"] == len(a.t) - 1 > 1 and seen[-1] == 1.0 and seen == sorted(seen)
    # fixed steps: identical arithmetic; adaptive: restarted step control, within tolerance
    tol = 1e-12 if st.METHODS[method].kind == "fixed" else 1e-6
    np.testing.assert_allclose(a.x, b.x, rtol=tol, atol=tol)
    np.testing.assert_array_equal(a.status, b.status)


def test_large_batch_sharded_over_host_devices_matches_small_runs():
    """≥ 4096 starts per CPU device are split over the XLA host devices; answers don't change."""
    import jax

    flow = st.GradientFlow(st.potentials.get("himmelblau"))
    x0 = np.random.default_rng(5).uniform(-5, 5, (2 * solve_mod.MIN_PER_DEVICE + 3, 2))
    big = st.solve(
        flow, x0, t1=0.05, method="rk4", h=1e-3, n_save=3, save_state=False, grad_tol=1e-3
    )
    if jax.default_backend() == "cpu" and jax.local_device_count() > 1:
        assert solve_mod._shards(len(x0)) == 2
    idx = [0, 1, 4096, 4097, len(x0) - 1]
    small = st.solve(
        flow, x0[idx], t1=0.05, method="rk4", h=1e-3, n_save=3, save_state=False, grad_tol=1e-3
    )
    np.testing.assert_allclose(big.x_final[idx], small.x_final, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(big.steps[idx], small.steps)
    np.testing.assert_array_equal(big.status[idx], small.status)
