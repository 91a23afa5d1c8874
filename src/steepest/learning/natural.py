"""Preconditioned and natural gradient: gradient descent in another metric.

Preconditioned gradient descent θ ← θ − hM⁻¹∇L is explicit Euler on the flow of L in the
constant metric M (``st.Preconditioned(M)``); its stability limit is 2/λ_max(M⁻¹∇²L), and with
M = ∇²L on a quadratic one step of h = 1 is Newton's method. Natural gradient descent
θ ← θ − hF(θ)⁻¹∇L (Amari 1998) is explicit Euler on the flow of L in the Fisher metric
(``st.Riemannian``), F(θ) = E[∇log p ∇log pᵀ] the Fisher information of the model's predictive
distribution, which for the losses here is the generalised Gauss–Newton matrix
(1/n) Σᵢ JᵢᵀHᵢJᵢ (Martens 2020, §9). Because F transforms as F̃ = AᵀFA under θ = Aφ + b, the
natural-gradient flow is the same curve in either parametrisation; the Euclidean flow is not
(dθ/dt = −AAᵀ∇L). A damping ε adds εI to F where the Fisher matrix is singular (e.g. softmax
outputs, invariant under a common shift of the logits).

References:
    Amari, *Natural gradient works efficiently in learning*, Neural Comput. 10, 251 (1998).
    Martens, *New insights and perspectives on the natural gradient method*, JMLR 21(146),
    1–76 (2020). Pascanu & Bengio, *Revisiting natural gradient for deep networks*, ICLR 2014.
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from .._core.errors import ScenarioError
from ..metric.metrics import Preconditioned, Riemannian
from .losses import TrainingLoss


def _check_damping(damping: Any) -> float:
    try:
        d = float(damping)
    except (TypeError, ValueError):
        d = math.nan
    if isinstance(damping, bool) or not math.isfinite(d) or d < 0:
        raise ScenarioError(
            f"damping: expected a finite number ≥ 0 (added to the Fisher matrix as εI), got "
            f"{damping!r}.",
            key="damping",
        )
    return d


def fisher_metric(loss: TrainingLoss, damping: float = 0.0) -> Riemannian:
    """The Fisher metric G(θ) = F(θ) + εI of a training loss (dense, P ≤ 4096 parameters):
    ``st.GradientFlow(loss, fisher_metric(loss))`` is the natural-gradient flow, and
    ``st.learning.gradient_descent(loss, h, steps, metric=fisher_metric(loss))`` natural
    gradient descent.

    Examples:
        >>> import steepest as st
        >>> L = st.learning.logistic_regression(st.learning.load("iris", classes=[1, 2]))
        >>> G = st.learning.fisher_metric(L)
        >>> G.matrix(L.theta0).shape
        (5, 5)
    """
    if not isinstance(loss, TrainingLoss):
        raise ScenarioError(
            f"fisher_metric: expected a TrainingLoss (a model on data), got "
            f"{type(loss).__name__}; a plain potential has no Fisher information.",
            key="metric",
        )
    eps = _check_damping(damping)
    # fails now, with the loss's own sentence, if the Fisher matrix is unavailable
    loss.fisher(jnp.asarray(loss.theta0))
    eye = jnp.eye(loss.dim)

    def G(theta):
        F = loss.fisher(theta)
        return F + eps * eye if eps else F

    return Riemannian(G, name="Fisher", formula="F(θ) + εI" if eps else "F(θ)")


def preconditioner(M: Any, dim: int | None = None) -> Preconditioned:
    """A constant SPD preconditioner M (a matrix, or the positive diagonal of one)."""
    M_np = np.asarray(M, dtype=float)
    if M_np.ndim == 1:
        if not np.all(np.isfinite(M_np)) or np.any(M_np <= 0):
            raise ScenarioError(
                "metric.diagonal: a diagonal preconditioner needs finite entries > 0.",
                key="metric.diagonal",
            )
        M_np = np.diag(M_np)
    out = Preconditioned(M_np)
    if dim is not None:
        out.check_dim(dim)
    return out
