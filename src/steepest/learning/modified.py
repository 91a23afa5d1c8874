"""The modified equation of gradient descent: implicit gradient regularisation.

Backward error analysis: gradient descent with step h follows the flow of L to first order only
(|θ_k − θ(kh)| = O(h) on a fixed time interval), but it follows the flow of the modified loss

    L̃_h(θ) = L(θ) + (h/4)|∇L(θ)|²

to second order (O(h²)): the step implicitly penalises steep gradients. Its gradient is
∇L̃ = ∇L + (h/2)∇²L∇L, one Hessian-vector product more than ∇L.

References:
    Barrett & Dherin, *Implicit gradient regularization*, ICLR 2021. Hairer, Lubich & Wanner,
    *Geometric Numerical Integration* (2nd ed.), §IX.1 — modified equations.
"""

from __future__ import annotations

import weakref
from typing import Any

import jax.numpy as jnp

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from .checks import check_step

_MODIFIED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def modified_loss(loss: Potential, h: float) -> Potential:
    """L̃_h = L + (h/4)|∇L|², the loss whose gradient flow gradient descent with step h
    follows to O(h²) (Barrett & Dherin 2021). The same (loss, h) gives the same object, so its
    compiled solves are reused.

    Examples:
        >>> import steepest as st
        >>> V = st.potentials.get("quadratic", A=[[2.0, 0.0], [0.0, 4.0]])
        >>> Vh = st.learning.modified_loss(V, 0.1)    # ½xᵀAx + (h/4)|Ax|²
        >>> float(Vh(jnp.array([1.0, 1.0])))
        3.5
    """
    if not isinstance(loss, Potential):
        raise ScenarioError(
            f"modified_loss: expected a steepest Potential or TrainingLoss, got "
            f"{type(loss).__name__}.",
            key="loss",
        )
    h = check_step(h)
    per: dict[float, Potential] = _MODIFIED.setdefault(loss, {})
    if h not in per:
        grad = loss._grad

        def V(theta: Any):
            g = grad(theta)
            return loss._scalar(theta) + 0.25 * h * (g @ g)

        theta0 = getattr(loss, "theta0", None)
        per[h] = Potential(
            V,
            dim=loss.dim,
            bounds=loss.bounds,
            name=f"{loss.name}, modified for h = {h:g}",
            formula=f"L̃ = L + (h/4)|∇L|², h = {h:g}",
            params={"base": loss.name, "h": h},
        )
        if theta0 is not None:
            per[h].theta0 = jnp.asarray(theta0)  # type: ignore[attr-defined]
    return per[h]
