"""Allen–Cahn (the L² flow of a double well): the 1-D tanh kink is stationary and carries the
interfacial energy 2√2/3; a disk shrinks by curvature, R² = R0² − 2Mκt."""

import numpy as np
import pytest

from steepest.fields import FiniteVolumeGrid, L2Flow, SpectralGrid, evolve, ginzburg_landau


def test_tanh_kink_is_stationary_and_has_the_interfacial_energy():
    """c = tanh(x/√2) minimises ∫¼(1 − c²)² + ½c′² with c(±∞) = ±1: on no-flux grids it stays
    put up to the O(dx²) mismatch between the continuous and the discrete kink, and
    F = 2√2/3 to O(dx²)."""
    drift, energy = [], []
    hs = []
    for n in (100, 200):
        g = FiniteVolumeGrid((n,), (30.0,), origin=-15.0, boundary="no-flux")
        (x,) = g.coordinates()
        c0 = np.tanh(x / np.sqrt(2))
        flow = L2Flow(g, ginzburg_landau())
        sol = evolve(flow, c0, 50.0, dt=0.5, scheme="etdrk2", n_save=2)
        drift.append(np.max(np.abs(sol.final - c0)))
        energy.append(abs(sol.energy[0] - 2 * np.sqrt(2) / 3))
        hs.append(30.0 / n)
        # the interface stays at x = 0 (symmetry) and the profile is still a kink
        assert abs(np.interp(0.0, sol.final, x)) < 1e-10
    assert drift[0] < 4e-3 and drift[1] < drift[0] / 3.5  # ∝ dx²
    assert energy[0] < 3e-3 and energy[1] < energy[0] / 3.5


def test_a_disk_shrinks_as_r2_falls_by_2t():
    """Sharp-interface limit: the normal speed is Mκ·(curvature) = 1/R, so R² = R0² − 2t
    (interface width √2 ≪ R; loose tolerance: O(width/R) corrections). The steps are small
    because a stabilised step slows an interface by about 1/(1 + hMS)."""
    L, n, R0 = 64.0, 64, 20.0
    g = SpectralGrid((n, n), (L, L), origin=(-L / 2, -L / 2))
    x, y = g.coordinates()
    r = np.hypot(x, y)
    c0 = np.tanh((R0 - r) / np.sqrt(2))
    flow = L2Flow(g, ginzburg_landau())
    sol = evolve(flow, c0, 120.0, dt=0.05, scheme="etdrk2", save_every=20.0)
    area = np.array([np.sum(1 + c) / 2 * g.cell_volume for c in sol.fields])
    r2 = area / np.pi
    slope = np.polyfit(sol.t, r2, 1)[0]
    assert slope == pytest.approx(-2.0, rel=0.05)
    np.testing.assert_allclose(r2, R0**2 - 2 * sol.t, rtol=0.03, atol=10.0)
    assert sol.energy_monotone
    assert "Allen–Cahn" in flow.expression()
