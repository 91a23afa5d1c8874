"""One step of each hand-written scheme, for a single state (vmap makes batches).

Every stepper has the signature ``step(flow, x, E, g, h, opts) -> (x′, E′, g′, ok, nfev)`` where
``E, g`` are V(x) and ∇V(x) (already known from the previous step, so the dissipation guard costs
nothing) and ``ok`` says whether an inner solve converged.

References:
    Gonzalez, J. Nonlinear Sci. 6, 449 (1996) — the midpoint discrete gradient.
    McLachlan, Quispel & Robidoux, Phil. Trans. R. Soc. A 357, 1021 (1999) — discrete gradients.
    Rockafellar, SIAM J. Control Optim. 14, 877 (1976) — the proximal point algorithm.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from ..flow import GradientFlow


class InnerSolve(NamedTuple):
    """Settings of the Newton solves inside implicit steps."""

    max_iter: int = 40
    tol: float = 1e-11  # relative residual at which an inner solve counts as converged


def euler(flow: GradientFlow, x, E, g, h, opts: InnerSolve):
    x1 = x - h * flow.metric.solve(x, g)
    E1, g1 = flow.energy._value_and_grad(x1)
    return x1, E1, g1, jnp.bool_(True), 1


def rk4(flow: GradientFlow, x, E, g, h, opts: InnerSolve):
    k1 = -flow.metric.solve(x, g)
    k2 = flow.velocity(x + 0.5 * h * k1)
    k3 = flow.velocity(x + 0.5 * h * k2)
    k4 = flow.velocity(x + h * k3)
    x1 = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    E1, g1 = flow.energy._value_and_grad(x1)
    return x1, E1, g1, jnp.bool_(True), 4


def _eps(x):
    return jnp.finfo(x.dtype).eps


def _descent_direction(H, r):
    """−|H|⁻¹ r, with |H| the absolute-eigenvalue modification of the symmetric matrix H.

    A descent direction for any symmetric H (saddle-free Newton); equal to the Newton step when
    H is positive definite.
    """
    lam, Q = jnp.linalg.eigh(0.5 * (H + H.T))
    floor = 1e-12 * jnp.maximum(jnp.max(jnp.abs(lam)), 1e-300)
    lam = jnp.maximum(jnp.abs(lam), floor)
    return -(Q @ ((Q.T @ r) / lam))


def implicit_euler(flow: GradientFlow, x, E, g, h, opts: InnerSolve):
    """The proximal point step: y = argmin Φ(y), Φ(y) = V(y) + (y − x)ᵀG(x)(y − x)/(2h).

    Solved by a damped Newton method with an Armijo line search on Φ, so Φ never increases:
    V(y) ≤ Φ(y) ≤ Φ(x) = V(x) — energy decrease holds at every step for any h, even if the
    inner solve stops early. For a state-dependent metric, G is frozen at x (first order anyway).
    """
    V = flow.energy
    Gx = flow.metric.matrix(x)

    def phi(y):
        d = y - x
        return V._scalar(y) + 0.5 * (d @ (Gx @ d)) / h

    phi_vg = jax.value_and_grad(phi)
    scale = jnp.linalg.norm(g) + 1e-300

    def cond(c):
        y, f, r, k, done, last = c
        return (k < opts.max_iter) & ~done

    def body(c):
        y, f, r, k, _, _ = c
        Hphi = V._hessian(y) + Gx / h
        d = _descent_direction(Hphi, r)
        slope = r @ d

        def ls_cond(s):
            a, fa, ya, j = s
            return (j < 40) & ~(fa <= f + 1e-4 * a * slope)

        def ls_body(s):
            a, _, _, j = s
            a = 0.5 * a
            ya = y + a * d
            return a, phi(ya), ya, j + 1

        a0 = jnp.asarray(1.0, y.dtype)
        y0 = y + d
        a, fa, ya, _ = lax.while_loop(ls_cond, ls_body, (a0, phi(y0), y0, 0))
        accept = fa <= f
        y_new = jnp.where(accept, ya, y)
        f_new, r_new = phi_vg(y_new)
        # |d| is the Newton estimate of the remaining error: at round-off level we are done
        last = jnp.linalg.norm(d)
        small_step = last <= 16 * _eps(y) * (1.0 + jnp.linalg.norm(y))
        done = (jnp.linalg.norm(r_new) <= opts.tol * scale) | small_step | ~accept
        return y_new, f_new, r_new, k + 1, done, last

    f0, r0 = phi_vg(x)
    inf = jnp.asarray(jnp.inf, x.dtype)
    y, f, r, k, _, last = lax.while_loop(cond, body, (x, f0, r0, 0, jnp.linalg.norm(r0) == 0, inf))
    E1, g1 = V._value_and_grad(y)
    ok = (jnp.linalg.norm(r) <= 1e3 * opts.tol * scale) | (
        last <= 1e-10 * (1.0 + jnp.linalg.norm(y))
    )
    return y, E1, g1, ok | (scale <= 1e-299), k + 1


def discrete_gradient(flow: GradientFlow, x, E, g, h, opts: InnerSolve):
    """Gonzalez' midpoint discrete gradient: y − x = −h Ḡ⁻¹ ∇̄V(x, y), Ḡ = G((x + y)/2).

    ∇̄V(x, y) = ∇V(m) + [V(y) − V(x) − ∇V(m)·Δ] Δ/|Δ|², m = (x + y)/2, Δ = y − x, satisfies
    ∇̄V·Δ = V(y) − V(x) exactly, hence V(y) − V(x) = −h ∇̄Vᵀ Ḡ⁻¹ ∇̄V ≤ 0 for every h > 0.
    Second order; the nonlinear equation is solved by Newton with a residual line search.
    """
    V = flow.energy
    xn = jnp.linalg.norm(x)

    def dgrad(y):
        m = 0.5 * (x + y)
        d = y - x
        gm = V._grad(m)
        dd = d @ d
        # Below |Δ| ~ 1e-6(1 + |x|) the correction is O(|Δ|²) and lost in round-off: drop it.
        use = dd > (1e-6 * (1.0 + xn)) ** 2
        dd_safe = jnp.where(use, dd, 1.0)
        corr = jnp.where(use, (V._scalar(y) - E - gm @ d) / dd_safe, 0.0)
        return gm + corr * d, m

    def residual(y):
        gb, m = dgrad(y)
        return y - x + h * flow.metric.solve(m, gb)

    jac = jax.jacfwd(residual)
    scale = h * jnp.linalg.norm(flow.metric.solve(x, g)) + 1e-300
    tol = opts.tol * scale + 16 * _eps(x) * (1.0 + xn)

    def cond(c):
        y, F, nF, k = c
        return (k < opts.max_iter) & (nF > tol)

    def body(c):
        y, F, nF, k = c
        J = jac(y)
        d = jnp.linalg.solve(J, -F)
        d = jnp.where(jnp.all(jnp.isfinite(d)), d, -F)

        def ls_cond(s):
            a, Fa, nFa, j = s
            return (j < 30) & ~(nFa <= (1.0 - 1e-4 * a) * nF)

        def ls_body(s):
            a, _, _, j = s
            a = 0.5 * a
            Fa = residual(y + a * d)
            return a, Fa, jnp.linalg.norm(Fa), j + 1

        F1 = residual(y + d)
        a, Fa, nFa, _ = lax.while_loop(
            ls_cond, ls_body, (jnp.asarray(1.0, y.dtype), F1, jnp.linalg.norm(F1), 0)
        )
        better = jnp.isfinite(nFa) & (nFa < nF)
        return (
            jnp.where(better, y + a * d, y),
            jnp.where(better, Fa, F),
            jnp.where(better, nFa, nF),
            jnp.where(better, k + 1, opts.max_iter),
        )

    y0 = x - h * flow.metric.solve(x, g)  # explicit predictor
    F0 = residual(y0)
    nF0 = jnp.linalg.norm(F0)
    y0, F0, nF0 = lax.cond(
        jnp.isfinite(nF0),
        lambda: (y0, F0, nF0),
        lambda: (x, residual(x), jnp.linalg.norm(residual(x))),
    )
    y, F, nF, k = lax.while_loop(cond, body, (y0, F0, nF0, 0))
    E1, g1 = V._value_and_grad(y)
    return y, E1, g1, nF <= 1e3 * tol, 2 * (k + 1)


STEPPERS = {
    "euler": euler,
    "rk4": rk4,
    "implicit-euler": implicit_euler,
    "discrete-gradient": discrete_gradient,
}
