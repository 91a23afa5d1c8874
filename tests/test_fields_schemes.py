"""Time-stepping schemes: each reaches its design order on Allen–Cahn (slope of log error
against log dt), the step controllers reach their tolerances, and runs do not recompile."""

import numpy as np
import pytest

from steepest.fields import L2Flow, SpectralGrid, evolve, ginzburg_landau, stepping

T1 = 0.8
DTS = np.array([0.04, 0.02, 0.01, 0.005])
ORDERS = {
    "explicit": 1, "semi-implicit": 1, "etd1": 1, "etdrk2": 2, "etdrk4": 4, "eyre": 1, "sav": 1,
}  # fmt: skip


@pytest.fixture(scope="module")
def allen_cahn():
    """Allen–Cahn ∂c/∂t = −(c³ − c − κΔc) on a periodic 1-D grid, with a reference solution
    from ETDRK4 at dt = 1e-3 (error ~1e-14), which ETDRK2 at dt = 1e-4 confirms to its own
    error (~1e-8)."""
    g = SpectralGrid((32,), (2 * np.pi,))
    (x,) = g.coordinates()
    c0 = 0.6 * np.sin(x) + 0.3 * np.cos(3 * x)
    flow = L2Flow(g, ginzburg_landau(kappa=0.1))
    ref = evolve(flow, c0, T1, dt=1e-3, scheme="etdrk4", n_save=2).final
    ref2 = evolve(flow, c0, T1, dt=1e-4, scheme="etdrk2", n_save=2).final
    assert np.max(np.abs(ref - ref2)) < 3e-8
    return flow, c0, ref


@pytest.mark.parametrize("scheme", list(ORDERS))
def test_measured_order_matches_design_order(allen_cahn, scheme):
    flow, c0, ref = allen_cahn
    dts = DTS * (5 if ORDERS[scheme] == 4 else 1)  # fourth order: errors 3e-5 … 7e-9
    errs = [
        np.max(np.abs(evolve(flow, c0, T1, dt=h, scheme=scheme, n_save=2).final - ref)) for h in dts
    ]
    slope = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    assert abs(slope - ORDERS[scheme]) < 0.12, (scheme, slope, errs)


@pytest.mark.parametrize(
    "scheme,error_power,step_power",
    [
        # step doubling of an order-1 scheme: local error h² = tol, global error ∝ h
        ("semi-implicit", 1 / 2, 1 / 2),
        # ETDRK2 with its embedded ETD1 estimate (local error h² = tol), global error ∝ h²
        ("etdrk2", 1.0, 1 / 2),
        # ETDRK4 with its embedded ETDRK2 estimate (local error h³ = tol), global error ∝ h⁴
        ("etdrk4", 4 / 3, 1 / 3),
    ],
)
def test_error_controller_follows_its_tolerance(allen_cahn, scheme, error_power, step_power):
    """The global error and the number of steps scale with rtol as the controller's theory
    says (h ∝ tol^{1/(q+1)} for a local estimate O(h^{q+1}))."""
    flow, c0, ref = allen_cahn
    out = {}
    for rtol in (1e-4, 1e-6):
        sol = evolve(
            flow, c0, T1, dt=0.1, scheme=scheme, adaptive="error", rtol=rtol, atol=1e-12, n_save=2
        )
        out[rtol] = (np.max(np.abs(sol.final - ref)), sol.stats["steps"])
    (e4, n4), (e6, n6) = out[1e-4], out[1e-6]
    assert e4 / e6 == pytest.approx(100**error_power, rel=0.5)
    assert n6 / n4 == pytest.approx(100**step_power, rel=0.3)
    assert e6 < 1e-3


def test_energy_controller_takes_large_steps_on_plateaus(allen_cahn):
    """h = dt_max/√(1 + α|dF/dt|²): small while F falls fast, dt_max once it settles."""
    flow, c0, _ = allen_cahn
    sol = evolve(
        flow,
        c0,
        20.0,
        dt=0.5,
        dt_min=1e-3,
        scheme="semi-implicit",
        adaptive="energy",
        alpha=1e3,
        n_save=41,
    )
    assert sol.energy_monotone
    assert sol.dt[1] < 0.25 and sol.dt[-1] == pytest.approx(0.5, rel=1e-6)


def test_second_run_with_equal_shapes_does_not_compile(allen_cahn):
    """JAX's own compile events: a new flow compiles its segment once; a second run with
    equal shapes and new numbers (dt, S, c₀, t1) compiles nothing."""
    _, c0, _ = allen_cahn
    flow = L2Flow(SpectralGrid((32,), (2 * np.pi,)), ginzburg_landau(kappa=0.1))
    n0 = stepping.COMPILE_COUNT["n"]
    first = evolve(flow, c0, 0.3, dt=0.01, scheme="semi-implicit", n_save=4)
    assert stepping.COMPILE_COUNT["n"] > n0 and first.stats["compile_s"] > 0
    n = stepping.COMPILE_COUNT["n"]
    sol = evolve(flow, 0.5 * c0, 0.7, dt=0.02, scheme="semi-implicit", S=3.0, n_save=4)
    assert stepping.COMPILE_COUNT["n"] == n and sol.stats["compile_s"] == 0
    assert sol.stats["param_S"] == 3.0


def test_progress_callback_sees_time_steps_and_energy(allen_cahn):
    """A callable progress gets one dict per compiled chunk, between segments: time rising to
    t1, steps counted, F falling (Allen–Cahn lowers F)."""
    flow, c0, _ = allen_cahn
    seen = []
    sol = evolve(flow, c0, T1, dt=0.001, scheme="semi-implicit", n_save=3, progress=seen.append)
    assert seen and seen[-1]["t"] == pytest.approx(T1) and seen[-1]["steps"] == 800
    t = [d["t"] for d in seen]
    assert t == sorted(t) and all(d["t1"] == T1 for d in seen)
    assert seen[-1]["F"] == pytest.approx(sol.energy[-1]) and seen[-1]["F"] < seen[0]["F"]


def test_exponential_weights_are_accurate_across_scales():
    """e^z, φ₁ = (e^z − 1)/z and φ₂ = (e^z − 1 − z)/z² for z from −1e3 to −1e-8 and 0, against
    the quotients where they do not cancel (|z| ≥ 0.05) and 14-term Taylor series below."""
    from math import factorial

    from steepest.fields.schemes.exponential import phis

    z = np.concatenate([-np.logspace(-8, 3, 300), [0.0]])
    e, p1, p2 = (np.asarray(v) for v in phis(z))
    series = lambda z, k0: sum(z**j / factorial(j + k0) for j in range(14))
    big = np.abs(z) >= 0.05
    zb = np.where(big, z, 1.0)
    ref1 = np.where(big, np.expm1(zb) / zb, series(z, 1))
    ref2 = np.where(big, (np.expm1(zb) - zb) / zb**2, series(z, 2))
    np.testing.assert_allclose(e, np.exp(z), rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(p1, ref1, rtol=1e-13)
    np.testing.assert_allclose(p2, ref2, rtol=1e-13)


def test_error_controller_resolves_the_fast_decay_of_white_noise():
    """White noise on a fine grid decays at rates ~ Mκk⁴_max: the first steps must shrink far
    below dt (to ~1e-4·dt) before they grow again; the default dt_min allows that."""
    import warnings

    from steepest import ConvergenceError
    from steepest.fields import HMinus1Flow, pfhub1

    g = SpectralGrid((64, 64), (50.0, 50.0))  # dx ≈ 0.78: k_max ≈ 4, Mκk⁴ ≈ 2600
    c0 = 0.5 + 0.05 * np.random.default_rng(1).standard_normal(g.shape)
    flow = HMinus1Flow(g, pfhub1(), mobility=5.0)
    kw = dict(dt=1.0, scheme="etdrk2", adaptive="error", rtol=1e-4, n_save=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sol = evolve(flow, c0, 5.0, **kw)
        with pytest.raises(ConvergenceError, match="below dt_min"):
            evolve(flow, c0, 5.0, dt_min=1e-3, **kw)
    assert sol.stats["status"] == "done"
    assert sol.dt[-1] > 0.01  # large again once the noise has decayed
    assert np.all(np.diff(sol.energy) <= 0)


def test_etdrk4_weights_are_accurate_across_scales():
    """e^z, φ₁, φ₂, φ₃ of ETDRK4 (series below |z| = 1, recurrences above) for z from −1e3 to
    −1e-8, 0 and small positive z, against the closed forms in 60-digit decimal arithmetic,
    where the cancellation of e^z − 1 − z − z²/2 costs nothing."""
    from decimal import Decimal, localcontext

    from steepest.fields.schemes.exponential import phis4

    z = np.concatenate([-np.logspace(-8, 3, 300), [0.0], np.logspace(-8, -0.5, 30)])
    got = [np.asarray(v) for v in phis4(z)]

    def exact(x: float) -> list[float]:
        if x == 0.0:
            return [1.0, 1.0, 0.5, 1.0 / 6.0]
        with localcontext() as ctx:
            ctx.prec = 60
            d = Decimal(x)
            e = d.exp()
            return [
                float(e),
                float((e - 1) / d),
                float((e - 1 - d) / d**2),
                float((e - 1 - d - d * d / 2) / d**3),
            ]

    ref = np.array([exact(float(v)) for v in z]).T
    for k, (g, r) in enumerate(zip(got, ref, strict=True)):
        np.testing.assert_allclose(g, r, rtol=2e-14, atol=1e-300, err_msg=f"φ_{k}")
