"""Adaptive and stiff solves through diffrax (Dopri5, Tsit5, Kvaerno5) with PID step control.

Each segment is one ``diffrax.diffeqsolve`` over a chunk of save times for one trajectory (vmap
makes batches). The stop on |∇V| < grad_tol is a diffrax ``Event``; after it the trajectory is
held at its final state.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._core import status as S
from ..flow import GradientFlow


class Carry(NamedTuple):
    x: jax.Array
    E: jax.Array
    g: jax.Array
    status: jax.Array
    steps: jax.Array
    rejected: jax.Array
    t_stop: jax.Array
    n: jax.Array  # unused by adaptive solves; kept for a common shape with the fixed loop
    nfev: jax.Array
    nhalve: jax.Array


class Params(NamedTuple):
    t_start: jax.Array  # where this segment starts (common to all trajectories)
    rtol: jax.Array
    atol: jax.Array
    grad_tol: jax.Array


_SOLVERS = {"rk45": "Dopri5", "tsit5": "Tsit5", "kvaerno5": "Kvaerno5"}
_STAGES = {"rk45": 6, "tsit5": 6, "kvaerno5": 12}


def init_carry(flow: GradientFlow, x0: jax.Array, grad_tol) -> Carry:
    E, g = flow.energy._value_and_grad(x0)
    finite = jnp.isfinite(E) & jnp.all(jnp.isfinite(g))
    st = jnp.where(
        ~finite, S.NONFINITE, jnp.where(jnp.linalg.norm(g) <= grad_tol, S.CONVERGED, S.RUNNING)
    ).astype(jnp.int32)
    z = jnp.zeros((), jnp.int32)
    return Carry(x0, E, g, st, z, z, jnp.zeros((), x0.dtype), z, z + 1, z)


def make_segment(
    flow: GradientFlow, method: str, max_steps: int, use_event: bool, save_state: bool
):
    import diffrax  # heavy: imported only when an adaptive method is used

    solver = getattr(diffrax, _SOLVERS[method])()
    term = diffrax.ODETerm(lambda t, y, args: flow.velocity(y))
    stages = _STAGES[method]

    def segment(c: Carry, ts, p: Params):
        event = None
        if use_event:
            event = diffrax.Event(
                lambda t, y, args, **kw: jnp.linalg.norm(flow.energy._grad(y)) <= p.grad_tol
            )
        running = c.status == S.RUNNING
        # Initial step by the Hairer–Nørsett–Wanner heuristic h0 = 0.01 ‖y‖/‖f(y)‖ (scaled
        # norms). diffrax's automatic choice (dt0=None) was seen to stall on short segments.
        span = ts[-1] - p.t_start
        sc = p.atol + p.rtol * jnp.abs(c.x)
        d0 = jnp.sqrt(jnp.mean((c.x / sc) ** 2))
        d1 = jnp.sqrt(jnp.mean((flow.velocity(c.x) / sc) ** 2))
        h0 = jnp.where((d0 > 1e-5) & (d1 > 1e-5), 0.01 * d0 / d1, 1e-6)
        h0 = jnp.clip(jnp.where(jnp.isfinite(h0), h0, 1e-6), 1e-12 * span, span)
        sol = diffrax.diffeqsolve(
            term,
            solver,
            t0=p.t_start,
            t1=ts[-1],
            dt0=h0,
            y0=c.x,
            saveat=diffrax.SaveAt(ts=ts, t1=True),
            stepsize_controller=diffrax.PIDController(rtol=p.rtol, atol=p.atol),
            event=event,
            max_steps=max_steps,
            throw=False,
        )
        # diffrax packs the saves: the ts reached, then the final state (t1=True), then inf
        k = jnp.sum(jnp.isfinite(sol.ts)) - 1
        t_end = sol.ts[k]
        y_end = sol.ys[k]
        E_end, g_end = flow.energy._value_and_grad(y_end)
        finite = jnp.isfinite(E_end) & jnp.all(jnp.isfinite(y_end))
        res = sol.result
        new_status = jnp.where(
            res == diffrax.RESULTS.successful,
            S.DONE,
            jnp.where(
                res == diffrax.RESULTS.event_occurred,
                S.CONVERGED,
                jnp.where(res == diffrax.RESULTS.max_steps_reached, S.MAX_STEPS, S.NONFINITE),
            ),
        )
        new_status = jnp.where(finite, new_status, S.NONFINITE)
        # a segment that ends before t1 leaves the trajectory running
        new_status = jnp.where(new_status == S.DONE, S.RUNNING, new_status).astype(jnp.int32)
        ok = running & finite
        # saved points after the event (or failure) hold the final good state
        ys = sol.ys[:-1]
        valid = (jnp.arange(ts.shape[0]) < k)[:, None] & jnp.all(
            jnp.isfinite(ys), axis=1, keepdims=True
        )
        fallback = jnp.where(ok, y_end, c.x)
        ys = jnp.where(valid & running, ys, fallback)
        Es, gs = jax.vmap(flow.energy._value_and_grad)(ys)
        n_steps = sol.stats["num_steps"]
        c1 = Carry(
            jnp.where(ok, y_end, c.x),
            jnp.where(ok, E_end, c.E),
            jnp.where(ok, g_end, c.g),
            jnp.where(running, new_status, c.status),
            c.steps + jnp.where(running, sol.stats["num_accepted_steps"], 0),
            c.rejected + jnp.where(running, sol.stats["num_rejected_steps"], 0),
            jnp.where(ok, t_end, c.t_stop),
            c.n,
            c.nfev + jnp.where(running, stages * n_steps, 0),
            c.nhalve,
        )
        saved = (ys if save_state else None, Es, jnp.linalg.norm(gs, axis=-1))
        return c1, saved

    return segment
