"""Ricci flow on surfaces: area law A0 − 8πt, K → 4π/A, Gauss–Bonnet, discrete flattening."""

import numpy as np
import pytest

import steepest as st
from steepest.geometry import meshes
from steepest.geometry.discrete_ricci import (
    _Metric,
    clausen2,
    discrete_ricci_flow,
    lobachevsky,
)
from steepest.geometry.ricci_surface import ricci_flow_surface


@pytest.fixture(scope="module")
def sphere():
    return meshes.icosphere(3)


def test_unnormalised_round_sphere_loses_area_at_8pi_and_stops_before_extinction(sphere):
    # dA/dt = −2∫K dA = −4πχ = −8π: A = A0 − 8πt, extinct at A0/(8π); the scheme keeps the
    # discrete Gauss–Bonnet identity, so the area law holds to round-off at every step
    sol = ricci_flow_surface(sphere, n_save=10, stop_area=0.02)
    A0 = sphere.area
    np.testing.assert_allclose(sol.diagnostics["area"], A0 - 8 * np.pi * sol.t, rtol=0, atol=1e-10)
    assert sol.stats["extinction_time"] == pytest.approx(A0 / (8 * np.pi), rel=1e-14)
    assert sol.t[-1] < A0 / (8 * np.pi)
    assert np.max(np.abs(sol.diagnostics["gauss_bonnet_error"])) < 1e-10
    # the shrinking sphere stays round and becomes rounder: K_max/K_min → 1
    ratio = sol.diagnostics["K_max"] / sol.diagnostics["K_min"]
    assert ratio[0] > 1.05 and ratio[-1] < 1 + 1e-6
    assert all(sol.checks.values()), sol.checks


def test_normalised_flow_drives_K_to_4pi_over_A_and_keeps_the_area(sphere):
    x = sphere.vertices
    # an even (antipodally symmetric) non-round factor: no component along the conformal
    # automorphisms of S² (the l = 1 modes), which the flow leaves neutral
    u0 = 0.5 * x[:, 2] ** 2 + 0.3 * x[:, 0] * x[:, 1]
    sol = ricci_flow_surface(sphere, u0, normalized=True, t1=8.0, step=0.1, n_save=8, tol=1e-5)
    A = sol.diagnostics["area"]
    np.testing.assert_allclose(A, A[0], rtol=1e-12)
    Kbar = 4 * np.pi / A[-1]
    dev = sol.diagnostics["K_deviation"]
    assert dev[0] > 0.5 * Kbar and dev[-1] < 1e-3 * Kbar
    assert np.all(np.diff(sol.energy) < 0)  # E_N is a Lyapunov function
    assert np.max(np.abs(sol.diagnostics["gauss_bonnet_error"])) < 1e-10


def test_torus_flows_to_a_flat_metric_at_constant_area():
    tor = meshes.torus(24, 12)
    sol = ricci_flow_surface(tor, t1=4.0, step=0.05, n_save=8)
    A = sol.diagnostics["area"]
    np.testing.assert_allclose(A, A[0], rtol=1e-12)  # χ = 0: no area change
    dev = sol.diagnostics["K_deviation"]
    assert dev[0] > 1.0 and dev[-1] < 1e-4  # K → 0
    assert np.max(np.abs(sol.diagnostics["gauss_bonnet_error"])) < 1e-10
    assert np.all(np.diff(sol.energy) <= 1e-12)


def test_lobachevsky_function_matches_its_definition_and_known_values():
    # Cl₂(π/3) = 1.01494160640965362502… (the maximum of Cl₂; Gieseking's constant is
    # (3√3/4)… Cl₂(2π/3)); Л(θ) = −∫₀^θ log|2 sin t| dt, Л(0) = Л(π/2) = Л(π) = 0
    assert clausen2(np.pi / 3) == pytest.approx(1.0149416064096536, abs=1e-15)
    np.testing.assert_allclose(lobachevsky([0.0, np.pi / 2, np.pi]), 0, atol=1e-15)
    th = np.linspace(0.1, 3.0, 7)
    eps = 1e-5
    dL = (lobachevsky(th + eps) - lobachevsky(th - eps)) / (2 * eps)
    np.testing.assert_allclose(dL, -np.log(2 * np.sin(th)), atol=1e-9)


def test_discrete_energy_has_gradient_K_minus_target_and_hessian_the_cotan_laplacian():
    m = meshes.spherical_cap(2, -0.3)
    met = _Metric(m, None)
    u = 0.1 * np.random.default_rng(0).normal(size=m.n_vertices)
    Kt = np.zeros(m.n_vertices)
    g = met.curvature(u) - Kt
    H = met.hessian(u).toarray()
    eps, eye = 1e-4, np.eye(m.n_vertices)
    for i in range(0, m.n_vertices, 7):
        fd = (met.energy(u + eps * eye[i], Kt) - met.energy(u - eps * eye[i], Kt)) / (2 * eps)
        assert fd == pytest.approx(g[i], abs=1e-7)
        dK = (met.curvature(u + 1e-6 * eye[i]) - met.curvature(u - 1e-6 * eye[i])) / 2e-6
        np.testing.assert_allclose(dK, H[:, i], atol=1e-7)  # ∂K/∂u = L (−L in libigl's sign)


@pytest.mark.parametrize("boundary", ["fixed", "circle"])
def test_conformal_flattening_of_a_disk_like_mesh(boundary):
    m = meshes.spherical_cap(3, -0.3)
    sol = discrete_ricci_flow(m, boundary=boundary)
    assert sol.status == "converged"
    # interior angle sums are 2π to 1e-8 (Newton: quadratic convergence to ~1e-14)
    assert sol.diagnostics["interior_angle_sum_error"][-1] < 1e-8
    assert sol.diagnostics["interior_angle_sum_error"][0] > 1e-2
    err = sol.diagnostics["curvature_error"]
    assert np.all(err[2:] < err[1:-1] ** 1.5 * 10)  # superlinear (Newton) convergence
    # Gauss–Bonnet ΣK = 2πχ = 2π at every saved step
    assert np.max(np.abs(sol.diagnostics["gauss_bonnet_error"])) < 1e-10
    assert np.all(np.diff(sol.energy) <= 1e-10 * np.abs(sol.energy).max())
    # the flat metric lays out in the plane: every edge length realised, no face flipped
    assert sol.stats["layout_length_error"] < 1e-8
    assert sol.stats["layout_flipped_faces"] == 0
    assert all(sol.checks.values()), sol.checks
    if boundary == "fixed":  # boundary edge lengths kept: u = 0 there
        assert np.all(sol.final[m.boundary_vertices] == 0)


def test_flow_steps_also_reach_the_flat_metric():
    m = meshes.spherical_cap(2, -0.3)
    # u_t = −(K − K̄) with implicit Euler steps τ (each a proximal Newton solve); ∂K/∂u = L has
    # small eigenvalues (O(h²) times those of −Δ), so the flow is slow and τ is taken large
    sol = discrete_ricci_flow(m, step=100.0, max_iter=60)
    assert sol.status == "converged"
    assert np.all(np.diff(sol.energy) < 1e-12)


def test_bad_targets_are_refused():
    m = meshes.spherical_cap(2, -0.3)
    with pytest.raises(st.ScenarioError, match="Gauss–Bonnet"):
        discrete_ricci_flow(m, np.zeros(m.n_vertices), boundary="circle")
    with pytest.raises(st.ScenarioError, match="closed surface cannot be flat"):
        discrete_ricci_flow(meshes.icosphere(1))
    with pytest.raises(st.ScenarioError, match="boundary"):
        discrete_ricci_flow(m, boundary="free")
    with pytest.raises(st.ScenarioError, match="closed surfaces"):
        ricci_flow_surface(m)
