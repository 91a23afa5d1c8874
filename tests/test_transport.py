"""Fourier/Fick transport: discrete decay rates, the entropy balance of an insulated rod, the
Kirchhoff steady state of a T-dependent conductivity, conservation, fluxes, bad input."""

import numpy as np
import pytest
from scipy.integrate import quad

from steepest import ScenarioError
from steepest.fields.grids import FiniteVolumeGrid, SpectralGrid
from steepest.fields.transport import Transport, solve_transport


def _slope(ns, errs):
    return -np.polyfit(np.log(ns), np.log(errs), 1)[0]


def test_fourier_and_fick_modes_decay_at_their_discrete_rates():
    # C ∂T/∂t = k ΔT and ∂c/∂t = D Δc on a closed rod: cos(π m (j + ½)/n) is an eigenvector of
    # the no-flux Laplacian with eigenvalue −(2/dx)² sin²(π m/(2n)), so its amplitude decays as
    # exp(−(k/C) λ t) exactly, in the semi-discrete system the integrator solves.
    n, L, k, C, D = 24, 2.0, 0.7, 2.0, 0.3
    g = FiniteVolumeGrid((n,), (L,), boundary="no-flux")
    model = Transport(g, conductivity=k, heat_capacity=C, diffusivity=D)
    j = np.arange(n)
    mode = lambda m: np.cos(np.pi * m * (j + 0.5) / n)  # noqa: E731
    lam = lambda m: (2 * n / L * np.sin(np.pi * m / (2 * n))) ** 2  # noqa: E731
    sol = solve_transport(
        model, {"T": 1 + 0.1 * mode(2), "c": 1 + 0.2 * mode(3)}, 0.5, n_save=6, rtol=1e-11,
        atol=1e-13,
    )  # fmt: skip
    aT = (sol.fields["T"] - 1) @ mode(2) / (mode(2) @ mode(2))
    ac = (sol.fields["c"] - 1) @ mode(3) / (mode(3) @ mode(3))
    np.testing.assert_allclose(aT, 0.1 * np.exp(-(k / C) * lam(2) * sol.t), rtol=1e-8)
    np.testing.assert_allclose(ac, 0.2 * np.exp(-D * lam(3) * sol.t), rtol=1e-8)
    # the other modes stay empty; heat and matter stay in the closed rod
    assert np.abs(sol.fields["T"] - 1 - np.outer(aT, mode(2))).max() < 1e-12
    np.testing.assert_allclose(sol.content["heat"], C * L, rtol=1e-13)
    np.testing.assert_allclose(sol.content["c"], L, rtol=1e-13)


T0_ROD = lambda x: 1.0 + 0.5 * np.cos(np.pi * x) + 0.3 * x  # noqa: E731


@pytest.fixture(scope="module")
def rods():
    """An insulated rod of unit length, k(T) = 0.5 + T, run to equilibrium at three resolutions."""
    out = {}
    for n in (16, 32, 64):
        g = FiniteVolumeGrid((n,), (1.0,), boundary="no-flux")
        model = Transport(g, conductivity=lambda T, c: 0.5 + T)
        out[n] = solve_transport(model, {"T": T0_ROD(g.axis_points(0))}, 3.0, n_save=31)
    return out


def test_entropy_production_is_non_negative_at_every_step(rods):
    for sol in rods.values():
        assert sol.stats["steps"] > 1000
        assert np.all(sol.sigma_min >= 0) and sol.face_sigma_min >= 0
        assert sol.sigma_total[0] > 0.5 and sol.sigma_total[-1] < 1e-12  # it ran to equilibrium
        assert np.all(np.diff(sol.entropy) > -1e-15)
        checks = sol.checks()
        assert checks and all(checks.values()), checks


def test_entropy_produced_equals_the_entropy_gained_by_the_insulated_rod(rods):
    # discrete: S(t) − S(0) = ∫₀ᵗ σ_total dt′ at every save time (summation by parts is exact;
    # only the time integration's tolerance separates them)
    for sol in rods.values():
        gain = sol.entropy - sol.entropy[0]
        assert np.abs(gain - sol.produced).max() < 1e-7 * gain[-1]
        np.testing.assert_allclose(sol.content["heat"], sol.content["heat"][0], rtol=1e-13)
    # continuum: the rod ends at the mean temperature T̄, so ΔS = log T̄ − ∫ log T₀ dx whatever
    # k(T) is; the discrete ∫σ dt converges to it at the midpoint rule's second order
    T_bar = quad(T0_ROD, 0, 1, epsabs=1e-14)[0]
    dS = np.log(T_bar) - quad(lambda x: np.log(T0_ROD(x)), 0, 1, epsabs=1e-14)[0]
    ns = sorted(rods)
    errs = [abs(rods[n].produced[-1] - dS) for n in ns]
    assert errs[-1] < 1e-4 * dS
    assert 1.8 < _slope(ns, errs) < 2.2, errs


def test_temperature_dependent_conductivity_matches_the_kirchhoff_steady_state():
    # k = T between walls held at T(0) = 2 and T(1) = 1: ∇·(T∇T) = 0 means T² is linear, so
    # T = √(4 − 3x), the heat flux q = 3/2 everywhere and σ_total = q (1/T(1) − 1/T(0)) = 3/4.
    ns, errs, sig_errs = (8, 16, 32), [], []
    for n in ns:
        g = FiniteVolumeGrid((n,), (1.0,), boundary="dirichlet", dirichlet=[[2.0, 1.0]])
        model = Transport(g, conductivity=lambda T, c: T)
        sol = solve_transport(model, {"T": np.full(n, 1.5)}, 3.0, n_save=4, rtol=1e-10)
        x = g.axis_points(0)
        errs.append(np.abs(sol.fields["T"][-1] - np.sqrt(4 - 3 * x)).max())
        q = sol.flux()["q"][0]
        assert np.ptp(q) < 1e-7  # a steady state: the same flux through every face
        sig_errs.append(abs(sol.sigma_total[-1] - 0.75))
        assert np.all(sol.sigma_min >= 0)
    assert errs[-1] < 1e-3
    assert _slope(ns, errs) > 1.8, errs
    assert _slope(ns, sig_errs) > 1.8, sig_errs


def test_fick_species_and_heat_together_conserve_and_balance_entropy():
    # two species with c- and T-dependent diffusivities and heat on a periodic 2-D grid
    g = FiniteVolumeGrid((10, 8), (1.0, 0.8), boundary="periodic")
    model = Transport(
        g,
        conductivity=1.0,
        diffusivity=[lambda c, T: 0.1 * (1 + c), lambda c, T: 0.05 * T],
        heat_capacity=1.5,
        k_B=0.5,
    )
    assert model.variables == ("T", "c1", "c2")
    x, y = g.coordinates()
    y0 = {
        "T": 1 + 0.3 * np.sin(2 * np.pi * x) * np.cos(2 * np.pi * y / 0.8),
        "c1": 1 + 0.5 * np.cos(2 * np.pi * x),
        "c2": 0.2 + 0.1 * np.sin(2 * np.pi * y / 0.8),
    }
    sol = solve_transport(model, y0, 1.0, n_save=11)
    for k, v in sol.content.items():
        np.testing.assert_allclose(v, v[0], rtol=1e-12, err_msg=k)
    assert np.all(sol.sigma_min >= 0) and sol.face_sigma_min >= 0
    gain = sol.entropy - sol.entropy[0]
    assert gain[-1] > 0 and np.abs(gain - sol.produced).max() < 1e-7 * gain[-1]
    assert all(sol.checks().values()), sol.checks()
    # σ as a cell field adds up to the total
    np.testing.assert_allclose(
        sol.sigma_field(3).sum() * g.cell_volume, sol.sigma_total[3], rtol=1e-12
    )
    # a second run with the same shapes reuses the compiled loop
    seg = model._kernels["dopri5"]["segment"]
    before = seg._cache_size()
    solve_transport(model, {k: v * 1.1 for k, v in y0.items()}, 0.5, n_save=3, rtol=1e-6)
    assert seg._cache_size() == before == 1


def test_flux_fields_of_a_linear_profile_and_the_divergence_theorem():
    k, n = 2.5, 20
    g = FiniteVolumeGrid((n,), (2.0,), boundary="dirichlet", dirichlet=[[3.0, 1.0]])
    model = Transport(g, conductivity=k)
    T = 3.0 - g.axis_points(0)  # linear between the wall values: the exact steady state
    J = model.fluxes({"T": T})["q"][0]
    assert J.shape == (n + 1,)
    np.testing.assert_allclose(J, k * 1.0, rtol=1e-13)  # J_q = −k dT/dx = k
    np.testing.assert_allclose(model.cell_fluxes({"T": T})["q"][0], k, rtol=1e-13)
    assert np.abs(model.rates({"T": T})["T"]).max() < 1e-12
    # on a random field the heat gained equals what flows in through the two walls
    rng = np.random.default_rng(3)
    T = 1 + rng.random(n)
    J = np.asarray(model.fluxes({"T": T})["q"][0])
    gained = float(np.sum(model.rates({"T": T})["T"]) * model.C * g.cell_volume)
    assert abs(gained - (J[0] - J[-1])) < 1e-12 * np.abs(J).max()


def test_bad_input_names_the_key():
    g = FiniteVolumeGrid((8,), (1.0,), boundary="no-flux")
    cases = [
        (lambda: Transport(SpectralGrid((8,), (1.0,)), conductivity=1.0), "field.discretisation"),
        (lambda: Transport(g, conductivity=-1.0), "transport.conductivity"),
        (lambda: Transport(g, diffusivity=[1.0, 0.0]), "transport.diffusivity[1]"),
        (lambda: Transport(g), "transport"),
        (lambda: Transport(g, conductivity=1.0, heat_capacity=0), "transport.heat_capacity"),
    ]
    model = Transport(g, conductivity=1.0)
    walls = FiniteVolumeGrid((8,), (1.0,), boundary="dirichlet", dirichlet=[[0.0, 1.0]])
    cold = Transport(walls, conductivity=1.0)  # a wall at absolute zero
    cases += [
        (lambda: solve_transport(model, {"T": -np.ones(8)}, 1.0), "initial.T"),
        (lambda: solve_transport(model, {"T": np.ones(9)}, 1.0), "initial.T"),
        (lambda: solve_transport(model, {"c": np.ones(8)}, 1.0), "initial"),
        (lambda: solve_transport(model, {"T": np.ones(8)}, 1.0, rtol=-1), "transport.rtol"),
        (lambda: solve_transport(cold, {"T": np.ones(8)}, 1.0), "field.dirichlet"),
    ]
    for make, key in cases:
        with pytest.raises(ScenarioError) as err:
            make()
        assert err.value.key == key, (key, str(err.value))
        assert str(err.value).startswith(key)


def test_runge_kutta_chebyshev_takes_stiff_rods_in_few_evaluations():
    # k(T) = 0.5 + T on 128 cells: an explicit method is stable only for h ≲ 3.3/ρ, with
    # ρ ≤ 4 k_max/dx² (Gershgorin), so DOPRI5 would need ≥ 6·t1·ρ/3.3 evaluations; RKC's
    # s-stage steps are stable up to h·ρ ≈ 0.65 s², so its cost grows like √ρ instead
    n, t1 = 128, 3.0
    g = FiniteVolumeGrid((n,), (1.0,), boundary="no-flux")
    model = Transport(g, conductivity=lambda T, c: 0.5 + T)
    T0 = T0_ROD(g.axis_points(0))
    sol = solve_transport(model, {"T": T0}, t1, n_save=16, method="rkc", rtol=1e-8)
    rho = 4 * (0.5 + T0.max()) * n**2
    assert sol.stats["rhs_evaluations"] < 0.1 * 6 * t1 * rho / 3.3
    assert np.all(sol.sigma_min >= 0) and sol.face_sigma_min >= 0
    gain = sol.entropy - sol.entropy[0]
    assert np.abs(gain - sol.produced).max() < 1e-5 * gain[-1]
    # conserved to round-off: each stage is an affine combination of conservative updates, and
    # the ~50 stages of each step add their rounding
    np.testing.assert_allclose(sol.content["heat"], sol.content["heat"][0], rtol=1e-11)
    T_bar = quad(T0_ROD, 0, 1, epsabs=1e-14)[0]
    dS = np.log(T_bar) - quad(lambda x: np.log(T0_ROD(x)), 0, 1, epsabs=1e-14)[0]
    assert abs(sol.produced[-1] - dS) < 2.5e-5 * dS  # O(dx²): about 1.6e-5 of ΔS at 128 cells
    # the linear mode decays at its discrete rate, to the second-order method's tolerance
    lin = Transport(g, conductivity=0.7, heat_capacity=2.0)
    mode = np.cos(np.pi * 3 * (np.arange(n) + 0.5) / n)
    s = solve_transport(lin, {"T": 1 + 0.1 * mode}, 0.05, n_save=6, method="rkc", rtol=1e-9)
    lam = (2 * n * np.sin(np.pi * 3 / (2 * n))) ** 2
    amp = (s.fields["T"] - 1) @ mode / (mode @ mode)
    # (errors are controlled relative to the field, T ≈ 1, over ~100 second-order steps)
    np.testing.assert_allclose(amp, 0.1 * np.exp(-0.35 * lam * s.t), rtol=0, atol=2e-7)
    with pytest.raises(ScenarioError, match="transport.method"):
        solve_transport(lin, {"T": 1 + 0.1 * mode}, 0.05, method="rk4")
