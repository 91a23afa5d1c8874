"""The scalar auxiliary variable (SAV) scheme of Shen, Xu & Yang: linear, unconditionally stable.

Split F = ½⟨c, ℒc⟩ + E₁(c) with ℒ = S − κΔ (symbol ℓ = S − κλ ≥ 0) and introduce
r = √(E₁ + C₀). First-order SAV::

    (cⁿ⁺¹ − cⁿ)/h = −𝒜 μⁿ⁺¹,   μⁿ⁺¹ = ℒcⁿ⁺¹ + rⁿ⁺¹ bⁿ,   bⁿ = U′(cⁿ)/√(E₁(cⁿ) + C₀),
    rⁿ⁺¹ − rⁿ = ½⟨bⁿ, cⁿ⁺¹ − cⁿ⟩,

U′ = δE₁/δc = f₀′ − Sc. Eliminating cⁿ⁺¹ = ĉ₁ − h rⁿ⁺¹ ĉ₂ (ĉ₁ = ĉⁿ/P, ĉ₂ = a b̂/P,
P = 1 + h a ℓ) leaves one scalar equation for rⁿ⁺¹. Two transforms per step, no iteration.
It decreases the modified energy Ẽ = ½⟨c, ℒc⟩ + r² − C₀ for every h (that is what the loop
checks); the true F follows it to O(h). C₀ keeps E₁ + C₀ > 0: by default it bounds E₁ below on
the range the field can reach.

Reference: J. Shen, J. Xu & J. Yang, J. Comput. Phys. 353 (2018) 407; SIAM Review 61 (2019) 474.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from ..flows import FieldFlow
from .base import Stepper, constant_mobility, linear_parts, offset_term, stabilisation_default


def build(flow: FieldFlow, **options: Any) -> Stepper:
    f, a1, lam = linear_parts(flow, "sav")
    M = constant_mobility(flow, "sav")
    grid = flow.grid
    kappa = f.kappa or 0.0
    off = offset_term(flow)
    a = M * jnp.asarray(a1)
    lam = jnp.asarray(lam)

    def quad(ch, S):
        return 0.5 * grid.inner_hat(ch, (S - kappa * lam) * ch)

    def e1(c, ch, S):
        return f.energy(grid, c, ch) - quad(ch, S)

    def init(c0, p):
        c = jnp.asarray(c0)
        ch = grid.forward(c)
        F = f.energy(grid, c, ch)
        r = jnp.sqrt(e1(c, ch, p["S"]) + p["C0"])
        return {"c": c, "ch": ch, "r": r, "F": F, "E": F, "fail": jnp.int32(0)}

    def step(s, h, p):
        S, C0 = p["S"], p["C0"]
        c_n, ch_n = s["c"], s["ch"]
        root = jnp.sqrt(e1(c_n, ch_n, S) + C0)
        bh = grid.forward(f.bulk_derivative(grid, c_n) - off - S * c_n) / root
        P = 1.0 + h * a * (S - kappa * lam)
        c1 = ch_n / P
        c2 = a * bh / P
        r = (s["r"] + 0.5 * grid.inner_hat(bh, c1 - ch_n)) / (
            1.0 + 0.5 * h * grid.inner_hat(bh, c2)
        )
        ch = c1 - h * r * c2
        c = grid.inverse(ch)
        F = f.energy(grid, c, ch)
        E = quad(ch, S) + r * r - C0
        return {"c": c, "ch": ch, "r": r, "F": F, "E": E, "fail": jnp.int32(0)}

    def defaults(c0):
        S = stabilisation_default(flow, c0)
        # C₀ bounds E₁ = F − ½⟨c, ℒc⟩ ≥ Σf₀ − (S/2)‖c‖² from below on the range c can reach
        reach = float(np.max(np.abs(c0)))
        for v in f.params.get("minima", ()):
            reach = max(reach, abs(v))
        c0j = jnp.asarray(c0)
        e = float(e1(c0j, grid.forward(c0j), S))
        C0 = abs(e) + 0.5 * S * grid.volume * (1.5 * reach) ** 2 + 1.0
        return {"S": S, "C0": C0}

    return Stepper(
        name="sav",
        order=1,
        promise="modified-energy",
        init=init,
        step=step,
        defaults=defaults,
        info="scalar auxiliary variable (Shen–Xu–Yang), first order",
    )
