"""From barriers to rates: harmonic rate formulas against closed forms, and Langevin escape
times against the Kramers–Langer formula.

Every reference number below comes from the mathematics (closed forms of the Hessians, the exact
Euler–Maruyama variance of an Ornstein–Uhlenbeck process, the exact one-dimensional mean
first-passage time by quadrature), never from the code's own output.
"""

from __future__ import annotations

import math
import time

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad

import steepest as st
from steepest import ConvergenceError, ScenarioError
from steepest.paths.rates import (
    EscapeEstimate,
    LangevinPaths,
    RateEstimate,
    escape_rate,
    harmonic_rate,
    langevin,
)

# Müller–Brown: the minimum C, the minimum B, and the saddle between them (C → B is the
# lowest exit from C: ΔE ≈ 8.52, against ≈ 40.1 towards A)
MB_C, MB_B, MB_S = (-0.050, 0.467), (0.623, 0.028), (0.212, 0.293)
# the fast tests share one double well (minima (±a, 0), saddle (0, 0)): Newton-polishing
# coordinates compiles a search kernel per potential, which costs seconds
DW_A, DW_K = 1.3, 0.7


def dw() -> st.Potential:
    """V = (x² − a²)² + k y² with a = 1.3, k = 0.7."""
    return st.potentials.get("double-well", a=DW_A, k=DW_K)


def point(*x: float) -> st.landscape.CriticalPoint:
    """A CriticalPoint at x known from the mathematics. Where ∇V(x) = 0 to round-off the rate
    functions take it as it is, recomputing energy and Hessian from V (so the placeholders here
    do not matter), without the Newton search whose compilation costs seconds per potential."""
    return st.landscape.CriticalPoint(
        x=np.array(x, dtype=float), energy=math.nan, index=-1, kind="unknown",
        eigenvalues=np.full(len(x), math.nan), eigenvectors=np.eye(len(x)), residual=math.nan,
    )  # fmt: skip


def double_well_rates(a: float, k: float, kT: float, gamma: float = 1.0) -> tuple[float, float]:
    """Closed forms for V = (x² − a²)² + k y²: H_min = diag(8a², 2k), H_saddle = diag(−4a², 2k),
    ΔE = a⁴. Kramers–Langer: |λ⁻|/(2πγ) √(det H_min/|det H_s|) = (4a²/2πγ) √2;
    Vineyard: (1/2π) √(8a² · 2k / 2k) = √8 a / 2π."""
    boltzmann = math.exp(-(a**4) / kT)
    kramers = 4 * a**2 / (2 * math.pi * gamma) * math.sqrt(8 * a**2 * 2 * k / (4 * a**2 * 2 * k))
    tst = math.sqrt(8 * a**2) / (2 * math.pi)
    return kramers * boltzmann, tst * boltzmann


def exact_mfpt_1d(V, x0: float, xf: float, kT: float, lower: float, gamma: float = 1.0) -> float:
    """The exact mean first-passage time from x0 to xf > x0 of dx = −V'/γ dt + √(2kT/γ) dW
    (reflecting far to the left): T = (γ/kT) ∫_{x0}^{xf} dy e^{V(y)/kT} ∫_{lower}^{y} e^{−V/kT}
    (Gardiner, Handbook of Stochastic Methods, ch. 5)."""

    def inner(y: float) -> float:
        return quad(lambda z: math.exp(-V(z) / kT), lower, y, limit=200)[0]

    outer = quad(lambda y: math.exp(V(y) / kT) * inner(y), x0, xf, limit=200)[0]
    return gamma * outer / kT


# -- harmonic rates: closed forms ---------------------------------------------------------------
def test_double_well_both_dynamics_match_closed_form():
    a, k, kT, gamma = DW_A, DW_K, 0.4, 2.5
    V = dw()
    kramers, tst = double_well_rates(a, k, kT, gamma)
    # rough coordinates: both points are Newton-polished
    r = harmonic_rate(V, [1.2, 0.05], [0.03, -0.02], kT, friction=gamma)
    assert isinstance(r, RateEstimate)
    assert r.k == pytest.approx(kramers, rel=1e-9)
    assert r.barrier == pytest.approx(a**4, rel=1e-12)
    assert r.prefactor == pytest.approx(kramers * math.exp(a**4 / kT), rel=1e-9)
    assert r.unstable_eigenvalue == pytest.approx(-4 * a**2, rel=1e-9)
    assert np.allclose(r.minimum.x, [a, 0.0], atol=1e-10)
    assert np.allclose(r.saddle.x, [0.0, 0.0], atol=1e-10)
    assert (r.dynamics, r.friction, r.kT) == ("overdamped", gamma, kT)
    assert "Kramers" in r.formula and "det H_min" in r.formula
    assert r.barrier_over_kT == pytest.approx(a**4 / kT)
    assert r.mfpt == pytest.approx(1 / kramers, rel=1e-9)

    t = harmonic_rate(V, r.minimum, r.saddle, kT, dynamics="tst")
    assert t.k == pytest.approx(tst, rel=1e-9)
    assert t.friction is None and "Vineyard" in t.formula
    # the friction does not enter TST; Kramers–Langer scales as 1/γ
    assert harmonic_rate(V, r.minimum, r.saddle, kT, dynamics="tst", friction=9.0).k == t.k
    r1 = harmonic_rate(V, r.minimum, r.saddle, kT, friction=1.0)
    assert r1.k == pytest.approx(gamma * kramers, rel=1e-9)


def test_tst_with_masses_uses_the_mass_weighted_hessian():
    # mass-weighted Hessians: diag(8a²/m₁, 2k/m₂) and diag(−4a²/m₁, 2k/m₂); the stable
    # transverse mode cancels, so k = (1/2π) √(8a²/m₁) e^{−a⁴/kT} whatever m₂ is
    a, kT, m1, m2 = DW_A, 0.25, 4.0, 0.3
    V = dw()
    boltzmann = math.exp(-(a**4) / kT)
    # a CriticalPoint that is not critical to round-off is Newton-polished like coordinates
    r = harmonic_rate(V, point(1.25, 0.01), [0, 0], kT, dynamics="tst", masses=[m1, m2])
    assert np.allclose(r.minimum.x, [a, 0.0], atol=1e-10)
    assert r.k == pytest.approx(math.sqrt(8 * a**2 / m1) / (2 * math.pi) * boltzmann)
    assert r.unstable_eigenvalue == pytest.approx(-4 * a**2 / m1)
    same = harmonic_rate(V, [a, 0], [0, 0], kT, dynamics="tst", masses=2.0)
    assert same.k == pytest.approx(math.sqrt(8 * a**2 / 2.0) / (2 * math.pi) * boltzmann)


def test_one_dimensional_cosine_and_a_separable_three_dimensional_case():
    # V = −cos x: minimum 0 (V'' = 1), barrier top π (V'' = −1, index 1 = dim: a "maximum"),
    # ΔE = 2; Kramers–Langer k = 1/(2πγ) e^{−2/kT}, Vineyard k = 1/(2π) e^{−2/kT}
    kT, gamma = 0.3, 0.5
    V1 = st.Potential(lambda x: -jnp.cos(x[0]), dim=1, bounds=[(-4.0, 4.0)], name="cos")
    r = harmonic_rate(V1, point(0.0), point(math.pi), kT, friction=gamma)
    assert r.k == pytest.approx(math.exp(-2 / kT) / (2 * math.pi * gamma), rel=1e-9)
    assert r.saddle.kind == "maximum" and r.saddle.index == 1
    assert r.minimum.energy == -1.0 and r.saddle.energy == 1.0
    t = harmonic_rate(V1, point(0.0), point(math.pi), kT, dynamics="tst")
    assert t.k == pytest.approx(math.exp(-2 / kT) / (2 * math.pi), rel=1e-9)

    # separable: −cos x₀ + ½ω₁²(x₁ − 0.3)² + ½ω₂²x₂², the transverse modes cancel in the ratio
    V3 = st.Potential(
        lambda x: -jnp.cos(x[0]) + 0.5 * 9.0 * (x[1] - 0.3) ** 2 + 0.5 * 0.25 * x[2] ** 2,
        dim=3,
        bounds=[(-4.0, 4.0), (-2.0, 2.0), (-2.0, 2.0)],
        name="cos-separable",
    )
    r3 = harmonic_rate(V3, point(0, 0.3, 0), point(math.pi, 0.3, 0), kT, friction=gamma)
    assert r3.k == pytest.approx(r.k, rel=1e-9)


def test_rate_is_invariant_under_a_rotation():
    # the Kramers–Langer rate depends on det and λ⁻ only: rotating the double well by 30°
    # leaves the closed form unchanged
    a, k, kT = 1.0, 3.0, 0.2
    c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)

    def rotated(x):
        u, v = c * x[0] + s * x[1], -s * x[0] + c * x[1]
        return (u**2 - a**2) ** 2 + k * v**2

    V = st.Potential(rotated, dim=2, bounds=[(-2, 2), (-2, 2)], name="rotated-well")
    r = harmonic_rate(V, point(c * a, s * a), point(0.0, 0.0), kT)
    assert r.k == pytest.approx(double_well_rates(a, k, kT)[0], rel=1e-9)


# -- Langevin dynamics: the exact Euler–Maruyama Ornstein–Uhlenbeck process ----------------------
def test_langevin_matches_exact_euler_maruyama_moments():
    # V = ½(λ₁x² + λ₂y²): Euler–Maruyama is x_{n+1} = ρ x_n + √(2kT dt/γ) ξ, ρ = 1 − λdt/γ, so
    # E x_n = ρⁿ x₀ and Var x_n = (2kT dt/γ)(1 − ρ^{2n})/(1 − ρ²), exactly, at any dt
    lam = np.array([1.0, 4.0])
    V = st.Potential(lambda x: 0.5 * (lam[0] * x[0] ** 2 + lam[1] * x[1] ** 2), dim=2)
    kT, gamma, dt, n, walkers = 0.5, 2.0, 0.05, 200, 20_000
    x0 = np.tile([1.0, -2.0], (walkers, 1))
    p = langevin(V, x0, kT, dt=dt, n_steps=n, friction=gamma, seed=3, n_save=5)
    assert isinstance(p, LangevinPaths)
    assert p.x.shape == (5, walkers, 2) and p.energy.shape == (5, walkers)
    assert np.allclose(p.t, [0, 50 * dt, 100 * dt, 150 * dt, 200 * dt])
    assert np.array_equal(p.x[0], x0)
    rho = 1 - lam * dt / gamma
    var = 2 * kT * dt / gamma * (1 - rho ** (2 * n)) / (1 - rho**2)
    mean = rho**n * np.array([1.0, -2.0])
    # 5 standard errors: of a mean, √(var/N); of a variance, var·√(2/N)
    assert np.all(np.abs(p.x[-1].mean(0) - mean) < 5 * np.sqrt(var / walkers))
    assert np.all(np.abs(p.x[-1].var(0) / var - 1) < 5 * math.sqrt(2 / walkers))
    assert np.allclose(p.energy[-1], 0.5 * (p.x[-1] ** 2 @ lam))
    # deterministic: the same seed gives the same walkers, another seed others
    again = langevin(V, x0, kT, dt=dt, n_steps=n, friction=gamma, seed=3, n_save=5)
    assert np.array_equal(again.x, p.x)
    other = langevin(V, x0, kT, dt=dt, n_steps=n, friction=gamma, seed=4, n_save=5)
    assert not np.allclose(other.x[-1], p.x[-1])


# -- escape rates -------------------------------------------------------------------------------
def test_escape_rate_on_a_1d_double_well_at_six_kT_matches_kramers():
    # V = (x² − 1)² in 1-D at ΔE = 6 kT, 1024 walkers from −1 into |x − 1| ≤ 0.5 (the default
    # radius, a quarter of the distance), i.e. first passage to x_f = 0.5.
    # Tolerances: the relative standard error of 1/⟨τ⟩ is 1/√1024 ≈ 3.1 % (τ is exponential);
    # Euler–Maruyama at the default dt (5 % of the stability limit 2/λ_max = 2/8) biases the
    # rate up by ≈ 3 % (measured: +2.9 ± 1.1 % at dt, +0.3 ± 1.1 % at dt/2, 8192 walkers).
    # Against the exact MFPT (quadrature): 4σ + 3 % = 15.5 %. Against Kramers–Langer, whose
    # finite-barrier correction is O(kT/ΔE): here the exact rate is 0.938 × Kramers, so the
    # simulation is expected near 0.97 × Kramers and 20 % leaves 3σ beside the 6 % correction.
    kT = 1 / 6
    V = st.potentials.get("double-well", dim=1)
    kramers = harmonic_rate(V, point(-1.0), point(0.0), kT)
    assert kramers.k == pytest.approx(double_well_rates(1.0, 1.0, kT)[0], rel=1e-9)
    exact = 1 / exact_mfpt_1d(lambda x: (x * x - 1) ** 2, -1.0, 0.5, kT, lower=-4.0)
    assert 0.92 < exact / kramers.k < 0.95  # the O(kT/ΔE) correction at ΔE = 6 kT

    t0 = time.perf_counter()
    e = escape_rate(V, point(-1.0), point(1.0), kT, n_walkers=1024, seed=7)
    wall = time.perf_counter() - t0
    assert isinstance(e, EscapeEstimate)
    assert (e.n_arrived, e.n_walkers, e.censored) == (1024, 1024, False)
    assert e.radius == pytest.approx(0.5)
    assert e.dt == pytest.approx(0.05 * 2 / 8)
    assert np.all(np.isfinite(e.times)) and e.mfpt == pytest.approx(e.times.mean())
    assert e.relative_error == pytest.approx(1 / math.sqrt(1024), rel=0.15)  # exponential τ
    assert abs(e.k / exact - 1) < 4 / math.sqrt(1024) + 0.03
    assert abs(e.k / kramers.k - 1) < 0.20
    print(f"1-D double well, 6 kT: k_sim/k_Kramers = {e.k / kramers.k:.3f} ± "
          f"{e.relative_error:.3f}, k_sim/k_exact = {e.k / exact:.3f}, {wall:.1f} s")  # fmt: skip


def test_escape_rate_flags_censored_walkers():
    V = st.potentials.get("double-well", dim=1)
    with pytest.raises(ConvergenceError, match="only .* of 64 walkers reached b") as info:
        escape_rate(V, point(-1.0), point(1.0), 1 / 6, n_walkers=64, max_time=5.0)
    partial = info.value.result
    assert isinstance(partial, EscapeEstimate) and partial.censored
    assert partial.n_arrived < 64 and np.isinf(partial.times).sum() == 64 - partial.n_arrived
    assert math.isnan(partial.k) and math.isnan(partial.mfpt)


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kT", [0.0, -1.0, float("nan"), float("inf"), "hot", True])
def test_bad_kT_is_refused(kT):
    V = dw()
    with pytest.raises(ScenarioError, match="kT: expected a positive finite number") as info:
        harmonic_rate(V, [1, 0], [0, 0], kT)
    assert info.value.key == "kT"
    with pytest.raises(ScenarioError, match="kT"):
        escape_rate(V, [-1, 0], [1, 0], kT)
    with pytest.raises(ScenarioError, match="kT"):
        langevin(V, np.zeros((4, 2)), kT, dt=0.01, n_steps=10)


def test_wrong_critical_points_are_refused():
    V = dw()
    with pytest.raises(ScenarioError, match=r"minimum: .* Morse index 1 \(an index-1 saddle\)"):
        harmonic_rate(V, [0.0, 0.0], [0.0, 0.0], 0.1)
    with pytest.raises(ScenarioError, match=r"saddle: .* Morse index 0 \(a minimum\), not 1") as e:
        harmonic_rate(V, [1.3, 0.0], [-1.3, 0.0], 0.1)
    assert e.value.key == "saddle"
    # an index-2 point, the maximum (0, 0) of cos x + cos y, is no saddle either
    W = st.Potential(lambda x: jnp.cos(x[0]) + jnp.cos(x[1]), dim=2, name="egg-crate")
    with pytest.raises(ScenarioError, match=r"saddle: .* Morse index 2 \(a maximum\)"):
        harmonic_rate(W, point(math.pi, math.pi), point(0.0, 0.0), 0.1)
    # a degenerate point (x⁴ + y² at the origin: H = diag(0, 2)) has no harmonic rate
    flat = st.Potential(lambda x: x[0] ** 4 + x[1] ** 2, dim=2, name="quartic")
    with pytest.raises(ScenarioError, match="minimum: .* degenerate"):
        harmonic_rate(flat, point(0.0, 0.0), point(0.0, 0.0), 0.1)
    with pytest.raises(ScenarioError, match=r"a: .* Morse index 1") as e:
        escape_rate(V, [0.0, 0.0], [1.3, 0.0], 0.1)
    assert e.value.key == "a"
    with pytest.raises(ScenarioError, match="minimum: 'double-well' has dimension 2"):
        harmonic_rate(V, [1.3, 0.0, 0.0], [0.0, 0.0], 0.1)


def test_other_bad_settings_are_refused():
    V = dw()  # minima (±1.3, 0), 2.6 apart; λ_max = 8a² = 13.52 there: dt < 2/13.52 = 0.148
    with pytest.raises(ScenarioError, match="dynamics: expected one of 'overdamped', 'tst'"):
        harmonic_rate(V, [1.3, 0], [0, 0], 0.1, dynamics="underdamped")
    with pytest.raises(ScenarioError, match="friction"):
        harmonic_rate(V, [1.3, 0], [0, 0], 0.1, friction=0.0)
    with pytest.raises(ScenarioError, match="masses: only dynamics='tst'"):
        harmonic_rate(V, [1.3, 0], [0, 0], 0.1, masses=[1.0, 1.0])
    with pytest.raises(ScenarioError, match="masses: expected one positive mass or 2"):
        harmonic_rate(V, [1.3, 0], [0, 0], 0.1, dynamics="tst", masses=[1.0, -1.0])
    with pytest.raises(ScenarioError, match="radius: 3 reaches the start a"):
        escape_rate(V, [-1.3, 0], [1.3, 0], 0.1, radius=3.0)
    with pytest.raises(ScenarioError, match="dt: 0.3 is beyond the Euler–Maruyama stability"):
        escape_rate(V, [-1.3, 0], [1.3, 0], 0.1, dt=0.3)
    with pytest.raises(ScenarioError, match="b: a and b are the same minimum"):
        escape_rate(V, [-1.3, 0], [-1.2, 0], 0.1)


@pytest.mark.parametrize("x0", [np.zeros((10, 3)), np.zeros(2), np.zeros((0, 2)), [[1.0]]])
def test_wrong_x0_shape_is_refused(x0):
    V = dw()
    with pytest.raises(ScenarioError, match=r"x0: expected .* shape \(n_walkers, 2\)") as e:
        langevin(V, x0, 0.1, dt=0.01, n_steps=10)
    assert e.value.key == "x0"


# -- the validation: Kramers–Langer against simulation, two potentials, two temperatures --------
@pytest.mark.slow
@pytest.mark.parametrize(
    "name, barriers_in_kT",
    [("double-well", 6), ("double-well", 7), ("muller-brown", 6), ("muller-brown", 7)],
)
def test_simulated_escape_rate_agrees_with_kramers_langer(name, barriers_in_kT):
    # Batched overdamped Langevin dynamics; the mean escape rate 1/⟨τ⟩ to the other minimum
    # agrees with Kramers–Langer within 20 % at ΔE ≥ 6 kT. The finite-barrier correction is
    # O(kT/ΔE) (−6 % at 6 kT, −5 % at 7 kT for the quartic well, by the exact 1-D MFPT), the
    # Euler–Maruyama bias at the default dt a few per cent, and 2048 walkers give ≈ 2.2 %.
    V = st.potentials.get(name)
    if name == "double-well":
        a, b, saddle = (-1.0, 0.0), (1.0, 0.0), (0.0, 0.0)
    else:  # Müller–Brown C → B over the saddle at (0.212, 0.293)
        a, b, saddle = MB_C, MB_B, MB_S
    barrier = harmonic_rate(V, a, saddle, 1.0).barrier
    if name == "double-well":
        assert barrier == pytest.approx(1.0, rel=1e-12)
    else:
        assert barrier == pytest.approx(-72.249 + 80.768, abs=2e-3)
    kT = barrier / barriers_in_kT
    kramers = harmonic_rate(V, a, saddle, kT)
    n = 2048
    e = escape_rate(V, a, b, kT, n_walkers=n, seed=barriers_in_kT)
    assert e.n_arrived == n and e.relative_error < 0.03
    ratio = e.k / kramers.k
    print(f"{name} at {barriers_in_kT} kT: k_sim = {e.k:.5g} ± {e.k_stderr:.2g}, "
          f"k_Kramers = {kramers.k:.5g}, ratio {ratio:.3f}, dt = {e.dt:.3g}, "
          f"{e.n_steps} steps, {e.wall_s:.1f} s")  # fmt: skip
    assert abs(ratio - 1) < 0.20
