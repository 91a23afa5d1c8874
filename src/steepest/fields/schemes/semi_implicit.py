"""The stabilised semi-implicit scheme: the stiff linear part implicit, the rest explicit.

For ∂ĉ/∂t = −a(k)[f₀′(c) − κλ(k)ĉ]^ (a = M for L², a = M|λ| for H⁻¹, λ the symbol of the grid's
Laplacian in its own transform: FFT, DCT or DST), with stabilisation S ≥ 0::

    ĉⁿ⁺¹ = [ (1 + h a S) ĉⁿ − h a f₀′(cⁿ)^ ] / [ 1 + h a (S − κλ) ].

Two transforms per step. Energy stable for S ≥ L/2, L = max|f₀″| (Allen–Cahn: Shen & Yang 2010;
Cahn–Hilliard: Li, Qiao & Tang 2016 need larger S in theory, S = L in practice). First order.

With a mobility M(c) the explicit velocity v = ∇·(M(c)∇μ) (or −M(c)μ) is preconditioned by the
constant-coefficient operator of M₀ = max M(c₀) (Zhu, Chen, Shen & Tikare 1999)::

    ĉⁿ⁺¹ = ĉⁿ + h v̂(cⁿ) / [1 + h a₀ (S − κλ)].

References:
    L. Q. Chen & J. Shen, Comput. Phys. Commun. 108 (1998) 147.
    J. Zhu, L. Q. Chen, J. Shen & V. Tikare, Phys. Rev. E 60 (1999) 3564.
    J. Shen & X. Yang, Discrete Contin. Dyn. Syst. 28 (2010) 1669.
    D. Li, Z. Qiao & T. Tang, SIAM J. Numer. Anal. 54 (2016) 1653.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from ..flows import FieldFlow
from .base import Stepper, linear_parts, offset_term, stabilisation_default


def build(flow: FieldFlow, **options: Any) -> Stepper:
    f, a1_np, lam_np = linear_parts(flow, "semi-implicit")
    grid = flow.grid
    kappa = f.kappa or 0.0
    off = offset_term(flow)
    a1 = jnp.asarray(a1_np)
    lam = jnp.asarray(lam_np)

    def init(c0, p):
        c = jnp.asarray(c0)
        ch = grid.forward(c)
        F = f.energy(grid, c, ch)
        return {"c": c, "ch": ch, "F": F, "E": F, "fail": jnp.int32(0)}

    m_const = flow.mobility_const  # None exactly when the mobility is a function M(c)
    if m_const is not None:
        M = float(m_const)

        def step(s, h, p):
            a = M * a1
            S = p["S"]
            Nh = grid.forward(f.bulk_derivative(grid, s["c"]) - off)
            ch = (s["ch"] * (1.0 + h * a * S) - h * a * Nh) / (1.0 + h * a * (S - kappa * lam))
            c = grid.inverse(ch)
            F = f.energy(grid, c, ch)
            return {"c": c, "ch": ch, "F": F, "E": F, "fail": jnp.int32(0)}

        defaults = lambda c0: {"S": stabilisation_default(flow, c0)}
    else:

        def step(s, h, p):
            a0 = p["M0"] * a1
            vh = grid.forward(flow.velocity(s["c"]))
            ch = s["ch"] + h * vh / (1.0 + h * a0 * (p["S"] - kappa * lam))
            c = grid.inverse(ch)
            F = f.energy(grid, c, ch)
            return {"c": c, "ch": ch, "F": F, "E": F, "fail": jnp.int32(0)}

        def defaults(c0):
            m0 = float(np.max(np.asarray(flow.mobility_field(jnp.asarray(c0)))))
            return {"S": stabilisation_default(flow, c0), "M0": m0}

    return Stepper(
        name="semi-implicit",
        order=1,
        promise="energy",
        init=init,
        step=step,
        defaults=defaults,
        info="stabilised semi-implicit: −κΔ and S implicit in the grid's transform",
    )
