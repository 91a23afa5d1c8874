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

from .._core import status as S
from ..flow import GradientFlow
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


def _vsum(v):
    """Σ v_i. Unrolled in low dimension: a reduction over the small state axis would split the
    fused per-step loop of a vmapped batch into several passes (measured: 6× slower on RK4)."""
    if v.shape[0] <= 8:
        out = v[0]
        for i in range(1, v.shape[0]):
            out = out + v[i]
        return out
    return jnp.sum(v)


def _norm(v):
    return jnp.sqrt(_vsum(v * v))


def _all_finite(*vs):
    # inf − inf = nan, so a sum is finite exactly when every term is (barring overflow ~1e308)
    return jnp.isfinite(sum(_vsum(v) if v.ndim else v for v in vs))


def _time_of(n, p: Params):
    return jnp.where(n >= p.n_total, p.t1, n * p.h)


def make_step(
    flow: GradientFlow,
    method: str,
    inner: InnerSolve,
    check_energy: bool,
    use_grad_tol: bool = True,
):
    """Build ``one_step(carry, params, n, dt) -> carry`` for ONE trajectory, guard included.

    Returns ``(one_step, fast)`` where ``fast`` is ``(bare_step, evals_per_step)`` for explicit
    schemes (used for unguarded chunks, see :func:`make_segment_batched`) and None otherwise.
    """
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
                jnp.where(ok, y, x),
                jnp.where(ok, Ey, E),
                jnp.where(ok, gy, g),
                jnp.where(ok, rem1, rem),
                jnp.where(ok, sub, 0.5 * sub),
                nfail + (~ok).astype(jnp.int32),
                nfev + nf,
                nh + (~ok).astype(jnp.int32),
            )

        x1, E1, g1, rem, _, _, nfev, nh = lax.while_loop(
            sub_cond, sub_body, (c.x, c.E, c.g, dt, dt, 0, c.nfev, c.nhalve)
        )
        return x1, E1, g1, rem <= 0, nfev, nh

    def one_step(c: Carry, p: Params, n, dt) -> Carry:
        """Advance one trajectory from step n (shared by the batch) unless it has stopped."""
        running = c.status == S.RUNNING
        x1, E1, g1, ok, nfev, nh = take_step(c, p, dt)
        finite = _all_finite(E1, x1, g1)
        etol = p.energy_tol_rel * (jnp.abs(c.E) + p.energy_scale)
        rose = (E1 > c.E + etol) if check_energy else jnp.bool_(False)
        bad = jnp.where(
            ~finite,
            S.NONFINITE,
            jnp.where(~ok, S.SOLVER_FAILED, jnp.where(rose, S.ENERGY_INCREASE, S.RUNNING)),
        )
        good = running & (bad == S.RUNNING)
        n1 = n + 1
        st = jnp.where(
            bad != S.RUNNING,
            bad,
            jnp.where(
                _norm(g1) <= p.grad_tol, S.CONVERGED, jnp.where(n1 >= p.n_total, S.DONE, S.RUNNING)
            ),
        )
        st = jnp.where(running, st, c.status).astype(jnp.int32)
        keep = lambda new, old: jnp.where(good, new, old)  # noqa: E731
        return Carry(
            keep(x1, c.x),
            keep(E1, c.E),
            keep(g1, c.g),
            jnp.where(good, n1, c.n),
            st,
            jnp.where(running, nfev, c.nfev),
            jnp.where(running, nh, c.nhalve),
            jnp.where(good, _time_of(n1, p), c.t_stop),
        )

    if implicit:
        return one_step, None

    evals = {"euler": 1, "rk4": 4}[method]

    def bare(x, E, g, dt, p: Params):
        """An explicit step with no bookkeeping that poisons E with NaN when it needs a look:
        the energy rose beyond round-off, |∇V| ≤ tol, or anything became non-finite (a NaN or
        ±inf in x or ∇V reaches E1). The NaN rides in E to the end of the chunk at no cost: a
        separate flag array in the loop carry measured 1.8× slower.
        """
        x1, E1, g1, _, _ = step(flow, x, E, g, dt, inner)
        look = jnp.isnan(E)  # flagged earlier in the chunk: stays flagged to its end
        if check_energy:
            look = look | (E1 > E + p.energy_tol_rel * (jnp.abs(E) + p.energy_scale))
        if use_grad_tol:
            look = look | (_vsum(g1 * g1) <= p.grad_tol * p.grad_tol)
        # a compare and a select: no transcendental per trajectory and step (0·sqrt and
        # 0·log did the same, ~10 % slower); a non-finite E1 stays non-finite by itself
        return x1, jnp.where(look, jnp.nan, E1), g1

    return one_step, (bare, evals)


#: explicit steps run in chunks of this many unguarded steps (see make_segment_batched)
CHUNK = 64


def make_segment_batched(step_fns, save_state: bool):
    """``segment((carry, n), targets, params) -> ((carry, n), saved)`` for a whole batch.

    The step index n is shared by the batch, so the loop's trip count is not batched: XLA fuses
    each step into one pass over the batch and the loop stops as soon as every trajectory has
    stopped (|∇V| < tol, failure) or the save target is reached.
    """
    one_step, fast = step_fns
    if fast is not None:
        bare, evals = fast
    vstep = jax.vmap(one_step, in_axes=(0, None, None, None))

    def segment(state, targets, p: Params):
        c0, nvec = state  # nvec: the shared step index, one copy per trajectory (for blocking)

        def dt_of(n):
            return jnp.where(n == p.n_total - 1, p.t1 - (p.n_total - 1) * p.h, p.h)

        def guarded(c, n, k):
            return lax.fori_loop(0, k, lambda j, c: vstep(c, p, n + j, dt_of(n + j)), c)

        def per_target(state, target):
            def cond(s):
                c, n = s
                return (n < target) & jnp.any(c.status == S.RUNNING)

            def body_guarded(s):
                c, n = s
                return guarded(c, n, 1), n + 1

            def body_chunked(s):
                # Explicit schemes: CHUNK steps with no per-step bookkeeping, flagging any
                # trajectory whose energy rose, went non-finite or reached grad_tol. Only if one
                # is flagged is the chunk replayed with the guarded step (exact stop, last good
                # state). Per-step selects would make XLA recompute the step once per output.
                c, n = s
                k = jnp.minimum(CHUNK, target - n)
                # inside the chunk the batch is the last (contiguous) axis: each coordinate is
                # one vector over the batch, so the fused step vectorises without strided loads
                vbare = jax.vmap(bare, in_axes=(1, 0, 1, None, None), out_axes=(1, 0, 1))
                running = c.status == S.RUNNING

                def bare_body(j, b):
                    return vbare(*b, dt_of(n + j), p)

                xT, E, gT = lax.fori_loop(0, k, bare_body, (c.x.T, c.E, c.g.T))
                x, g = xT.T, gT.T
                flag = ~jnp.isfinite(E)

                def commit(_):
                    n1 = n + k
                    keep = running
                    kv = keep[:, None]
                    st = jnp.where(keep & (n1 >= p.n_total), S.DONE, c.status).astype(jnp.int32)
                    return Carry(
                        jnp.where(kv, x, c.x),
                        jnp.where(keep, E, c.E),
                        jnp.where(kv, g, c.g),
                        jnp.where(keep, n1, c.n),
                        st,
                        c.nfev + jnp.where(keep, k * evals, 0).astype(c.nfev.dtype),
                        c.nhalve,
                        jnp.where(keep, _time_of(n1, p), c.t_stop),
                    )

                c1 = lax.cond(jnp.any(flag & running), lambda _: guarded(c, n, k), commit, None)
                return c1, n + k

            body = body_guarded if fast is None else body_chunked
            c, n = lax.while_loop(cond, body, state)
            saved = (c.x if save_state else None, c.E, jnp.linalg.norm(c.g, axis=-1))
            return (c, n), saved

        (c, n), saved = lax.scan(per_target, (c0, nvec[0]), targets)
        saved = jax.tree.map(lambda a: jnp.moveaxis(a, 0, 1), saved)  # (batch, time, ...)
        return (c, jnp.full_like(nvec, n)), saved

    return segment
