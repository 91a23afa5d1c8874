"""Curve-shortening flow: exact circle law, the 2π area rate, Grayson's theorem, stability."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import steepest as st
from steepest.geometry import curves
from steepest.geometry._cyclic import assemble_dense, solve_cyclic
from steepest.geometry.csf import _run, bgn_step, curve_shortening


def test_cyclic_block_solver_matches_dense():
    rng = np.random.default_rng(1)
    for n in (3, 4, 40):
        b = -rng.uniform(0.5, 2.0, n)
        D = np.stack(
            [
                (abs(b[j]) + abs(b[j - 1]) + 0.01) * np.eye(2) + np.outer(v, v)
                for j, v in enumerate(rng.normal(size=(n, 2)))
            ]
        )
        r = rng.normal(size=(n, 2))
        y = np.asarray(solve_cyclic(jnp.asarray(D), jnp.asarray(b), jnp.asarray(r)))
        M = np.asarray(assemble_dense(jnp.asarray(D), jnp.asarray(b)))
        assert np.linalg.eigvalsh(M).min() > 0  # SPD, as for the curve step
        np.testing.assert_allclose(M @ y.ravel(), r.ravel(), atol=1e-12)


def test_regular_polygon_follows_its_semi_discrete_law_and_converges_to_the_circle():
    # A regular N-gon of radius r stays regular; the scheme's semi-discrete limit gives
    # d(r²)/dt = −2/cos²(π/N) exactly (from κ_j = −1/(r cos(π/N)) and h_j, N_j of the polygon),
    # which tends to the circle's r² = r0² − 2t with error O(N⁻²).
    t1, errs = 0.3, []
    for N in (16, 32, 64):
        sol = curve_shortening(curves.circle(N, 1.0), t1=t1, step=2.5e-4, n_save=6)
        r2 = sol.diagnostics["area"] / (0.5 * N * np.sin(2 * np.pi / N))
        semi = 1 - 2 * sol.t / np.cos(np.pi / N) ** 2
        assert np.max(np.abs(r2 - semi)) < 2e-3 * 0.3  # implicit Euler, O(τ)
        errs.append(np.max(np.abs(r2 - (1 - 2 * sol.t))))
        assert sol.checks and all(sol.checks.values()), sol.checks
    order = np.polyfit(np.log([16, 32, 64]), np.log(errs), 1)[0]
    assert order < -1.7  # the polygon error falls like N⁻² (until the O(τ) floor)


def test_first_order_in_time_on_the_circle():
    N, t1 = 64, 0.25
    semi = 1 - 2 * t1 / np.cos(np.pi / N) ** 2
    errs = []
    for step in (4e-3, 2e-3, 1e-3):
        sol = curve_shortening(curves.circle(N), t1=t1, step=step, n_save=1, step_fraction=1.0)
        r2 = sol.diagnostics["area"][-1] / (0.5 * N * np.sin(2 * np.pi / N))
        errs.append(abs(r2 - semi))
    order = np.polyfit(np.log([4e-3, 2e-3, 1e-3]), np.log(errs), 1)[0]
    assert 0.85 < order < 1.15


def test_embedded_nonconvex_curve_loses_area_at_rate_2pi_and_becomes_convex_and_round():
    X0 = curves.peanut(160, 0.6)
    assert not curves.is_convex(X0)
    sol = curve_shortening(X0, n_save=40, stop_area=0.02)
    A, t = sol.diagnostics["area"], sol.t
    # dA/dt = −2π for every embedded curve (Gauss–Bonnet for the turning of the tangent)
    rate = np.diff(A) / np.diff(t)
    assert np.max(np.abs(rate / (-2 * np.pi) - 1)) < 0.01
    assert sol.status == "stopped-before-extinction"
    assert t[-1] < A[0] / (2 * np.pi)  # stopped before the extinction time A(0)/(2π)
    # Grayson: it becomes convex, and the isoperimetric ratio tends to 1
    conv = sol.diagnostics["convex"]
    assert conv[-1] and not conv[0]
    first = int(np.argmax(conv))
    assert np.all(conv[first:])  # once convex, it stays convex
    iso = sol.diagnostics["isoperimetric_ratio"]
    assert iso[0] > 1.3 and iso[-1] < 1.005
    # Gage: for convex curves L²/A decreases
    assert np.all(np.diff(iso[first:]) <= 1e-12)
    assert sol.checks["length_non_increasing"] and sol.checks["embedded_at_every_saved_step"]


def test_length_decreases_for_every_step_size():
    # BGN (2007) Theorem 2.3: L(Xᵐ⁺¹) ≤ L(Xᵐ) whatever τ.
    X = jnp.asarray(curves.flower(90, petals=5, amplitude=0.4))
    step = jax.jit(bgn_step)
    for tau in (1e-5, 1e-3, 1e-1, 10.0):
        Y = X
        for _ in range(5):
            Z, _ = step(Y, tau)
            assert curves.length(Z) <= curves.length(Y) * (1 + 1e-13)
            Y = Z


def test_second_call_with_the_same_shapes_does_not_recompile():
    curve_shortening(curves.circle(48), t1=0.05, n_save=3)
    before = _run._cache_size()
    curve_shortening(curves.ellipse(48, 1.5, 1.0), t1=0.07, n_save=3)
    assert _run._cache_size() == before


@pytest.mark.parametrize(
    "points, words",
    [
        ([[0, 0], [1, 1], [1, 0], [0, 1]], "intersects itself"),  # a bow tie
        ([[0, 0], [1, 0], [1, 0], [0, 1]], "zero length"),
        ([[0, 0], [1, 0], [2, 0]], "zero area"),
        ([[0, 0], [1, 0]], "at least 3"),
        ([[0, 0], [1, float("nan")], [0, 1]], "non-finite"),
        ([[0, 0, 0], [1, 0, 0], [0, 1, 0]], "expected vertices of shape"),
    ],
)
def test_bad_curves_are_refused_with_one_sentence(points, words):
    with pytest.raises(st.ScenarioError, match=words) as err:
        curve_shortening(points)
    assert err.value.key == "curve"


def test_figure_eight_is_refused():
    th = np.linspace(0, 2 * np.pi, 80, endpoint=False)
    eight = np.stack([np.sin(th), np.sin(th) * np.cos(th)], axis=1)
    with pytest.raises(st.ScenarioError, match="intersects itself"):
        curves.check_curve(eight)


def test_orientation_is_normalised_and_measures_are_exact_on_a_square():
    sq = [[0, 0], [0, 1], [1, 1], [1, 0]]  # clockwise
    X = curves.check_curve(sq)
    assert curves.signed_area(X) == pytest.approx(1.0)
    assert curves.length(X) == pytest.approx(4.0)
    assert curves.isoperimetric_ratio(X) == pytest.approx(16 / (4 * np.pi))
    assert np.sum(curves.turning_angles(X)) == pytest.approx(2 * np.pi)


@pytest.mark.slow
def test_grayson_on_a_strongly_nonconvex_curve():
    # a five-petal flower with deep inlets: turns convex and round long before extinction
    X0 = curves.flower(400, petals=5, amplitude=0.55)
    assert curves.isoperimetric_ratio(X0) > 1.5
    sol = curve_shortening(X0, n_save=80, stop_area=0.005)
    rate = np.diff(sol.diagnostics["area"]) / np.diff(sol.t)
    assert np.max(np.abs(rate / (-2 * np.pi) - 1)) < 5e-3
    assert sol.diagnostics["convex"][-1]
    assert sol.diagnostics["isoperimetric_ratio"][-1] < 1.002
    assert all(sol.checks.values()), sol.checks
