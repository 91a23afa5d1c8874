"""The compiled loop for the hand-written fixed-step schemes, with the dissipation guard inside.

One call advances every trajectory of a batch through a segment of save points: a ``lax.scan``
over the save targets, each a ``lax.while_loop`` over steps. The state carried between segments
is small (x, V, ∇V, counters), so progress bars and checkpoints happen between segments without
recompiling and without breaking jit/vmap.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from ..flow import GradientFlow
from . import status as S
from .steppers import STEPPERS, InnerSolve


class Carry(NamedTuple):
    x: jax.Array
    E: jax.Array
    g: jax.Array
    n: jax.Array  # number of steps of size h taken
    status: jax.Array
    nfev: jax.Array
    nhalve: jax.Array  # implicit steps retried with a smaller sub-step
    t_stop: jax.Array


class Params(NamedTuple):
    """Traced run parameters: changing them does not recompile."""

    h: jax.Array
    t1: jax.Array
    n_total: jax.Array
    grad_tol: jax.Array
    energy_tol_rel: jax.Array
    energy_scale: jax.Array


def init_carry(flow: GradientFlow, x0: jax.Array, grad_tol) -> Carry:
    E, g = flow.energy._value_and_grad(x0)
    finite = jnp.isfinite(E) & jnp.all(jnp.isfinite(g))
    st = jnp.where(
        ~finite, S.NONFINITE, jnp.where(jnp.linalg.norm(g) <= grad_tol, S.CONVERGED, S.RUNNING)
    )
    z = jnp.zeros((), jnp.int32)
    return Carry(x0, E, g, z, st.astype(jnp.int32), z + 1, z, jnp.zeros((), x0.dtype))


def _time_of(n, p: Params):
    return jnp.where(n >= p.n_total, p.t1, n * p.h)


def make_segment(flow: GradientFlow, method: str, inner: InnerSolve, check_energy: bool,
                 save_state: bool):
    """Build ``segment(carry, targets, params) -> (carry, saved)`` for ONE trajectory."""
    step = STEPPERS[method]
    implicit = method in ("implicit-euler", "discrete-gradient")

    def take_step(c: Carry, p: Params, dt):
        if not implicit:
            x1, E1, g1, ok, nf = step(flow, c.x, c.E, c.g, dt, inner)
            return x1, E1, g1, ok, c.nfev + nf, c.nhalve

        # Implicit steps: if Newton does not converge, retry the step as smaller sub-steps.
        def sub_cond(s):
            x, E, g, rem, sub, nfail, nfev, _ = s
            return (rem > 0) & (nfail < 30)

        def sub_body(s):
            x, E, g, rem, sub, nfail, nfev, nh = s
            used = jnp.minimum(sub, rem)
            y, Ey, gy, ok, nf = step(flow, x, E, g, used, inner)
            ok = ok & jnp.isfinite(Ey) & jnp.all(jnp.isfinite(y))
            rem1 = jnp.where(used >= rem, 0.0, rem - used)
            return (
                jnp.where(ok, y, x), jnp.where(ok, Ey, E), jnp.where(ok, gy, g),
                jnp.where(ok, rem1, rem), jnp.where(ok, sub, 0.5 * sub),
                nfail + (~ok).astype(jnp.int32), nfev + nf, nh + (~ok).astype(jnp.int32),
            )

        x1, E1, g1, rem, _, _, nfev, nh = lax.while_loop(
            sub_cond, sub_body, (c.x, c.E, c.g, dt, dt, 0, c.nfev, c.nhalve)
        )
        return x1, E1, g1, rem <= 0, nfev, nh

    def one_step(c: Carry, p: Params) -> Carry:
        dt = jnp.where(c.n == p.n_total - 1, p.t1 - (p.n_total - 1) * p.h, p.h)
        x1, E1, g1, ok, nfev, nh = take_step(c, p, dt)
        finite = jnp.isfinite(E1) & jnp.all(jnp.isfinite(x1)) & jnp.all(jnp.isfinite(g1))
        etol = p.energy_tol_rel * (jnp.abs(c.E) + p.energy_scale)
        rose = (E1 > c.E + etol) if check_energy else jnp.bool_(False)
        bad = jnp.where(
            ~finite, S.NONFINITE,
            jnp.where(~ok, S.SOLVER_FAILED, jnp.where(rose, S.ENERGY_INCREASE, S.RUNNING)),
        )
        good = bad == S.RUNNING
        n1 = c.n + 1
        st = jnp.where(
            ~good, bad,
            jnp.where(jnp.linalg.norm(g1) <= p.grad_tol, S.CONVERGED,
                      jnp.where(n1 >= p.n_total, S.DONE, S.RUNNING)),
        ).astype(jnp.int32)
        keep = lambda new, old: jnp.where(good, new, old)  # noqa: E731
        return Carry(
            keep(x1, c.x), keep(E1, c.E), keep(g1, c.g), jnp.where(good, n1, c.n), st, nfev, nh,
            jnp.where(good, _time_of(n1, p), _time_of(c.n, p)),
        )

    def advance_to(c: Carry, target, p: Params) -> Carry:
        return lax.while_loop(
            lambda c: (c.n < target) & (c.status == S.RUNNING), lambda c: one_step(c, p), c
        )

    def segment(c: Carry, targets, p: Params):
        def per_target(c, target):
            c = advance_to(c, target, p)
            saved = (c.x if save_state else None, c.E, jnp.linalg.norm(c.g))
            return c, saved

        return lax.scan(per_target, c, targets)

    return segment
