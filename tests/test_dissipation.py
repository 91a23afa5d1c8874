"""The energy never rises along any method's trajectory, on every built-in potential (hypothesis).

Explicit schemes run below the stability limit of the whole box (2/λ_max over a grid, halved);
the implicit proximal step and the discrete gradient run at ten times that limit.
"""

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from hypothesis.extra import numpy as hnp

import steepest as st

BATCH = 8


@functools.cache
def box_curvature(name: str) -> float:
    V = st.potentials.get(name)
    b = np.asarray(V.plot_bounds)
    rng = np.random.default_rng(0)
    pts = rng.uniform(
        b[:, 0] - 0.1 * (b[:, 1] - b[:, 0]), b[:, 1] + 0.1 * (b[:, 1] - b[:, 0]), size=(400, V.dim)
    )
    lam = np.linalg.eigvalsh(np.asarray(V.hessian(pts)))
    return float(np.abs(lam).max())


@pytest.mark.parametrize("method", list(st.METHODS))
@pytest.mark.parametrize("name", st.potentials.names())
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(u=hnp.arrays(np.float64, (BATCH, 2), elements=hs.floats(0.0, 1.0)))
def test_energy_never_rises(name, method, u):
    V = st.potentials.get(name)
    b = np.asarray(V.plot_bounds)
    x0 = b[:, 0] + u[:, : V.dim] * (b[:, 1] - b[:, 0])
    m = st.METHODS[method]
    limit = 2.0 / box_curvature(name)
    kw: dict = {"n_save": 41}
    if m.kind == "fixed":
        h = 0.5 * limit if m.explicit else 10.0 * limit
        kw.update(h=h, t1=40 * h)
    else:
        kw.update(t1=40 * limit)
        if name in ("saddle", "monkey-saddle"):
            # the monkey saddle blows up in finite time: an adaptive solver's steps shrink
            # toward it, and a step budget ends the run as well as the default one does
            kw.update(max_steps=4000)
    # saddle and monkey-saddle are unbounded below (the monkey saddle blows up in finite time):
    # a trajectory may stop (non-finite; adaptive steps shrinking to nothing; or a proximal step
    # with no minimiser) and then holds its last good state
    sol = st.solve(V, x0, method=method, errors="record", **kw)
    if name in ("saddle", "monkey-saddle"):
        # outside the box the curvature grows without bound, so an explicit step that was
        # stable inside it eventually is not: the guard then stops the run as it rises
        allowed = {"done", "non-finite", "max-steps", "solver-failed", "energy-increase"}
        assert set(sol.status) <= allowed
    else:
        assert set(sol.status) == {"done"}, (name, method, sol.status)
    assert np.all(np.isfinite(sol.energy))
    dE = np.diff(sol.energy, axis=1)
    scale = 1e-12 * (np.abs(sol.energy[:, :-1]) + np.abs(sol.energy[:, :1]) + 1.0)
    assert np.all(dE <= scale), (name, method, dE.max())
    assert np.all(sol.energy[:, -1] <= sol.energy[:, 0])


@pytest.mark.parametrize("n_steps", [2, 3, 4, 5, 6])
def test_a_rise_inside_an_unguarded_chunk_is_never_lost(n_steps):
    """Explicit steps run in chunks that only flag a trajectory (E → NaN) and replay the chunk
    when flagged. The flag must survive to the chunk's end whatever the later steps do: RK4 at
    h = 0.75 on V = ½(x² + 4y²) (stable below 2.785/4) raises V at every step, and a flag that
    a later step overwrote would let an even number of steps pass unnoticed."""
    V = st.Potential(lambda x: 0.5 * (x[0] ** 2 + 4.0 * x[1] ** 2), dim=2)
    flow = st.GradientFlow(V)
    with pytest.raises(st.FlowDiverged) as e:
        st.solve(flow, [1.0, 1.0], t1=0.75 * n_steps, method="rk4", h=0.75, n_save=2)
    # stopped at the first step: the last good state is the start
    assert e.value.reason == "energy-increase" and e.value.step == 0
    np.testing.assert_array_equal(e.value.x, [1.0, 1.0])
    # and a trajectory that reaches grad_tol mid-chunk stops there, not at the chunk's end
    sol = st.solve(flow, [1e-3, 0.0], t1=5.0, method="rk4", h=0.1, grad_tol=5e-4, n_save=2)
    assert np.linalg.norm(np.asarray(V.grad(sol.x_final))) <= 5e-4
    assert sol.stats["steps_total"] == int(np.ceil(np.log(2.0) / 0.1))  # |∇V| ≈ 1e-3·e^{−t}
