"""Functionals: values and chemical potentials from closed forms (interfacial energies, PFHub's
f′), Eyre's split, and a user density f(c, ∇c) agreeing with the built-in forms."""

import jax.numpy as jnp
import numpy as np
import pytest

import steepest as st
from steepest.fields import (
    Density,
    FiniteVolumeGrid,
    L2Flow,
    SpectralGrid,
    entropy_potential,
    evolve,
    ginzburg_landau,
    pfhub1,
    porous_medium,
)
from steepest.fields.functionals import PFHUB1

RNG = np.random.default_rng(11)


def test_pfhub_derivative_and_interfacial_energy():
    """f′(c) = 2ρ(c − c_α)(c_β − c)(c_α + c_β − 2c); the 1-D equilibrium profile
    0.5 + 0.2 tanh(x (c_β − c_α)/2 · √(2ρ/κ)) = 0.5 + 0.2 tanh(0.4472x) carries
    σ = √(2κρ)(c_β − c_α)³/6 = 0.047703 (the values of the PFHub benchmark notes)."""
    p = PFHUB1
    f = pfhub1()
    g = FiniteVolumeGrid((400,), (80.0,), origin=-40.0, boundary="no-flux")
    (x,) = g.coordinates()
    c = np.linspace(0.1, 0.9, 400)
    fp = (
        2 * p["rho"] * (c - p["c_alpha"]) * (p["c_beta"] - c) * (p["c_alpha"] + p["c_beta"] - 2 * c)
    )
    np.testing.assert_allclose(f.bulk_derivative(g, c), fp, atol=1e-13)
    width = 0.5 * (p["c_beta"] - p["c_alpha"]) * np.sqrt(2 * p["rho"] / p["kappa"])
    profile = 0.5 + 0.2 * np.tanh(width * x)
    sigma = np.sqrt(2 * p["kappa"] * p["rho"]) * (p["c_beta"] - p["c_alpha"]) ** 3 / 6
    assert sigma == pytest.approx(0.047703, abs=1e-6)
    assert float(f.energy(g, profile)) == pytest.approx(sigma, rel=2e-3)


def test_ginzburg_landau_split_is_convex_plus_concave():
    f = ginzburg_landau(kappa=0.5, height=2.0, minima=(-0.5, 1.5))
    g = SpectralGrid((16,), (1.0,))
    c = jnp.linspace(-3, 4, 16)
    fc, fe = f.split
    np.testing.assert_allclose(fc(c, ()) + fe(c, ()), f.bulk(c, ()), atol=1e-12)
    assert np.all(np.asarray(f.bulk_curvature(g, c, fc)) >= 0)
    assert np.all(np.asarray(f.bulk_curvature(g, c, fe)) <= 0)
    assert np.all(np.asarray(f.bulk(jnp.array([-0.5, 1.5]), ())) == 0)


def test_user_density_matches_the_gradient_functional():
    """Density(¼(1 − c²)² + ½|∇c|²): on a finite-volume grid its energy is exactly the
    face-sum form and its autodiff μ is f′ − Δc; an explicit L² run equals the built-in's."""
    g = FiniteVolumeGrid((10, 8), (3.0, 2.0), boundary=["no-flux", "periodic"])
    c = RNG.normal(size=g.shape)
    gl = ginzburg_landau()
    user = Density(lambda c, grad, x: 0.25 * (1 - c**2) ** 2 + 0.5 * sum(q**2 for q in grad))
    assert float(user.energy(g, c)) == pytest.approx(float(gl.energy(g, c)), rel=1e-13)
    np.testing.assert_allclose(
        user.chemical_potential(g, c), gl.chemical_potential(g, c), atol=1e-12
    )
    a = evolve(L2Flow(g, user), c, 0.05, dt=0.005, scheme="explicit", n_save=2)
    b = evolve(L2Flow(g, gl), c, 0.05, dt=0.005, scheme="explicit", n_save=2)
    np.testing.assert_allclose(a.final, b.final, atol=1e-12)
    with pytest.raises(st.ScenarioError, match="explicit scheme"):
        evolve(L2Flow(g, user), c, 0.05, dt=0.005, scheme="semi-implicit")


def test_entropy_and_porous_medium_values():
    g = FiniteVolumeGrid((20,), (4.0,), boundary="no-flux")
    rho = np.full(20, 0.25)  # a uniform density of mass 1
    F = entropy_potential(lambda x: 3.0 + 0 * x, kT=2.0)
    assert float(F.energy(g, rho)) == pytest.approx(2.0 * np.log(0.25) + 3.0, rel=1e-13)
    np.testing.assert_allclose(F.chemical_potential(g, rho), 2.0 * (np.log(0.25) + 1) + 3.0)
    P = porous_medium(3.0)
    assert float(P.energy(g, rho)) == pytest.approx(4.0 * 0.25**3 / 2, rel=1e-13)
    np.testing.assert_allclose(P.chemical_potential(g, rho), 1.5 * 0.25**2, rtol=1e-13)


@pytest.mark.parametrize(
    "make,key",
    [
        (lambda: ginzburg_landau(kappa=-1.0), "functional.kappa"),
        (lambda: ginzburg_landau(height=0.0), "functional.height"),
        (lambda: ginzburg_landau(minima=(1.0, -1.0)), "functional.minima"),
        (lambda: porous_medium(1.0), "functional.m"),
        (lambda: entropy_potential(kT=-1.0), "functional.kT"),
        (lambda: Density("c**2"), "functional.density"),
    ],
)
def test_bad_functional_parameters_name_their_key(make, key):
    with pytest.raises(st.ScenarioError) as e:
        make()
    assert e.value.key == key
