"""Wasserstein flows by positive finite volumes: Fokker–Planck (Scharfetter–Gummel) keeps a
Gaussian Gaussian with the Ornstein–Uhlenbeck moments, stays positive, lowers its free energy
and relaxes to the Boltzmann density exactly; overdamped Langevin walkers sample the same
density; the porous medium equation follows Barenblatt."""

import numpy as np
import pytest
from scipy.special import erf

import steepest as st
from steepest.fields import (
    FiniteVolumeGrid,
    WassersteinFlow,
    entropy_potential,
    evolve,
    porous_medium,
)


def _moments(g, rho):
    (x,) = g.coordinates()
    mass = rho.sum() * g.cell_volume
    mean = (x * rho).sum() * g.cell_volume / mass
    var = ((x - mean) ** 2 * rho).sum() * g.cell_volume / mass
    return mass, mean, var


def test_fokker_planck_gaussian_follows_ornstein_uhlenbeck():
    """V = x²/2, kT = M = 1: ρ stays N(m₀e^{−t}, 1 + (s₀² − 1)e^{−2t}); the moments converge
    at O(dx²) (the step is tied to dx² by the positivity bound), ρ > 0, ∫ρ = 1 to 1e-13, and
    F = ∫ρ log ρ + ρV = −½log(2πe s²) + (m² + s²)/2 decreases along the exact curve."""
    m0, s0, t1 = 2.0, 0.5, 2.0
    errs = []
    for n in (200, 400):
        g = FiniteVolumeGrid((n,), (16.0,), origin=-8.0, boundary="no-flux")
        (x,) = g.coordinates()
        rho0 = np.exp(-((x - m0) ** 2) / (2 * s0**2)) / np.sqrt(2 * np.pi * s0**2)
        flow = WassersteinFlow(g, entropy_potential(lambda x: 0.5 * x**2))
        assert flow.flux_scheme == "scharfetter-gummel"
        sol = evolve(flow, rho0, t1, dt=1.0, scheme="explicit", n_save=5)
        worst = 0.0
        for t, rho in zip(sol.t, sol.fields, strict=True):
            mass, mean, var = _moments(g, rho)
            m, s2 = m0 * np.exp(-t), 1 + (s0**2 - 1) * np.exp(-2 * t)
            assert abs(mass - 1) < 1e-13 and rho.min() > 0
            worst = max(worst, abs(mean - m), abs(var - s2))
            F_exact = -0.5 * np.log(2 * np.pi * np.e * s2) + 0.5 * (m * m + s2)
            assert float(flow.energy(rho)) == pytest.approx(F_exact, abs=2e-3)
        errs.append(worst)
        assert np.all(np.diff(sol.energy) < 0)
    assert errs[0] < 1.5e-3 and errs[1] < errs[0] / 3.3  # second order in dx


def test_fokker_planck_relaxes_to_the_discrete_boltzmann_density():
    """The Scharfetter–Gummel flux vanishes exactly on ρ ∝ e^{−V/kT} at the cell centres, so a
    double-well run ends on e^{−V/kT}/Z to round-off (a residual of the slowest mode only)."""
    kT = 1.0
    g = FiniteVolumeGrid((48,), (6.0,), origin=-3.0, boundary="no-flux")
    (x,) = g.coordinates()
    flow = WassersteinFlow(g, entropy_potential(lambda x: (x**2 - 1) ** 2, kT=kT))
    b = np.exp(-((x**2 - 1) ** 2) / kT)
    b /= b.sum() * g.cell_volume
    np.testing.assert_allclose(np.concatenate(flow.flux(b)), 0.0, atol=1e-15)
    rho0 = np.where(x < 0, 1.0, 0.0) / 3.0
    sol = evolve(flow, rho0, 40.0, dt=1.0, scheme="explicit", n_save=3)
    assert np.abs(sol.final - b).sum() * g.cell_volume < 1e-9
    assert sol.energy_monotone


def _fp_bins(n, t_saves, edges, kT):
    """Fokker–Planck from N(−1, 0.3²) (exact cell averages) on n cells, as bin probabilities."""
    g = FiniteVolumeGrid((n,), (6.0,), origin=-3.0, boundary="no-flux")
    e = np.linspace(-3.0, 3.0, n + 1)
    rho0 = np.diff(0.5 * (1 + erf((e + 1) / (0.3 * np.sqrt(2))))) / g.cell_volume
    flow = WassersteinFlow(g, entropy_potential(lambda x: (x**2 - 1) ** 2, kT=kT))
    sol = evolve(
        flow, rho0, t_saves[-1], dt=1.0, scheme="explicit", save_every=t_saves[1] - t_saves[0]
    )
    k = n // (len(edges) - 1)
    return [f.reshape(-1, k).sum(1) * g.cell_volume for f in sol.fields]


def _walkers(n_walkers, n_steps, n_save, dt, kT):
    V = st.Potential(lambda x: (x[0] ** 2 - 1) ** 2, dim=1)
    x0 = np.random.default_rng(0).normal(-1.0, 0.3, size=(n_walkers, 1))
    return st.paths.langevin(V, x0, kT, dt=dt, n_steps=n_steps, n_save=n_save, seed=1)


def test_langevin_histogram_matches_fokker_planck():
    """3·10⁴ walkers of dx = −V′dt + √(2kT)dW in V = (x² − 1)²: at t = 1 and 2 the histogram's
    L¹ distance to the Fokker–Planck solution falls as walkers are added (∝ N^{−½})."""
    kT, edges = 1.0, np.linspace(-3.0, 3.0, 25)
    paths = _walkers(30_000, 500, 3, 4e-3, kT)
    fp = _fp_bins(96, paths.t, edges, kT)
    for k in (1, 2):
        d = [
            np.abs(np.histogram(paths.x[k, :m, 0], bins=edges)[0] / m - fp[k]).sum()
            for m in (300, 3_000, 30_000)
        ]
        assert d[0] > d[1] > d[2] and d[2] < 0.04, d


@pytest.mark.slow
def test_langevin_ensemble_of_1e5_tends_to_boltzmann():
    """10⁵ walkers to t = 8: L¹(histogram, FP) falls with walkers (10³, 10⁴, 10⁵) and with the
    Fokker–Planck resolution (24 → 192 cells) at every saved time, and both end near the
    Boltzmann density e^{−V/kT}/Z."""
    kT, edges = 1.0, np.linspace(-3.0, 3.0, 25)
    paths = _walkers(100_000, 4000, 5, 2e-3, kT)
    fps = {n: _fp_bins(n, paths.t, edges, kT) for n in (24, 192)}
    for k in range(1, 5):
        hist = {
            m: np.histogram(paths.x[k, :m, 0], bins=edges)[0] / m for m in (1_000, 10_000, 100_000)
        }
        d_walkers = [np.abs(hist[m] - fps[192][k]).sum() for m in hist]
        assert d_walkers[0] > d_walkers[1] > d_walkers[2], d_walkers
        d_res = [np.abs(hist[100_000] - fps[n][k]).sum() for n in (24, 192)]
        assert d_res[1] < d_res[0] and d_res[1] < 0.02, d_res
    fine = np.linspace(-3, 3, 24001)
    b = np.exp(-((fine**2 - 1) ** 2) / kT)
    cdf = np.concatenate([[0], np.cumsum((b[1:] + b[:-1]) / 2)])
    p_b = np.diff(np.interp(edges, fine, cdf / cdf[-1]))
    assert np.abs(fps[192][-1] - p_b).sum() < 5e-3
    assert np.abs(hist[100_000] - p_b).sum() < 0.02


def _barenblatt(x, t, C=0.5):
    """ρ_t = (ρ²)_xx: ρ = t^{−1/3}(C − x²t^{−2/3}/12)₊ (Barenblatt–Pattle, d = 1, m = 2)."""
    return t ** (-1 / 3) * np.maximum(C - x**2 * t ** (-2 / 3) / 12, 0.0)


def test_porous_medium_follows_barenblatt():
    """From the Barenblatt profile at t = 1 to t = 3 (upwind CCH flux, explicit with the
    positivity and diffusive bound): L¹ error falls ∝ dx, ∫ρ kept to 1e-13, ρ ≥ 0, F falls."""
    errs = []
    for n in (100, 200):
        g = FiniteVolumeGrid((n,), (8.0,), origin=-4.0, boundary="no-flux")
        (x,) = g.coordinates()
        flow = WassersteinFlow(g, porous_medium(2.0))
        assert flow.flux_scheme == "upwind"
        sol = evolve(flow, _barenblatt(x, 1.0), 2.0, dt=1.0, scheme="explicit", n_save=3)
        errs.append(np.abs(sol.final - _barenblatt(x, 3.0)).sum() * g.cell_volume)
        assert np.max(np.abs(sol.mass - sol.mass[0])) < 1e-13 * sol.mass[0]
        assert sol.fields.min() >= 0 and np.all(np.diff(sol.energy) < 0)
    assert errs[0] < 0.03 and errs[1] < 0.6 * errs[0], errs
    assert "porous medium" in flow.expression() and "Δ(ρ^2)" in flow.expression()


def test_wasserstein_flux_and_expression():
    g = FiniteVolumeGrid((30,), (6.0,), origin=-3.0, boundary="no-flux")
    (x,) = g.coordinates()
    flow = WassersteinFlow(g, entropy_potential(lambda x: x**2, kT=0.5), mobility=2.0)
    rho = np.exp(-x * x) + 0.1
    (J,) = flow.flux(rho)
    assert J.shape == (31,) and J[0] == 0 and J[-1] == 0
    np.testing.assert_allclose(flow.velocity(rho), -np.diff(J) / g.spacing[0], atol=1e-13)
    text = flow.expression()
    assert "Fokker–Planck" in text and "kT = 0.5" in text and "M = 2" in text
