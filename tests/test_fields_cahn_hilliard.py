"""Cahn–Hilliard (the H⁻¹ flow of a double well): mass to 1e-12, the free energy never rises for
the stable schemes at 100× the explicit limit, small perturbations grow at
ω(k) = −Mk²(f″(c̄) + κk²), J = −M∇μ is the flux, and PFHub benchmark 1a starts at the published
F(0) and goes down."""

import warnings

import numpy as np
import pytest

import steepest as st
from steepest.fields import (
    FiniteVolumeGrid,
    HMinus1Flow,
    NonPeriodicWarning,
    SpectralGrid,
    evolve,
    pfhub1,
    pfhub1_initial,
)

M, KAPPA, FPP = 5.0, 2.0, -0.8  # PFHub 1: mobility, κ, f″(c₀ = 0.5) = −4ρδ² = −0.8 (δ = 0.2)
# ETDRK4 has no energy proof; here it holds (it does up to 1000× the limit on this case), and
# where it did not, the run would stop with FlowDiverged rather than return a rising F
STABLE = ("semi-implicit", "etd1", "etdrk2", "etdrk4", "eyre", "sav")


@pytest.fixture(scope="module")
def noisy():
    g = SpectralGrid((32, 32), (64.0, 64.0))
    c0 = 0.5 + 0.02 * np.random.default_rng(1).standard_normal(g.shape)
    flow = HMinus1Flow(g, pfhub1(), mobility=M)
    return flow, c0, flow.explicit_limit(c0)


@pytest.mark.parametrize("scheme", STABLE)
def test_stable_schemes_at_100x_the_explicit_limit(noisy, scheme):
    """dt = 100·(2/λ_max): F non-increasing at every step (SAV: its modified energy; F too
    here), ∫c conserved to 1e-12."""
    flow, c0, limit = noisy
    n = 40
    sol = evolve(flow, c0, 100 * limit * n, dt=100 * limit, scheme=scheme, n_save=n + 1)
    assert sol.stats["steps"] == n
    scale = abs(sol.energy[0])
    assert np.all(np.diff(sol.modified_energy) <= 1e-12 * scale)
    assert np.all(np.diff(sol.energy) <= 1e-12 * scale)
    assert sol.energy[-1] < 0.9 * sol.energy[0]  # it did move
    assert np.max(np.abs(sol.mass - sol.mass[0])) <= 1e-12 * abs(sol.mass[0])


def test_explicit_beyond_its_limit_stops_with_the_bound(noisy):
    flow, c0, limit = noisy
    ok = evolve(flow, c0, 0.9 * limit * 50, dt=0.9 * limit, scheme="explicit", n_save=51)
    assert ok.energy_monotone
    with pytest.raises(st.FlowDiverged) as e:
        evolve(flow, c0, 3 * limit * 200, dt=3 * limit, scheme="explicit", n_save=2)
    err = e.value
    assert err.reason in ("energy-increase", "non-finite")
    assert err.stability_limit is not None and "2/λ_max" in str(err)
    assert err.stability_limit == pytest.approx(limit, rel=0.5)
    assert np.all(np.isfinite(err.x)) and err.solution is not None


@pytest.mark.parametrize("kind", ["spectral", "finite-volume"])
def test_small_perturbations_grow_at_the_linear_rate(kind):
    """c = c̄ + δΣ cos(k x): each mode grows as e^{ωt}, ω = −M k²(f″(c̄) + κ k²), with k² the
    grid's own symbol −λ (exactly k² on the spectral grid)."""
    n, L = 64, 20 * np.pi  # k = m/10
    if kind == "spectral":
        g = SpectralGrid((n,), (L,))
    else:
        g = FiniteVolumeGrid((n,), (L,), boundary="periodic")
    (x,) = g.coordinates()
    modes = np.arange(1, 8)
    delta = 1e-8
    c0 = 0.5 + delta * sum(np.cos(m / 10 * x) for m in modes)
    flow = HMinus1Flow(g, pfhub1(), mobility=M)
    t1 = 4.0
    sol = evolve(flow, c0, t1, dt=0.005, scheme="etdrk2", S=0.0, n_save=2)
    amp0 = np.abs(np.fft.rfft(c0 - 0.5))[modes]
    amp1 = np.abs(np.fft.rfft(sol.final - 0.5))[modes]
    omega = np.log(amp1 / amp0) / t1
    k2 = -np.asarray(g.laplacian_symbol)[modes]
    if kind == "spectral":
        np.testing.assert_allclose(k2, (modes / 10) ** 2, rtol=1e-12)
    expected = -M * k2 * (FPP + KAPPA * k2)
    np.testing.assert_allclose(omega, expected, rtol=1e-4, atol=1e-5)
    assert np.argmax(omega) == 3  # k = 0.4 is nearest the fastest k = 1/√5 = 0.447


def test_variable_mobility_conserves_mass_and_exposes_the_flux():
    """M(c) = c(1 − c) + 0.05 on a no-flux finite-volume grid: the semi-implicit scheme keeps ∫c
    to 1e-12 and lowers F; the flux J = −M∇μ is on the faces, zero on the walls, and
    ∂c/∂t = −∇·J."""
    g = FiniteVolumeGrid((24, 20), (48.0, 40.0), boundary="no-flux")
    c0 = 0.5 + 0.05 * np.random.default_rng(3).standard_normal(g.shape)
    flow = HMinus1Flow(g, pfhub1(), mobility=lambda c: c * (1 - c) + 0.05)
    sol = evolve(flow, c0, 20.0, dt=0.5, scheme="semi-implicit", n_save=11)
    assert sol.energy_monotone and sol.energy[-1] < sol.energy[0]
    assert np.max(np.abs(sol.mass - sol.mass[0])) <= 1e-12 * sol.mass[0]
    Jx, Jy = sol.flux()
    assert Jx.shape == (25, 20) and Jy.shape == (24, 21)
    assert np.all(Jx[[0, -1]] == 0) and np.all(Jy[:, [0, -1]] == 0)
    v = np.asarray(flow.velocity(sol.final))
    np.testing.assert_allclose(v, -np.asarray(g.div((Jx, Jy))), atol=1e-13)
    assert "∂c/∂t = ∇·(M∇μ)" in flow.expression() and "M = M(c)" in flow.expression()


def test_pfhub_1a_initial_energy_and_decrease():
    """F(0) on the specified initial condition is within the published [319.03, 319.25] on
    128² finite-volume and spectral grids (the non-periodic data draw a NonPeriodicWarning on
    the spectral one); F then falls and ∫c stays."""
    fv = FiniteVolumeGrid((128, 128), (200.0, 200.0), boundary="periodic")
    sp = SpectralGrid((128, 128), (200.0, 200.0))
    f = pfhub1()
    for g in (fv, sp):
        assert 319.03 <= float(f.energy(g, pfhub1_initial(g))) <= 319.25
    flow = HMinus1Flow(sp, f, mobility=M)
    with pytest.warns(NonPeriodicWarning, match="not periodic"):
        sol = evolve(flow, pfhub1_initial(sp), 10.0, dt=0.5, scheme="semi-implicit", n_save=11)
    assert 319.03 <= sol.energy[0] <= 319.25
    assert np.all(np.diff(sol.energy) < 0)
    assert np.max(np.abs(sol.mass - sol.mass[0])) <= 1e-12 * sol.mass[0]
    assert "Cahn–Hilliard" in flow.expression()


@pytest.mark.slow
def test_pfhub_1a_to_t_1000():
    """The benchmark to t = 1000 at 128²: F decreasing at every save, ∫c kept, and F(100),
    F(1000) between the codes PFHub publishes (PRISMS-PF 115.6, 70.35; MOOSE 139.8, 85.4)."""
    g = FiniteVolumeGrid((128, 128), (200.0, 200.0), boundary="periodic")
    flow = HMinus1Flow(g, pfhub1(), mobility=M)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol = evolve(
            flow,
            pfhub1_initial(g),
            1000.0,
            dt=0.25,
            scheme="semi-implicit",
            save_every=10.0,
            save_fields=False,
        )
    assert np.all(np.diff(sol.energy) < 0)
    assert np.max(np.abs(sol.mass - sol.mass[0])) <= 1e-11 * sol.mass[0]
    F100, F1000 = np.interp([100.0, 1000.0], sol.t, sol.energy)
    assert 105 < F100 < 150 and 60 < F1000 < 95, (F100, F1000)


def test_broken_energy_promise_stops_the_run(noisy):
    """Unstabilised (S = 0) semi-implicit steps at 1000× the explicit limit raise F: the run
    stops at that step with FlowDiverged, naming the fix, with the last good field and the
    saved record so far; the default S = L at the same step keeps F decreasing."""
    flow, c0, limit = noisy
    h = 1000 * limit
    with pytest.raises(st.FlowDiverged) as e:
        evolve(flow, c0, 40 * h, dt=h, scheme="semi-implicit", S=0.0, n_save=41)
    err = e.value
    assert err.reason == "energy-increase" and "scheme.S" in str(err)
    assert err.step >= 1 and np.all(np.isfinite(err.x))
    part = err.solution
    assert part.stats["status"] == "failed" and np.all(np.diff(part.energy) <= 0)
    assert float(flow.energy(err.x)) <= part.energy[0]
    ok = evolve(flow, c0, 40 * h, dt=h, scheme="semi-implicit", n_save=41)
    assert np.all(np.diff(ok.energy) <= 1e-12 * abs(ok.energy[0]))
