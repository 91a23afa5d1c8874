"""Bad input to field flows: one clear ScenarioError naming the key, raised before any
compiled work; non-periodic data on a spectral grid warn."""

import numpy as np
import pytest

import steepest as st
from steepest.fields import (
    FiniteVolumeGrid,
    HMinus1Flow,
    L2Flow,
    NonPeriodicWarning,
    SpectralGrid,
    WassersteinFlow,
    dirichlet,
    entropy_potential,
    evolve,
    ginzburg_landau,
    make_flow,
    pfhub1,
)

FV = FiniteVolumeGrid((16,), (4.0,), origin=-2.0, boundary="no-flux")
SP = SpectralGrid((16,), (4.0,))


def _fp():
    return WassersteinFlow(FV, entropy_potential(lambda x: x**2))


@pytest.mark.parametrize(
    "call,key,words",
    [
        (lambda: evolve(L2Flow(SP, dirichlet()), np.zeros(15), 1.0, dt=0.1), "c0", "shape"),
        (lambda: evolve(L2Flow(SP, dirichlet()), np.zeros((16, 1)), 1.0, dt=0.1), "c0", "shape"),
        (lambda: evolve(L2Flow(SP, dirichlet()), np.full(16, np.nan), 1.0, dt=0.1), "c0", "NaN"),
        (
            lambda: evolve(_fp(), np.linspace(-1, 1, 16), 1.0, dt=0.1, scheme="explicit"),
            "c0",
            "ρ ≥ 0",
        ),
        (lambda: L2Flow(SP, dirichlet(), mobility=0.0), "flow.mobility", "> 0"),
        (lambda: HMinus1Flow(SP, pfhub1(), mobility=-5.0), "flow.mobility", "> 0"),
        (lambda: L2Flow(SP, dirichlet(), mobility="fast"), "flow.mobility", "number"),
        (
            lambda: evolve(
                HMinus1Flow(FV, pfhub1(), mobility=lambda c: c - 1.0), np.full(16, 0.5), 1.0, dt=0.1
            ),
            "flow.mobility",
            "≥ 0",
        ),
        (
            lambda: evolve(L2Flow(SP, dirichlet()), np.zeros(16), 1.0, dt=0.1, scheme="rk45"),
            "scheme.kind",
            "unknown scheme",
        ),
        (lambda: evolve(_fp(), np.ones(16), 1.0, dt=0.1, scheme="sav"), "scheme.kind", "explicit"),
        (
            lambda: evolve(
                HMinus1Flow(FV, pfhub1(), mobility=lambda c: 1 + c),
                np.full(16, 0.5),
                1.0,
                dt=0.1,
                scheme="eyre",
            ),
            "scheme.kind",
            "constant mobility",
        ),
        (lambda: evolve(L2Flow(SP, dirichlet()), np.zeros(16), -1.0, dt=0.1), "scheme.t1", "> 0"),
        (lambda: evolve(L2Flow(SP, dirichlet()), np.zeros(16), 1.0, dt=0.0), "scheme.dt", "> 0"),
        (
            lambda: evolve(L2Flow(SP, dirichlet()), np.zeros(16), 1.0, dt=0.1, adaptive="pid"),
            "scheme.adaptive",
            "unknown step control",
        ),
        (
            lambda: evolve(L2Flow(SP, dirichlet()), np.zeros(16), 1.0, dt=0.1, C0=2.0),
            "scheme.C0",
            "no parameter",
        ),
        (
            lambda: evolve(L2Flow(SP, ginzburg_landau()), np.zeros(16), 1.0, dt=0.1, S=-1.0),
            "scheme.S",
            "≥ 0",
        ),
        (lambda: WassersteinFlow(SP, entropy_potential()), "field.discretisation", "finite-volume"),
        (lambda: WassersteinFlow(FV, pfhub1()), "functional.kind", "density"),
        (
            lambda: HMinus1Flow(FiniteVolumeGrid((8,), 1.0, boundary="dirichlet"), pfhub1()),
            "field.boundary",
            "conserves mass",
        ),
        (lambda: make_flow("sobolev", SP, dirichlet()), "flow.metric", "unknown metric"),
        # a(k) is defined for a constant M only (L² used to return an array of None for M(c))
        (
            lambda: L2Flow(SP, dirichlet(), mobility=lambda c: 1 + c**2).mobility_symbol(),
            "flow.mobility",
            "constant mobility",
        ),
        (
            lambda: HMinus1Flow(SP, pfhub1(), mobility=lambda c: 1 + c**2).mobility_symbol(),
            "flow.mobility",
            "constant mobility",
        ),
    ],
)
def test_bad_input_is_one_clear_error(call, key, words):
    with pytest.raises(st.ScenarioError) as e:
        call()
    assert e.value.key == key, str(e.value)
    assert words in str(e.value)
    assert str(e.value).count("\n") == 0 and len(str(e.value)) < 400


def test_non_periodic_data_on_a_spectral_grid_warn_and_periodic_data_do_not():
    (x,) = SP.coordinates()
    flow = L2Flow(SP, dirichlet())
    with pytest.warns(NonPeriodicWarning, match="finite-volume grid"):
        flow.check_initial(x)  # a ramp jumps across the seam
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flow.check_initial(np.sin(2 * np.pi * x / 4.0))


def test_mobility_symbol_of_a_constant_mobility():
    # ∂ĉ/∂t = −a(k) μ̂: a = M for L², a = M|k|² for H⁻¹, k = 2πm/L (m = 0 … n/2, rfft)
    k = 2 * np.pi * np.arange(9) / 4.0
    np.testing.assert_allclose(L2Flow(SP, dirichlet(), mobility=2.5).mobility_symbol(), 2.5)
    np.testing.assert_allclose(
        HMinus1Flow(SP, pfhub1(), mobility=2.5).mobility_symbol(), 2.5 * k**2, rtol=1e-12
    )
