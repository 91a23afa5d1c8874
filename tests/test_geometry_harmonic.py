"""Harmonic map heat flow into S²: energy decrease at every step, |u| = 1, 4π, corotational."""

import numpy as np
import pytest
from scipy import integrate

import steepest as st
from steepest.geometry import meshes
from steepest.geometry import sphere_maps as sm
from steepest.geometry.corotational import corotational_flow, harmonic_energy
from steepest.geometry.harmonic import _run, harmonic_map_flow
from steepest.geometry.map_domains import MapGrid


def _square_stereographic_energy(a):
    """½∫_{[−a,a]²}|∇u|² = ∫ 4/(1 + r²)² for the λ = 1 stereographic map (quadrature)."""
    val, _ = integrate.dblquad(lambda y, x: 4 / (1 + x * x + y * y) ** 2, -a, a, -a, a)
    return val


def _perturbed_degree_one(n, a):
    g = MapGrid.square(n, 2 * a)
    X, Y = g.coordinates()
    u = sm.stereographic(X, Y, 1.0)
    bump = np.exp(-(X**2 + Y**2) / 4)[..., None] * np.array([0.8, 0.0, 0.3])
    u0 = u + bump
    return g, u0 / np.linalg.norm(u0, axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def degree_one_runs():
    out = {}
    for a in (4.0, 8.0):
        g, u0 = _perturbed_degree_one(129, a)
        out[a] = harmonic_map_flow(u0, g, t1=12.0, step=0.05, n_save=12)
    return out


def test_degree_one_map_relaxes_to_the_conformal_map_and_its_energy_tends_to_4pi(degree_one_runs):
    # The conformal (stereographic) map is the energy minimiser for its boundary data; its energy
    # on [−a, a]² is ∫4/(1 + r²)², which tends to 4π = |S²| as a → ∞ (Lichnerowicz: E ≥ 4π|deg|
    # with equality for conformal maps).
    gaps = []
    for a, sol in degree_one_runs.items():
        assert all(sol.checks.values()), sol.checks
        exact = _square_stereographic_energy(a)
        assert abs(sol.energy[-1] - exact) / exact < 3e-3
        # E = |covered area| for a conformal map: the degree (ΣΩ/4π) matches E/4π
        assert abs(abs(sol.diagnostics["degree"][-1]) - sol.energy[-1] / (4 * np.pi)) < 3e-3
        gaps.append(1 - sol.energy[-1] / (4 * np.pi))
    assert gaps[1] < 0.02 and gaps[1] < 0.4 * gaps[0]  # → 4π as the domain grows


def test_energy_decreases_at_every_step_and_unit_length_is_kept(degree_one_runs):
    sol = degree_one_runs[8.0]
    # E(uⁿ⁺¹) + τ‖v‖²_M ≤ E(uⁿ) at every one of the 240 steps (Alouges 1997; Bartels 2005)
    assert sol.stats["max_energy_rise"] < 0
    assert sol.stats["max_dissipation_defect"] <= 1e-13
    assert np.all(np.diff(sol.energy) < 0)
    assert np.max(sol.diagnostics["unit_length_error"]) < 1e-14
    # boundary data stay fixed (Dirichlet)
    b = MapGrid.square(129, 16.0).boundary
    np.testing.assert_array_equal(sol.frames[-1][b], sol.frames[0][b])


@pytest.mark.parametrize("tau", [1e-3, 1.0, 1e3])
def test_energy_decreases_for_every_step_size_on_a_periodic_grid(tau):
    g = MapGrid.square(32, 2 * np.pi, periodic=True)
    X, Y = g.coordinates()
    u0 = np.stack([np.cos(X + np.sin(Y)), np.sin(2 * Y) * 0.7, 1 + np.cos(X) * np.sin(Y)], -1)
    u0 /= np.linalg.norm(u0, axis=-1, keepdims=True)
    sol = harmonic_map_flow(u0, g, t1=5 * tau, step=tau, n_save=5)
    assert sol.checks["energy_non_increasing_every_step"]
    assert sol.stats["max_dissipation_defect"] <= 1e-13
    assert np.max(sol.diagnostics["unit_length_error"]) < 1e-14
    # a periodic map's degree is an integer, and this one is null-homotopic: it stays 0
    np.testing.assert_allclose(sol.diagnostics["degree"], 0, atol=1e-9)


def test_second_call_with_equal_shapes_does_not_recompile(degree_one_runs):
    g, u0 = _perturbed_degree_one(129, 4.0)
    before = _run._cache_size()
    harmonic_map_flow(u0, g, t1=0.2, step=0.05, n_save=12)
    assert _run._cache_size() == before


def test_mesh_flow_with_corotational_boundary_data_reaches_4pi_sin2_half_b():
    # on a Delaunay disk mesh, boundary angle b = π/2: the equivariant harmonic map has energy
    # 4π sin²(b/2) = 2π; the P1 cotangent energy of the discrete minimiser approaches it
    b = np.pi / 2
    m = meshes.disk(16)
    x, y = m.vertices[:, 0], m.vertices[:, 1]
    u0 = sm.equivariant(x, y, lambda r: b * r)
    sol = harmonic_map_flow(u0, m, t1=3.0, step=0.02, n_save=6)
    assert all(sol.checks.values()), sol.checks
    assert abs(sol.energy[-1] / harmonic_energy(b) - 1) < 5e-3
    assert sol.stats["max_dissipation_defect"] <= 1e-13


def test_corotational_limit_energy_is_4pi_sin2_half_b_with_second_order_error():
    b = 0.8 * np.pi
    errs = []
    for n in (50, 100, 200):
        sol = corotational_flow(b, n=n, t1=20.0, n_save=4)
        assert sol.status == "converged", sol.message
        assert all(sol.checks.values()), sol.checks
        errs.append(abs(sol.energy[-1] / harmonic_energy(b) - 1))
    assert errs[-1] < 1e-2  # the default resolution n = 200: well within 1 %
    order = -np.polyfit(np.log([50, 100, 200]), np.log(errs), 1)[0]
    assert 1.8 < order < 2.2
    # and the limit profile is 2 arctan(tan(b/2) r)
    r = sol.extra["r"]
    np.testing.assert_allclose(sol.final, 2 * np.arctan(np.tan(b / 2) * r), atol=2e-3)


def test_large_boundary_angle_bubbles_in_finite_time():
    # b = 3π/2 > π, h0 = b r: Chang–Ding–Ye finite-time blow-up. The bubble scale ρ(t) falls
    # to the grid at a time T_n that converges as the grid is refined (a real singularity, not a
    # grid effect), while for b = π/2 the scale stays at 1/tan(b/2) = 1.
    T = []
    for n in (100, 200, 400):
        sol = corotational_flow(1.5 * np.pi, n=n, t1=1.0, n_save=40)
        assert sol.status == "bubbling"
        assert all(sol.checks.values()), sol.checks
        rho = sol.diagnostics["scale"]
        assert np.all(np.diff(rho[1:]) < 0)  # the bubble only shrinks
        assert sol.energy[-1] < sol.energy[0] - 4 * np.pi  # more than a bubble's energy is gone
        T.append(sol.t[-1])
    d = np.diff(T)
    assert np.all(d > 0) and d[1] < 0.8 * d[0]
    calm = corotational_flow(0.5 * np.pi, n=100, t1=5.0, n_save=5)
    assert calm.status == "converged"
    assert abs(calm.diagnostics["scale"][-1] - 1) < 1e-3


def test_boundary_data_not_of_unit_length_are_refused():
    g = MapGrid.square(9, 1.0)
    u = np.zeros((9, 9, 3))
    u[..., 2] = 1.0
    u[0, 4] = [0, 0, 1.5]
    with pytest.raises(st.ScenarioError, match="boundary data are not of unit length"):
        harmonic_map_flow(u, g, t1=0.1)
    u[0, 4] = [0, 0, 1]
    u[4, 4] = [0, 0.5, 0.5]
    with pytest.raises(st.ScenarioError, match="map is not of unit length"):
        harmonic_map_flow(u, g, t1=0.1)
    with pytest.raises(st.ScenarioError, match="shape"):
        harmonic_map_flow(u[:-1], g, t1=0.1)
    u[4, 4] = [0, 0, 1]
    with pytest.raises(st.ScenarioError, match="theta"):
        harmonic_map_flow(u, g, t1=0.1, theta=0.3)


def test_obtuse_mesh_is_refused_because_the_proof_needs_it():
    V = [[0, 0, 0], [1, 0, 0], [0.5, 0.05, 0], [0.5, -0.05, 0]]  # two needles: α + β > π
    m = meshes.TriMesh(V, [[0, 3, 1], [0, 1, 2]])
    u = np.tile([0.0, 0.0, 1.0], (4, 1))
    with pytest.raises(st.ScenarioError, match="weakly acute"):
        harmonic_map_flow(u, m, t1=0.1)
