"""Metrics on Rⁿ: what "steepest" means.

The steepest-descent direction of V in a metric G is the metric gradient G⁻¹∇V: the direction
that lowers V fastest per unit length measured by ‖v‖²_G = vᵀGv. Every metric here computes it
by a linear solve (a Cholesky factorisation for SPD matrices), never by forming G⁻¹.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from .._core.errors import ScenarioError


class Metric(abc.ABC):
    """A Riemannian metric G(x) on Rⁿ (an SPD matrix at every point)."""

    #: whether G depends on x (affects which schemes apply and how they are read)
    state_dependent: bool = False

    @abc.abstractmethod
    def matrix(self, x: jax.Array) -> jax.Array:
        """G(x), shape ``(dim, dim)``."""

    @abc.abstractmethod
    def solve(self, x: jax.Array, g: jax.Array) -> jax.Array:
        """G(x)⁻¹ g by a linear solve."""

    def inner(self, x: jax.Array, u: jax.Array, v: jax.Array) -> jax.Array:
        """⟨u, v⟩_G = uᵀ G(x) v."""
        return u @ (self.matrix(x) @ v)

    def check_dim(self, dim: int) -> None:  # noqa: B027 - optional hook
        """Raise ScenarioError when the metric cannot act on Rᵈⁱᵐ."""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description."""


class Euclidean(Metric):
    """G = I: the plain gradient flow dx/dt = −∇V(x)."""

    def matrix(self, x):
        return jnp.eye(x.shape[-1], dtype=x.dtype)

    def solve(self, x, g):
        return g

    def inner(self, x, u, v):
        return u @ v

    def describe(self):
        return {"kind": "euclidean"}

    def __eq__(self, other):
        return isinstance(other, Euclidean)

    def __hash__(self):
        return hash("Euclidean")

    def __repr__(self):
        return "Euclidean()"


def _spd_factor(M: np.ndarray, key: str) -> np.ndarray:
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ScenarioError(f"{key}: expected a square matrix, got shape {M.shape}.", key=key)
    if not np.all(np.isfinite(M)):
        raise ScenarioError(f"{key}: the matrix has non-finite entries.", key=key)
    if not np.allclose(M, M.T, rtol=1e-12, atol=1e-14 * max(1.0, np.abs(M).max())):
        raise ScenarioError(f"{key}: a metric must be symmetric; pass (M + Mᵀ)/2.", key=key)
    try:
        return np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        lam = float(np.linalg.eigvalsh(M).min())
        raise ScenarioError(
            f"{key}: a metric must be positive definite, but its smallest eigenvalue is "
            f"{lam:.3g}; add a multiple of the identity or fix the matrix.",
            key=key,
        ) from None


class Preconditioned(Metric):
    """A constant SPD metric M: dx/dt = −M⁻¹∇V(x) (preconditioned gradient descent).

    With M = ∇²V at the minimum of a quadratic, one unit step of explicit Euler is Newton's
    method and lands on the minimum.
    """

    def __init__(self, M: Any, *, key: str = "metric.matrix"):
        M_np = np.asarray(M, dtype=float)
        L = _spd_factor(M_np, key)
        self._M_np = M_np
        self.M = jnp.asarray(M_np)
        self._L = jnp.asarray(L)
        self._hash = hash(M_np.tobytes())

    def matrix(self, x):
        return self.M

    def solve(self, x, g):
        return jsl.cho_solve((self._L, True), g)

    def check_dim(self, dim):
        if self._M_np.shape[0] != dim:
            raise ScenarioError(
                f"metric.matrix: the metric is {self._M_np.shape[0]}×{self._M_np.shape[0]} but the "
                f"energy lives in dimension {dim}.",
                key="metric.matrix",
            )

    def describe(self):
        return {"kind": "preconditioned", "matrix": self._M_np.tolist()}

    def __eq__(self, other):
        return isinstance(other, Preconditioned) and np.array_equal(self._M_np, other._M_np)

    def __hash__(self):
        return self._hash

    def __repr__(self):
        return f"Preconditioned(M={self._M_np.tolist()})"


class Riemannian(Metric):
    """A state-dependent SPD metric G(x): dx/dt = −G(x)⁻¹∇V(x) (natural-gradient type flows).

    Args:
        G: a JAX function x ↦ SPD matrix of shape ``(dim, dim)``, or, with ``diagonal=True``,
            x ↦ the positive diagonal of shape ``(dim,)``.
        diagonal: whether ``G`` returns only the diagonal.
        name: shown in descriptions.
    """

    state_dependent = True

    def __init__(
        self,
        G: Callable[[jax.Array], jax.Array],
        *,
        diagonal: bool = False,
        name: str | None = None,
        formula: Any = None,
    ):
        if not callable(G):
            raise ScenarioError(f"Riemannian: G must be a function of x, got {G!r}.", key="metric")
        self.G = G
        self.diagonal = bool(diagonal)
        self.name = name or getattr(G, "__name__", "G")
        self.formula = formula

    def matrix(self, x):
        g = jnp.asarray(self.G(x), dtype=x.dtype)
        return jnp.diag(g) if self.diagonal else g

    def solve(self, x, g):
        if self.diagonal:
            return g / jnp.asarray(self.G(x), dtype=x.dtype)
        return jsl.cho_solve(jsl.cho_factor(self.matrix(x), lower=True), g)

    def check_dim(self, dim):
        spec = jax.ShapeDtypeStruct((dim,), jnp.result_type(float))
        try:
            out = jax.eval_shape(self.G, spec)
        except Exception as err:
            raise ScenarioError(
                f"metric: calling G on a point of dimension {dim} failed with "
                f"{type(err).__name__}: {err}.",
                key="metric",
            ) from err
        want = (dim,) if self.diagonal else (dim, dim)
        if out.shape != want:
            raise ScenarioError(
                f"metric: G(x) must have shape {want} for a {dim}-dimensional state, got "
                f"{out.shape}.",
                key="metric",
            )

    def describe(self):
        return {
            "kind": "riemannian",
            "name": self.name,
            "diagonal": self.diagonal,
            "formula": self.formula,
        }

    def __repr__(self):
        return f"Riemannian({self.name})"
