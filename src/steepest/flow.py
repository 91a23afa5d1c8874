"""`GradientFlow`: an energy and a metric make a flow, dx/dt = −G(x)⁻¹∇V(x).

Along the flow the energy decreases at the rate dV/dt = −∇Vᵀ G⁻¹ ∇V = −‖G⁻¹∇V‖²_G ≤ 0 (the
dissipation), with equality only at critical points. The linearisation J = −G⁻¹∇²V is
self-adjoint in the G inner product, so at a fixed point its eigenvalues are real: gradient flows
have nodes and saddles, never spirals or centres.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from ._core.errors import ScenarioError
from .energy.potential import Potential
from .metric.metrics import Euclidean, Metric


class GradientFlow:
    """The gradient flow of ``energy`` in ``metric`` (default Euclidean).

    Examples:
        >>> import steepest as st
        >>> flow = st.GradientFlow(st.potentials.get("saddle"))
        >>> flow.velocity(jnp.array([1.0, 1.0])).tolist()
        [2.0, -2.0]
    """

    def __init__(self, energy: Potential, metric: Metric | None = None):
        if not isinstance(energy, Potential):
            raise ScenarioError(
                f"GradientFlow: energy must be a steepest.Potential, got {type(energy).__name__}; "
                "wrap your function with st.Potential(fn, dim=...).",
                key="energy",
            )
        metric = Euclidean() if metric is None else metric
        if not isinstance(metric, Metric):
            raise ScenarioError(
                f"GradientFlow: metric must be st.Euclidean(), st.Preconditioned(M) or "
                f"st.Riemannian(G), got {metric!r}.",
                key="metric",
            )
        metric.check_dim(energy.dim)
        self.energy = energy
        self.metric = metric

    @property
    def dim(self) -> int:
        return self.energy.dim

    # -- the vector field (single points; vmap for batches) --------------------------------
    def velocity(self, x: jax.Array) -> jax.Array:
        """−G(x)⁻¹∇V(x)."""
        return -self.metric.solve(x, self.energy._grad(x))

    def energy_velocity(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(V(x), ∇V(x), −G⁻¹∇V(x)) from one value-and-gradient pass."""
        E, g = self.energy._value_and_grad(x)
        return E, g, -self.metric.solve(x, g)

    def dissipation(self, x: jax.Array) -> jax.Array:
        """dV/dt along the flow: −∇Vᵀ G⁻¹ ∇V (never positive)."""
        g = self.energy._grad(x)
        return -(g @ self.metric.solve(x, g))

    def jacobian(self, x: jax.Array) -> jax.Array:
        """The Jacobian of the vector field, ∂v/∂x (= −G⁻¹∇²V at a fixed point)."""
        return jax.jacfwd(self.velocity)(jnp.asarray(x, dtype=jnp.result_type(float)))

    # -- linear stability -------------------------------------------------------------------
    def curvature(self, x: Any) -> np.ndarray:
        """The eigenvalues of G(x)⁻¹∇²V(x), ascending (real: a symmetric-definite pencil).

        These are the rates of the linearised flow: a fixed step h of an explicit scheme is
        stable where h·λ lies in the scheme's stability interval for every eigenvalue λ.
        """
        x = jnp.asarray(x, dtype=jnp.result_type(float))
        H = np.asarray(self.energy.hessian(x), dtype=float)
        G = np.asarray(self.metric.matrix(x), dtype=float)
        H = 0.5 * (H + H.T)
        return scipy.linalg.eigh(H, 0.5 * (G + G.T), eigvals_only=True)

    def describe(self) -> dict[str, Any]:
        return {"energy": self.energy.describe(), "metric": self.metric.describe()}

    def expression(self) -> str:
        """The equation this flow solves, in words a reader can check."""
        m = self.metric
        lhs = "dx/dt"
        if isinstance(m, Euclidean):
            return f"{lhs} = −∇V(x)"
        if m.state_dependent:
            return f"{lhs} = −G(x)⁻¹∇V(x)"
        return f"{lhs} = −M⁻¹∇V(x)"

    def __repr__(self) -> str:
        return f"GradientFlow({self.energy!r}, {self.metric!r})"
