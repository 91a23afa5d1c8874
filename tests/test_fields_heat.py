"""The heat equation ∂c/∂t = D∇²c (L² flow of the Dirichlet energy): Fourier modes decay as
e^{−Dk²t} — to 1e-10 on the spectral grid, at the discrete rate on finite volumes — and every
scheme multiplies a mode by its own amplification factor per step."""

import numpy as np
import pytest

import steepest as st
from steepest.fields import FiniteVolumeGrid, L2Flow, SpectralGrid, dirichlet, evolve

D = 0.3  # M κ with M = 1


def test_spectral_mode_decays_at_the_exact_rate():
    """A 2-D Fourier mode on a spectral grid: exponential schemes integrate the linear flow
    exactly, so c(t) = e^{−D|k|²t} c₀ to 1e-10 for any step."""
    g = SpectralGrid((24, 20), (2 * np.pi, 3.0))
    x, y = g.coordinates()
    ky = 2 * np.pi / 3.0 * 2
    c0 = np.sin(3 * x + 0.4) * np.cos(ky * y) + 0.7
    flow = L2Flow(g, dirichlet(D))
    k2 = 9 + ky**2
    for scheme in ("etd1", "etdrk2", "etdrk4"):
        sol = evolve(flow, c0, 2.0, dt=0.25, scheme=scheme, n_save=5)
        for t, c in zip(sol.t, sol.fields, strict=True):
            exact = 0.7 + np.exp(-D * k2 * t) * (c0 - 0.7)
            assert np.max(np.abs(c - exact)) < 1e-10, (scheme, t)
        # the energy ½κ∫|∇c|² decays at twice the rate
        np.testing.assert_allclose(
            sol.energy, sol.energy[0] * np.exp(-2 * D * k2 * sol.t), rtol=1e-10
        )


@pytest.mark.parametrize(
    "boundary,mode",
    [
        ("no-flux", lambda x, L, k: np.cos(np.pi * k * x / L)),
        ("dirichlet", lambda x, L, k: np.sin(np.pi * k * x / L)),
        ("periodic", lambda x, L, k: np.sin(2 * np.pi * k * x / L)),
    ],
)
def test_finite_volume_mode_decays_at_the_discrete_rate(boundary, mode):
    """cos(πkx/L) (no-flux), sin(πkx/L) (Dirichlet 0), sin(2πkx/L) (periodic) at the cell
    centres are eigenvectors of the finite-volume Laplacian with λ = (2/dx)² sin²(θ/2),
    θ = πk/n (2πk/n periodic); they decay as e^{−Dλt}, and λ → (πk/L)² at O(dx²)."""
    n, L, k = 40, 2.0, 3
    g = FiniteVolumeGrid((n, 3), (L, 1.0), origin=(0.0, 0.0), boundary=[boundary, "no-flux"])
    x, _ = g.coordinates()
    c0 = mode(x, L, k)
    theta = (2 if boundary == "periodic" else 1) * np.pi * k / n
    lam = (2 * n / L) ** 2 * np.sin(theta / 2) ** 2
    flow = L2Flow(g, dirichlet(D))
    sol = evolve(flow, c0, 1.0, dt=0.2, scheme="etd1", n_save=3)
    for t, c in zip(sol.t, sol.fields, strict=True):
        np.testing.assert_allclose(c, np.exp(-D * lam * t) * c0, atol=1e-12)
    cont = (theta * n / L) ** 2
    assert abs(lam - cont) / cont == pytest.approx(theta**2 / 12, rel=0.02)  # O(dx²)


def test_three_dimensional_mode_on_mixed_boundaries():
    g = FiniteVolumeGrid((8, 6, 10), (1.0, 2.0, 1.5), boundary=["no-flux", "dirichlet", "periodic"])
    x, y, z = g.coordinates()
    c0 = np.cos(np.pi * 2 * x) * np.sin(np.pi * y / 2.0) * np.cos(2 * np.pi * z / 1.5)
    lam = sum(
        (2 / h) ** 2 * np.sin(th / 2) ** 2
        for h, th in ((1 / 8, np.pi * 2 / 8), (2 / 6, np.pi / 6), (1.5 / 10, 2 * np.pi / 10))
    )
    sol = evolve(L2Flow(g, dirichlet(D)), c0, 0.5, dt=0.05, scheme="etdrk2", n_save=2)
    np.testing.assert_allclose(sol.final, np.exp(-D * lam * 0.5) * c0, atol=1e-12)


@pytest.fixture(scope="module")
def mode_1d():
    g = SpectralGrid((16,), (2 * np.pi,))
    (x,) = g.coordinates()
    return L2Flow(g, dirichlet(D)), np.cos(2 * x)


@pytest.mark.parametrize(
    "scheme,factor",
    [
        ("explicit", lambda z: 1 - z),  # forward Euler
        ("semi-implicit", lambda z: 1 / (1 + z)),  # S = 0 for a zero bulk: backward Euler
        ("eyre", lambda z: 1 / (1 + z)),  # the convex part is the whole energy: implicit
        ("sav", lambda z: 1 / (1 + z)),  # E₁ = 0: SAV reduces to backward Euler
        ("etd1", lambda z: np.exp(-z)),
        ("etdrk2", lambda z: np.exp(-z)),
        ("etdrk4", lambda z: np.exp(-z)),
    ],
)
def test_each_scheme_applies_its_amplification_factor(mode_1d, scheme, factor):
    flow, c0 = mode_1d
    h, n = 0.1, 10
    sol = evolve(flow, c0, h * n, dt=h, scheme=scheme, n_save=2)
    z = h * D * 4
    np.testing.assert_allclose(sol.final, factor(z) ** n * c0, atol=1e-12)
    assert sol.stats["steps"] == n


def test_dirichlet_data_drive_the_rod_to_the_linear_profile():
    """With c = 1 at x = 0 and c = 3 at x = 1 the steady state is 1 + 2x (discretely harmonic
    too); the distance to it falls at the slowest discrete rate λ₁ = (2n)² sin²(π/2n), and
    after long enough it is round-off."""
    n = 32
    g = FiniteVolumeGrid((n,), (1.0,), boundary="dirichlet", dirichlet=(1.0, 3.0))
    (x,) = g.coordinates()
    flow = L2Flow(g, dirichlet(1.0))
    sol = evolve(flow, np.zeros(n), 4.0, save_every=0.2, dt=0.05, scheme="etdrk2")
    dist = np.array([np.linalg.norm(c - (1 + 2 * x)) for c in sol.fields])
    lam1 = (2 * n) ** 2 * np.sin(np.pi / (2 * n)) ** 2
    i, j = np.searchsorted(sol.t, [0.6, 1.0])
    assert np.log(dist[i] / dist[j]) / (sol.t[j] - sol.t[i]) == pytest.approx(lam1, rel=1e-6)
    assert dist[-1] < 1e-12


def test_heat_expression_and_no_flux_field():
    g = SpectralGrid((16,), (1.0,))
    flow = L2Flow(g, dirichlet(0.5), mobility=2.0)
    assert "∂c/∂t = D∇²c, D = Mκ = 1" in flow.expression()
    with pytest.raises(st.ScenarioError, match="not a conservation law"):
        flow.flux(np.zeros(16))


def test_three_dimensional_spectral_mode():
    g = SpectralGrid((8, 10, 6), (2 * np.pi, 2 * np.pi, 3.0))
    x, y, z = g.coordinates()
    kz = 2 * np.pi / 3.0
    c0 = np.cos(2 * x) * np.sin(3 * y + 0.2) * np.cos(kz * z)
    sol = evolve(L2Flow(g, dirichlet(D)), c0, 0.4, dt=0.1, scheme="etd1", n_save=2)
    np.testing.assert_allclose(sol.final, np.exp(-D * (13 + kz**2) * 0.4) * c0, atol=1e-12)
