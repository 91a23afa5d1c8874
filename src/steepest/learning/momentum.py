"""Momentum methods and the second-order ODEs they discretise.

**Heavy ball** (Polyak 1964): θ_{k+1} = θ_k − h∇L(θ_k) + β(θ_k − θ_{k−1}). With δ = √h and
γ = (1 − β)/δ it is the central-difference discretisation, with time step δ, of the damped
Newtonian flow

    θ″ + γθ′ + ∇L(θ) = 0,       t = kδ,

whose mechanical energy L(θ) + ½|θ′|² falls at the rate γ|θ′|² (the iterates follow it with
error O(δ)). On a quadratic with spectrum in [μ, L], h = 4/(√L + √μ)² and
β = ((√κ − 1)/(√κ + 1))² give the rate (√κ − 1)/(√κ + 1) per step against GD's (κ − 1)/(κ + 1).

**Nesterov** (1983), in the form of Su, Boyd & Candès (2016):
x_k = y_{k−1} − s∇L(y_{k−1}), y_k = x_k + (k − 1)/(k + 2)·(x_k − x_{k−1}). With t = k√s its
iterates converge, as s → 0, to the solution of

    X″ + (3/t)X′ + ∇L(X) = 0,      X(0) = θ₀, X′(0) = 0,

at the rate O(√s); L(X(t)) − L* ≤ 2|θ₀ − θ*|²/t² for convex L (their Theorem 3). With a
constant momentum ``beta`` instead of (k − 1)/(k + 2) it is the strongly convex variant.

Both ODEs are solved by diffrax (``Tsit5``, adaptive), as the first-order system (θ, θ′) with
the damping a(t) = γ + r/t; the Nesterov ODE starts at t = ε from its series
X(ε) = θ₀ − ε²∇L(θ₀)/(2(1 + r)), so that the 3/t singularity is never evaluated.

References:
    Polyak, USSR Comput. Math. Math. Phys. 4(5), 1 (1964). Nesterov, Soviet Math. Dokl. 27, 372
    (1983). Su, Boyd & Candès, *A differential equation for modeling Nesterov's accelerated
    gradient method*, JMLR 17(153), 1–43 (2016). Qian, Neural Networks 12, 145 (1999).
"""

from __future__ import annotations

import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from ..solution import Solution
from ._cache import compiled
from ._loop import iterate
from .checks import check_step, start_of


def _check_beta(beta: Any, key: str = "beta") -> float:
    try:
        b = float(beta)
    except (TypeError, ValueError):
        b = math.nan
    if isinstance(beta, bool) or not 0.0 <= b < 1.0:
        raise ScenarioError(
            f"{key}: the momentum must be a number in [0, 1), got {beta!r}; 0.9 is common, and "
            "Curvature.heavy_ball() gives Polyak's optimal value.",
            key=key,
        )
    return b


def _heavy_ball_method(loss: Potential):
    def init(theta0, hyper):
        return (theta0, theta0)

    def step(state, k, hyper):
        x, x_prev = state
        g = loss._grad(x)
        return (x - hyper["h"] * g + hyper["beta"] * (x - x_prev), x)

    return init, step, lambda state: state[0]


def heavy_ball(
    loss: Potential,
    h: float,
    beta: float,
    steps: int,
    *,
    theta0: Any = None,
    every: int | None = None,
) -> Solution:
    """Polyak's heavy ball θ_{k+1} = θ_k − h∇L(θ_k) + β(θ_k − θ_{k−1}) (θ_{−1} = θ₀), one
    compiled loop; ``solution.t`` is the time kδ, δ = √h, of the damped ODE
    θ″ + γθ′ + ∇L = 0 with γ = (1 − β)/√h (see :func:`heavy_ball_ode`)."""
    h = check_step(h)
    beta = _check_beta(beta)
    delta = math.sqrt(h)
    return iterate(
        loss,
        ("heavy-ball",),
        lambda: _heavy_ball_method(loss),
        theta0,
        steps,
        every,
        {"h": h, "beta": beta},
        dt=delta,
        name="heavy-ball",
        settings={"gamma": (1.0 - beta) / delta, "ode": "θ″ + γθ′ + ∇L(θ) = 0, t = k√h"},
    )


def _nesterov_method(loss: Potential):
    def init(theta0, hyper):
        return (theta0, theta0)  # (x_k, y_k) with x_0 = y_0 = θ₀

    def step(state, k, hyper):
        x, y = state
        n = (k + 1).astype(x.dtype)  # the step index k ≥ 1 of Su, Boyd & Candès
        x1 = y - hyper["s"] * loss._grad(y)
        schedule = (n - 1.0) / (n + hyper["r"] - 1.0)
        c = jnp.where(hyper["constant"] > 0, hyper["beta"], schedule)
        return (x1, x1 + c * (x1 - x))

    return init, step, lambda state: state[0]


def nesterov(
    loss: Potential,
    s: float,
    steps: int,
    *,
    beta: float | None = None,
    r: float = 3.0,
    theta0: Any = None,
    every: int | None = None,
) -> Solution:
    """Nesterov's accelerated gradient x_k = y_{k−1} − s∇L(y_{k−1}),
    y_k = x_k + c_k(x_k − x_{k−1}) with c_k = (k − 1)/(k + r − 1) (r = 3: Nesterov's original
    schedule as written by Su, Boyd & Candès) or a constant ``beta``. ``solution.t`` is k√s, the
    time of the ODE X″ + (r/t)X′ + ∇L = 0 (:func:`nesterov_ode`)."""
    s = check_step(s, "s")
    try:
        r = float(r)
    except (TypeError, ValueError):
        r = math.nan
    if not r >= 3.0 or not math.isfinite(r):
        raise ScenarioError(
            f"r: the friction constant must be a finite number ≥ 3 (Su, Boyd & Candès), got {r!r}.",
            key="r",
        )
    constant = beta is not None
    b = _check_beta(beta) if constant else 0.0
    return iterate(
        loss,
        ("nesterov",),
        lambda: _nesterov_method(loss),
        theta0,
        steps,
        every,
        {"s": s, "beta": b, "r": r, "constant": 1.0 if constant else 0.0},
        dt=math.sqrt(s),
        name="nesterov",
        settings={
            "momentum": "constant" if constant else f"(k − 1)/(k + {r:g} − 1)",
            "ode": f"X″ + ({r:g}/t)X′ + ∇L(X) = 0, t = k√s",
        },
    )


# -- the ODEs ------------------------------------------------------------------------------
def _second_order(
    loss: Potential,
    t1: float,
    *,
    theta0: Any,
    v0: Any,
    gamma: float,
    r: float,
    n_save: int,
    rtol: float,
    atol: float,
    max_steps: int,
    name: str,
    ode: str,
) -> Solution:
    """θ″ + (γ + r/t)θ′ + ∇L(θ) = 0 by diffrax Tsit5, saved at ``n_save`` equally spaced times."""
    t1 = check_step(t1, "t1", "the end time")
    x0 = start_of(loss, theta0)
    v = np.zeros_like(x0) if v0 is None else start_of(loss, v0, "v0")
    if isinstance(n_save, bool) or not isinstance(n_save, int) or n_save < 2:
        raise ScenarioError(f"n_save: expected an integer ≥ 2, got {n_save!r}.", key="n_save")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ScenarioError(
            f"max_steps: expected a positive integer, got {max_steps!r}.", key="max_steps"
        )
    eps = 1e-6 * t1 if r > 0 else 0.0

    def build():
        import diffrax

        def field(t, y, args):
            x, u = y
            a = args["gamma"] + args["r"] / jnp.maximum(t, 1e-300)
            return (u, -a * u - loss._grad(x))

        def run(x0, v0, args, ts):
            # the series start of the singular case: X(ε) = x0 − ε²g/(2(1+r)), X′ = −εg/(1+r)
            g0 = loss._grad(x0)
            e = args["eps"]
            y0 = (x0 - e * e * g0 / (2 * (1 + args["r"])) + e * v0, v0 - e * g0 / (1 + args["r"]))
            sol = diffrax.diffeqsolve(
                diffrax.ODETerm(field),
                diffrax.Tsit5(),
                t0=e,
                t1=ts[-1],
                dt0=args["dt0"],
                y0=y0,
                args=args,
                saveat=diffrax.SaveAt(ts=ts),
                stepsize_controller=diffrax.PIDController(rtol=args["rtol"], atol=args["atol"]),
                max_steps=max_steps,
                throw=False,
            )
            xs, us = sol.ys
            Es, gs = jax.vmap(loss._value_and_grad)(xs)
            ok = sol.result == diffrax.RESULTS.successful
            out_of_steps = sol.result == diffrax.RESULTS.max_steps_reached
            return xs, us, Es, jnp.linalg.norm(gs, axis=-1), ok, out_of_steps, sol.stats

        return run

    f = compiled(loss, ("second-order", n_save, max_steps), build)
    f64 = jnp.result_type(float)
    args = {
        k: jnp.asarray(v_, f64)
        for k, v_ in dict(
            gamma=gamma, r=r, eps=eps, rtol=rtol, atol=atol, dt0=eps if eps else 1e-3 * t1
        ).items()
    }
    ts = np.linspace(0.0, t1, n_save)
    ts_eval = ts.copy()
    ts_eval[0] = eps  # the first save is the start itself
    t0 = time.perf_counter()
    xs, us, Es, Gs, ok, out_of_steps, stats = jax.device_get(
        f(jnp.asarray(x0), jnp.asarray(v), args, jnp.asarray(ts_eval))
    )
    wall = time.perf_counter() - t0
    xs, us, Es, Gs = (np.array(a) for a in (xs, us, Es, Gs))
    xs[0], us[0] = x0, v  # the first save is the start itself, not the series point at ε
    good = np.all(np.isfinite(xs), axis=1) & np.isfinite(Es)
    ok = bool(ok) and bool(good.all())
    if not ok:  # hold the last good save, as st.solve does
        last = int(np.flatnonzero(~good)[0]) - 1 if (~good).any() else len(ts) - 1
        last = max(last, 0)
        xs[last + 1 :], us[last + 1 :] = xs[last], us[last]
        Es[last + 1 :], Gs[last + 1 :] = Es[last], Gs[last]
    Es[0], Gs[0] = float(loss(x0)), float(np.linalg.norm(np.asarray(loss.grad(x0))))
    mech = Es + 0.5 * np.sum(us * us, axis=-1)
    status = "done" if ok else ("max-steps" if bool(out_of_steps) else "non-finite")
    return Solution(
        t=ts,
        x=xs,
        energy=np.asarray(Es),
        grad_norm=np.asarray(Gs),
        x_final=xs[-1],
        energy_final=np.asarray(Es[-1]),
        t_final=np.asarray(t1),
        steps=np.asarray(int(stats["num_accepted_steps"])),
        status=np.asarray(status),
        stats={
            "method": "tsit5",
            "samples": 1,
            "steps_total": int(stats["num_accepted_steps"]),
            "rejected_or_halved": int(stats["num_rejected_steps"]),
            "wall_time_s": wall,
            "velocity": us,
            "mechanical_energy": mech,
            "energy_monotone": bool(np.all(np.diff(np.asarray(Es)) <= 0)),
        },
        settings={
            "method": "tsit5",
            "ode": ode,
            "t1": t1,
            "gamma": gamma,
            "r": r,
            "rtol": rtol,
            "atol": atol,
            "name": name,
            "energy": loss.describe(),
        },
        components=loss.variables,
    )


def heavy_ball_ode(
    loss: Potential,
    gamma: float,
    t1: float,
    *,
    theta0: Any = None,
    v0: Any = None,
    n_save: int = 201,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_steps: int = 1_000_000,
) -> Solution:
    """The damped Newtonian flow θ″ + γθ′ + ∇L(θ) = 0 (θ(0) = θ₀, θ′(0) = v₀, default 0), the
    continuous limit of the heavy ball. Its mechanical energy L + ½|θ′|², saved in
    ``solution.stats["mechanical_energy"]``, never increases (dE/dt = −γ|θ′|²)."""
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        g = math.nan
    if isinstance(gamma, bool) or not math.isfinite(g) or g < 0:
        raise ScenarioError(
            f"gamma: the damping must be a finite number ≥ 0, got {gamma!r}.", key="gamma"
        )
    return _second_order(
        loss,
        t1,
        theta0=theta0,
        v0=v0,
        gamma=g,
        r=0.0,
        n_save=n_save,
        rtol=rtol,
        atol=atol,
        max_steps=max_steps,
        name="heavy-ball ODE",
        ode="θ″ + γθ′ + ∇L(θ) = 0",
    )


def nesterov_ode(
    loss: Potential,
    t1: float,
    *,
    theta0: Any = None,
    r: float = 3.0,
    n_save: int = 201,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_steps: int = 1_000_000,
) -> Solution:
    """The Su–Boyd–Candès ODE X″ + (r/t)X′ + ∇L(X) = 0, X(0) = θ₀, X′(0) = 0 (r = 3 for
    Nesterov's method), by an adaptive solver from the series start at t = 10⁻⁶·t1."""
    if isinstance(r, bool) or not isinstance(r, (int, float)) or not 3.0 <= r < math.inf:
        raise ScenarioError(
            f"r: the friction constant must be a finite number ≥ 3, got {r!r}.", key="r"
        )
    return _second_order(
        loss,
        t1,
        theta0=theta0,
        v0=None,
        gamma=0.0,
        r=float(r),
        n_save=n_save,
        rtol=rtol,
        atol=atol,
        max_steps=max_steps,
        name="Nesterov ODE",
        ode=f"X″ + ({float(r):g}/t)X′ + ∇L(X) = 0",
    )
