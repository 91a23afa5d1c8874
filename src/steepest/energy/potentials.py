"""The registry of built-in potentials on Rⁿ: ``st.potentials.get(name, **params)``.

Each entry is a factory that takes keyword parameters and returns a :class:`Potential`. The same
name with the same parameters returns the same object, so compiled solvers are reused.

References:
    Müller & Brown, Theor. Chim. Acta 53, 75 (1979) — the Müller–Brown surface.
    Himmelblau, Applied Nonlinear Programming (1972) — four minima, nine critical points.
    Rosenbrock, Comput. J. 3, 175 (1960) — the banana valley (a narrow curved canyon).
    Dixon & Szegő, Towards Global Optimisation 2 (1978) — the six-hump camel.
    Rastrigin (1974); Mühlenbein et al. (1991) — many regularly spaced local minima.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

from .._core.errors import ScenarioError
from .potential import Potential


@dataclass(frozen=True)
class _Entry:
    factory: Callable[..., Potential]
    summary: str
    defaults: dict[str, Any]


_REGISTRY: dict[str, _Entry] = {}
_INSTANCES: dict[tuple, Potential] = {}


def register(name: str, summary: str, **defaults: Any) -> Callable:
    """Decorator: register ``factory(**params) -> Potential`` under ``name``."""

    def deco(factory: Callable[..., Potential]) -> Callable[..., Potential]:
        _REGISTRY[name] = _Entry(factory, summary, defaults)
        return factory

    return deco


def names() -> list[str]:
    """The names of all registered potentials, sorted."""
    return sorted(_REGISTRY)


def summary(name: str) -> str:
    return _entry(name).summary


def defaults(name: str) -> dict[str, Any]:
    return dict(_entry(name).defaults)


def _entry(name: str) -> _Entry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ScenarioError(
            f"energy.name: unknown potential {name!r}; choose one of {', '.join(names())}, "
            "or give energy.expression instead.",
            key="energy.name",
        ) from None


def _freeze(v: Any) -> Any:
    """A hashable copy of a parameter value (nested lists/arrays become tuples)."""
    if isinstance(v, (list, tuple, np.ndarray)):
        a = np.asarray(v, dtype=float)
        return tuple(_freeze(u) for u in a.tolist()) if a.ndim else float(a)
    return v


def get(name: str, **params: Any) -> Potential:
    """The built-in potential ``name`` with optional parameters (see :func:`names`)."""
    entry = _entry(name)
    unknown = set(params) - set(entry.defaults)
    if unknown:
        bad = sorted(unknown)[0]
        allowed = ", ".join(entry.defaults) or "none"
        raise ScenarioError(
            f"energy.params.{bad}: {name!r} has no parameter {bad!r}; its parameters are: "
            f"{allowed}.",
            key=f"energy.params.{bad}",
        )
    full = {**entry.defaults, **params}
    key = (name, tuple(sorted((k, _freeze(v)) for k, v in full.items())))
    if key not in _INSTANCES:
        _INSTANCES[key] = entry.factory(**full)
    return _INSTANCES[key]


def _positive_int(name: str, key: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ScenarioError(f"{key}: {name} must be a positive integer, got {v!r}.", key=key)
    return int(v)


# --------------------------------------------------------------------------------------------
@register("quadratic", "½ xᵀA x with a symmetric matrix A (default the 2×2 identity)", A=None)
def quadratic(A: Any = None) -> Potential:
    A_np = np.eye(2) if A is None else np.asarray(A, dtype=float)
    if A_np.ndim != 2 or A_np.shape[0] != A_np.shape[1] or not np.all(np.isfinite(A_np)):
        raise ScenarioError(
            f"energy.params.A: expected a finite square matrix, got shape {A_np.shape}.",
            key="energy.params.A",
        )
    if not np.allclose(A_np, A_np.T, rtol=1e-12, atol=1e-14 * np.abs(A_np).max()):
        raise ScenarioError(
            "energy.params.A: the matrix must be symmetric (V = ½xᵀAx only sees its symmetric "
            "part); pass (A + Aᵀ)/2.",
            key="energy.params.A",
        )
    Aj = jnp.asarray(A_np)
    n = A_np.shape[0]
    span = 2.0 * np.ones(n)
    return Potential(
        lambda x: 0.5 * x @ (Aj @ x),
        dim=n,
        bounds=[(-s, s) for s in span],
        name="quadratic",
        formula="V(x) = ½ xᵀA x",
        params={"A": A_np},
    )


@register("double-well", "(x² − a²)² + k Σ_{i≥2} x_i²: two minima at (±a, 0)", a=1.0, k=1.0, dim=2)
def double_well(a: float = 1.0, k: float = 1.0, dim: int = 2) -> Potential:
    n = _positive_int("dim", "energy.params.dim", dim)

    def V(x):
        return (x[0] ** 2 - a**2) ** 2 + k * jnp.sum(x[1:] ** 2)

    b = [(-2.0 * abs(a) if a else -2.0, 2.0 * abs(a) if a else 2.0)] + [(-1.5, 1.5)] * (n - 1)
    return Potential(
        V,
        dim=n,
        bounds=b,
        name="double-well",
        formula="V = (x² − a²)² + k y²",
        params={"a": a, "k": k, "dim": n},
    )


@register("saddle", "y² − x²: one saddle at the origin, unbounded below along x")
def saddle() -> Potential:
    return Potential(
        lambda x: x[1] ** 2 - x[0] ** 2,
        dim=2,
        bounds=[(-1.5, 1.5), (-1.5, 1.5)],
        name="saddle",
        formula="V = y² − x²",
    )


@register("monkey-saddle", "x³ − 3xy²: a degenerate critical point (zero Hessian) at the origin")
def monkey_saddle() -> Potential:
    return Potential(
        lambda x: x[0] ** 3 - 3 * x[0] * x[1] ** 2,
        dim=2,
        bounds=[(-1.5, 1.5), (-1.5, 1.5)],
        name="monkey-saddle",
        formula="V = x³ − 3xy²",
    )


@register("himmelblau", "(x² + y − 11)² + (x + y² − 7)²: four minima, four saddles, one maximum")
def himmelblau() -> Potential:
    return Potential(
        lambda x: (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2,
        dim=2,
        bounds=[(-5.0, 5.0), (-5.0, 5.0)],
        name="himmelblau",
        formula="V = (x² + y − 11)² + (x + y² − 7)²",
    )


@register(
    "rosenbrock", "Σ b(x_{i+1} − x_i²)² + (a − x_i)²: a narrow curved valley", a=1.0, b=100.0, dim=2
)
def rosenbrock(a: float = 1.0, b: float = 100.0, dim: int = 2) -> Potential:
    n = _positive_int("dim", "energy.params.dim", dim)
    if n < 2:
        raise ScenarioError("energy.params.dim: rosenbrock needs dim ≥ 2.", key="energy.params.dim")

    def V(x):
        return jnp.sum(b * (x[1:] - x[:-1] ** 2) ** 2 + (a - x[:-1]) ** 2)

    return Potential(
        V,
        dim=n,
        bounds=[(-2.0, 2.0)] + [(-1.0, 3.0)] * (n - 1),
        name="rosenbrock",
        formula="V = Σ b(x_{i+1} − x_i²)² + (a − x_i)²",
        params={"a": a, "b": b, "dim": n},
    )


# Müller & Brown (1979), Table 1.
_MB_A = (-200.0, -100.0, -170.0, 15.0)
_MB_a = (-1.0, -1.0, -6.5, 0.7)
_MB_b = (0.0, 0.0, 11.0, 0.6)
_MB_c = (-10.0, -10.0, -6.5, 0.7)
_MB_x0 = (1.0, 0.0, -0.5, -1.0)
_MB_y0 = (0.0, 0.5, 1.5, 1.0)


@register("muller-brown", "the Müller–Brown surface: three minima, two saddles (a reaction model)")
def muller_brown() -> Potential:
    A, a, b, c = (jnp.asarray(v) for v in (_MB_A, _MB_a, _MB_b, _MB_c))
    x0, y0 = jnp.asarray(_MB_x0), jnp.asarray(_MB_y0)

    def V(x):
        dx, dy = x[0] - x0, x[1] - y0
        return jnp.sum(A * jnp.exp(a * dx**2 + b * dx * dy + c * dy**2))

    return Potential(
        V,
        dim=2,
        bounds=[(-1.5, 1.2), (-0.5, 2.0)],
        name="muller-brown",
        formula="V = Σᵢ Aᵢ exp(aᵢ(x−x⁰ᵢ)² + bᵢ(x−x⁰ᵢ)(y−y⁰ᵢ) + cᵢ(y−y⁰ᵢ)²)",
    )


@register("six-hump-camel", "(4 − 2.1x² + x⁴/3)x² + xy + (−4 + 4y²)y²: six minima")
def six_hump_camel() -> Potential:
    def V(x):
        u, v = x[0], x[1]
        return (4 - 2.1 * u**2 + u**4 / 3) * u**2 + u * v + (-4 + 4 * v**2) * v**2

    return Potential(
        V,
        dim=2,
        bounds=[(-2.0, 2.0), (-1.0, 1.0)],
        name="six-hump-camel",
        formula="V = (4 − 2.1x² + x⁴/3)x² + xy + (−4 + 4y²)y²",
    )


@register(
    "rastrigin", "A·n + Σ (x_i² − A cos 2πx_i): a regular lattice of local minima", A=10.0, dim=2
)
def rastrigin(A: float = 10.0, dim: int = 2) -> Potential:
    n = _positive_int("dim", "energy.params.dim", dim)

    def V(x):
        return A * n + jnp.sum(x**2 - A * jnp.cos(2 * math.pi * x))

    return Potential(
        V,
        dim=n,
        bounds=[(-5.12, 5.12)] * n,
        name="rastrigin",
        formula="V = A n + Σ (x_i² − A cos 2πx_i)",
        params={"A": A, "dim": n},
    )
