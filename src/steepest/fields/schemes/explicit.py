"""Explicit (forward) Euler, c ← c + h·v(c): first order, for comparison and for any flow.

Stable only for h below 2/λ_max of the linearised flow (for Cahn–Hilliard λ_max ≈ Mκk⁴_max, so
h ∝ dx⁴); the loop checks the energy at every step and a blow-up stops with the bound in the
message. For a Wasserstein flow every step is capped at the positivity bound
h ≤ cfl / max(outflow rate), which keeps ρ ≥ 0 (Carrillo, Chertock & Huang 2015).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from ..flows import FieldFlow, WassersteinFlow
from .base import Stepper

#: the fraction of the positivity bound a Wasserstein step takes
CFL = 0.9


def build(flow: FieldFlow, **options: Any) -> Stepper:
    def init(c0, p):
        c = jnp.asarray(c0)
        F = flow.energy(c)
        return {"c": c, "F": F, "E": F, "fail": jnp.int32(0)}

    def step(s, h, p):
        c = s["c"] + h * flow.velocity(s["c"])
        F = flow.energy(c)
        return {"c": c, "F": F, "E": F, "fail": jnp.int32(0)}

    max_step: Callable[[dict[str, Any], dict[str, Any]], Any] | None = None
    defaults: Callable[[Any], dict[str, Any]] = lambda c0: {}
    if isinstance(flow, WassersteinFlow):

        def max_step(s, p):
            return p["cfl"] / flow.outflow_rate(s["c"])

        defaults = lambda c0: {"cfl": CFL}

    return Stepper(
        name="explicit",
        order=1,
        promise="energy",
        init=init,
        step=step,
        max_step=max_step,
        defaults=defaults,
        info="explicit Euler c ← c + h v(c)",
    )
