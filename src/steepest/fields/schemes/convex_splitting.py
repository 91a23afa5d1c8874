"""Eyre's convex splitting: the convex part implicit, the concave part explicit.

With f₀ = f_c + f_e (f_c convex, f_e concave) and the convex gradient term ½κ|∇c|²::

    (cⁿ⁺¹ − cⁿ)/h = −𝒜 [ f_c′(cⁿ⁺¹) − κΔcⁿ⁺¹ + f_e′(cⁿ) ],

which decreases F for every h > 0 (Eyre 1998): F(cⁿ⁺¹) ≤ F(cⁿ). First order. The implicit
equation is solved by a fixed-point iteration preconditioned with the linear operator
1 + h a(k)(S − κλ(k)), S = max f_c″(cⁿ), a contraction because 0 ≤ f_c″ ≤ S (optimistix's
FixedPointIteration to ``tol``). For the double well, s = c − (a + b)/2: f_c = h s⁴ + hδ⁴,
f_e = −2hδ²s²; a functional without a split uses f_c = L c²/2, L = max|f₀″|, for which one
iteration is exact (the linearly stabilised scheme).

References:
    D. J. Eyre, Unconditionally gradient stable time marching the Cahn–Hilliard equation,
    MRS Proc. 529 (1998) 39.
    S. M. Wise, C. Wang & J. S. Lowengrub, SIAM J. Numer. Anal. 47 (2009) 2269.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import optimistix as optx

from ..flows import FieldFlow
from .base import (
    FAIL_SOLVER,
    Stepper,
    constant_mobility,
    linear_parts,
    offset_term,
    stabilisation_default,
)

TOL = 1e-11
MAX_ITER = 500


def build(flow: FieldFlow, *, tol: float = TOL, max_iter: int = MAX_ITER, **options: Any):
    f, a1, lam = linear_parts(flow, "eyre")
    M = constant_mobility(flow, "eyre")
    grid = flow.grid
    kappa = f.kappa or 0.0
    off = offset_term(flow)
    a = M * jnp.asarray(a1)
    lam = jnp.asarray(lam)
    solver: optx.FixedPointIteration[Any, Any] = optx.FixedPointIteration(rtol=tol, atol=tol)

    if f.split is not None:
        fc, fe = f.split
        conv_d = lambda c, p: f.bulk_derivative(grid, c, fc)
        conc_d = lambda c, p: f.bulk_derivative(grid, c, fe)
        conv_dd = lambda c, p: jnp.max(f.bulk_curvature(grid, c, fc))
    else:
        conv_d = lambda c, p: p["L"] * c
        conc_d = lambda c, p: f.bulk_derivative(grid, c) - p["L"] * c
        conv_dd = lambda c, p: p["L"]

    def init(c0, p):
        c = jnp.asarray(c0)
        ch = grid.forward(c)
        F = f.energy(grid, c, ch)
        return {"c": c, "ch": ch, "F": F, "E": F, "fail": jnp.int32(0), "iters": jnp.int32(0)}

    def step(s, h, p):
        c_n, ch_n = s["c"], s["ch"]
        S = conv_dd(c_n, p)
        Ne = grid.forward(conc_d(c_n, p) - off)
        den = 1.0 + h * a * (S - kappa * lam)

        def picard(c, _):
            r = grid.forward(S * c - conv_d(c, p))
            return grid.inverse((ch_n + h * a * (r - Ne)) / den)

        sol = optx.fixed_point(picard, solver, c_n, max_steps=max_iter, throw=False)
        c = sol.value
        ch = grid.forward(c)
        F = f.energy(grid, c, ch)
        ok = sol.result == optx.RESULTS.successful
        return {
            "c": c,
            "ch": ch,
            "F": F,
            "E": F,
            "fail": jnp.where(ok, 0, FAIL_SOLVER).astype(jnp.int32),
            "iters": jnp.asarray(sol.stats["num_steps"], jnp.int32),
        }

    def defaults(c0):
        return {"L": stabilisation_default(flow, c0)}

    return Stepper(
        name="eyre",
        order=1,
        promise="energy",
        init=init,
        step=step,
        defaults=defaults,
        info="Eyre convex splitting (convex part implicit by preconditioned fixed point)",
    )
