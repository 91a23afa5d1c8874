"""Long validation runs (make test-slow): tolerance proportionality, orders at fine steps."""

import numpy as np
import pytest
import scipy.linalg

import steepest as st

pytestmark = pytest.mark.slow

A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
X0 = np.array([1.0, -1.0, 2.0])


@pytest.mark.parametrize("method", ["rk45", "tsit5", "kvaerno5"])
def test_global_error_follows_the_tolerance(method):
    """For a 5th-order adaptive method the global error shrinks with rtol (slope ≈ 1 in log-log),
    checked on the exact linear flow x(t) = expm(−tA)x0 over tolerances 1e-6 … 1e-12."""
    V = st.potentials.get("quadratic", A=A)
    exact = scipy.linalg.expm(-3.0 * A) @ X0
    tols = np.array([1e-6, 1e-8, 1e-10, 1e-12])
    errs = [
        np.linalg.norm(
            st.solve(V, X0, t1=3.0, method=method, rtol=r, atol=r * 1e-3, n_save=2).x_final - exact
        )
        for r in tols
    ]
    slope = np.polyfit(np.log(tols), np.log(errs), 1)[0]
    assert 0.6 < slope < 1.3, (slope, errs)
    assert errs[-1] < 1e-10 * np.linalg.norm(exact) * 1e3


@pytest.mark.parametrize(
    "method, order", [("euler", 1), ("rk4", 4), ("implicit-euler", 1), ("discrete-gradient", 2)]
)
def test_orders_on_muller_brown_with_a_riemannian_metric(method, order):
    """Orders hold for a state-dependent metric on a non-polynomial landscape too."""
    import jax.numpy as jnp

    G = st.Riemannian(lambda x: jnp.array([1.0 + x[0] ** 2, 2.0 + jnp.sin(x[1])]), diagonal=True)
    flow = st.GradientFlow(st.potentials.get("muller-brown"), G)
    x0, t1 = np.array([-0.3, 0.3]), 0.01
    ref = st.solve(flow, x0, t1=t1, method="rk45", rtol=1e-13, atol=1e-15, n_save=2).x_final
    hs = t1 / np.array([40, 80, 160, 320])
    errs = [
        np.linalg.norm(st.solve(flow, x0, t1=t1, method=method, h=h, n_save=2).x_final - ref)
        for h in hs
    ]
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert abs(slope - order) < 0.3, (slope, errs)
