"""Rotationally symmetric Ricci flow on S³: round law, cylinder law, neck pinch, round shrinking."""

import numpy as np
import pytest

import steepest as st
from steepest.geometry.ricci_s3 import perelman_lambda, ricci_flow_s3

N = 64  # one grid for the S³ tests: one compilation


@pytest.fixture(scope="module")
def dumbbell():
    # the neck (width 0.3) needs a finer grid than the other S³ tests
    return ricci_flow_s3("dumbbell", n=100, t1=0.3, n_save=30, pinch_ratio=0.05)


def test_round_sphere_shrinks_as_r2_equals_r0_squared_minus_4t():
    # Ric = (2/r²) g on the round S³ of radius r, so (r²)_t = −4; its length is πr
    sol = ricci_flow_s3("round", n=N, t1=0.2, n_save=4)
    r2 = (sol.diagnostics["length"] / np.pi) ** 2
    np.testing.assert_allclose(r2, 1 - 4 * sol.t, atol=1e-3)
    np.testing.assert_allclose(sol.diagnostics["psi_max"] ** 2, 1 - 4 * sol.t, atol=2e-3)
    # Perelman's λ = R = 6/r² for the round sphere, and −λ never rises
    lam = -sol.energy
    np.testing.assert_allclose(lam, 6 / (1 - 4 * sol.t), rtol=2e-3)
    assert sol.checks["perelman_lambda_non_decreasing"]


def test_cylinder_radius_follows_psi2_equals_psi0_squared_minus_2t_at_second_order():
    # S¹ × S²: ψ_t = −1/ψ, ψ² = ψ0² − 2t; ROS2 is second order in τ
    errs = []
    steps = (2e-3, 1e-3, 5e-4)
    for step in steps:
        sol = ricci_flow_s3(
            lambda s: 0.5 + 0 * s,
            n=16,
            length=2.0,
            periodic=True,
            t1=0.1,
            step=step,
            step_fraction=10.0,  # τ = step exactly
            n_save=1,
        )
        errs.append(np.max(np.abs(sol.final**2 - (0.25 - 2 * 0.1))))
        np.testing.assert_allclose(sol.diagnostics["length"], 2.0, rtol=1e-14)  # no ψ_ss
        # λ = R = 2/ψ² on the cylinder (constant eigenfunction), rising as ψ shrinks
        np.testing.assert_allclose(-sol.energy, 2 / sol.frames[:, 0] ** 2, rtol=1e-10)
    assert errs[-1] < 1e-5
    order = np.polyfit(np.log(steps), np.log(errs), 1)[0]
    assert 1.8 < order < 2.2


def test_dumbbell_pinches_at_its_neck_while_the_bulbs_stay_large(dumbbell):
    sol = dumbbell
    assert sol.status == "pinched", sol.message
    neck, bulb = sol.diagnostics["neck"], sol.diagnostics["psi_max"]
    # stopped when the neck is three cells thin (the grid's limit), the bulbs still 4× wider
    assert neck[-1] < 0.25 * bulb[-1] and bulb[-1] > 0.3
    assert neck[-1] < 0.5 * neck.max()
    # well before a sphere of the bulbs' size would vanish (r²/4 ≈ 0.17)
    assert sol.t[-1] < 0.12
    # Type-I neck: ψ_min² ≈ 2(T − t) near the pinch, so d(ψ_min²)/dt → −2 from above
    rate = np.diff(neck[-3:] ** 2) / np.diff(sol.t[-3:])
    assert -2.1 < rate[-1] < -1.5
    assert sol.checks["perelman_lambda_non_decreasing"] and sol.checks["radii_positive"]


def test_nearly_round_sphere_shrinks_round():
    # Hamilton (1982): positive Ricci curvature shrinks to a round point; the curvature
    # pinching min K / max K → 1 and the extinction time is close to r0²/4 = 1/4
    sol = ricci_flow_s3("near-round", n=N, t1=0.3, n_save=30)
    assert sol.status == "shrunk"
    pinch = sol.diagnostics["pinching"]
    assert pinch[0] < 0 and pinch[-1] > 0.97
    assert np.all(np.isinf(sol.diagnostics["neck"][-5:]))  # no neck forms
    assert abs(sol.t[-1] - 0.25) < 0.01
    assert sol.checks["perelman_lambda_non_decreasing"]


def test_perelman_lambda_of_the_unit_sphere_is_six():
    s = (np.arange(200) + 0.5) / 200 * np.pi
    assert perelman_lambda(np.sin(s), np.pi) == pytest.approx(6.0, rel=1e-4)


def test_a_cone_point_or_a_bad_profile_is_refused():
    with pytest.raises(st.ScenarioError, match="ψ_s = 1 at the poles"):
        ricci_flow_s3(lambda s: 2 * np.sin(s), n=N)
    with pytest.raises(st.ScenarioError, match="positive"):
        ricci_flow_s3(lambda s: np.cos(s), n=N)
    with pytest.raises(st.ScenarioError, match="unknown profile"):
        ricci_flow_s3("peanut", n=N)
