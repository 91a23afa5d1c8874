"""The curvature of a loss from Hessian-vector products: λ_max, λ_min, κ, 2/λ_max, rates.

Nothing here forms the Hessian unless asked (``method="dense"``, at most a few thousand
parameters): Lanczos or power iteration on Hessian-vector products (:mod:`.lanczos`). With a
metric G the curvature that matters is that of G⁻¹∇²L, the linearisation of the metric flow.

References:
    Polyak, *Introduction to Optimization* (1987), §1.4 and §3.2 — rates of gradient descent and
    of the heavy ball on quadratics. Ghorbani, Krishnan & Xiao, ICML 2019 — Lanczos spectra of
    neural-network Hessians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from ..metric.metrics import Euclidean, Metric
from ._cache import compiled
from .lanczos import hessian_operator, lanczos, power_iteration, start_vector

#: at or below this many parameters ``method="auto"`` takes the dense Hessian (exact, cheap)
DENSE_AUTO_MAX = 64
#: never form a dense Hessian above this many parameters
DENSE_MAX = 4096


def _check_point(energy: Potential, theta: Any, key: str = "theta") -> jax.Array:
    if not isinstance(energy, Potential):
        raise ScenarioError(
            f"curvature: expected a steepest Potential or TrainingLoss, got "
            f"{type(energy).__name__}.",
            key="energy",
        )
    try:
        x = np.asarray(theta, dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError(
            f"{key}: expected an array of numbers, got {theta!r}.", key=key
        ) from None
    if x.shape != (energy.dim,):
        raise ScenarioError(
            f"{key}: expected shape ({energy.dim},) for this {energy.dim}-parameter loss, got "
            f"{x.shape}.",
            key=key,
        )
    if not np.all(np.isfinite(x)):
        raise ScenarioError(
            f"{key}: {int(np.sum(~np.isfinite(x)))} of the parameters are NaN or infinite; "
            "curvature needs a finite point.",
            key=key,
        )
    return jnp.asarray(x)


def lanczos_extremes(energy: Potential, theta: Any, iters: int, *, metric=None, seed: int = 0):
    """(λ_min, λ_max, residual_min, residual_max, v_min, v_max) by ``iters`` Lanczos steps."""
    theta = _check_point(energy, theta)
    m = int(min(iters, energy.dim))
    make = hessian_operator(energy, metric)

    def build():
        def run(th, v0):
            mv, back = make(th)
            ritz, res, vmin, vmax = lanczos(mv, v0, m)
            return ritz[0], ritz[-1], res[0], res[-1], back(vmin), back(vmax)

        return run

    f = compiled(energy, ("lanczos", m, metric), build)
    return tuple(np.asarray(a) for a in f(theta, start_vector(energy.dim, seed)))


@dataclass(frozen=True)
class Curvature:
    """The extreme curvatures of a loss at a point and what they imply for a step size.

    For a quadratic with spectrum in [μ, L] (μ = λ_min > 0, L = λ_max, κ = L/μ) gradient descent
    with step h contracts the error by ρ(h) = max(|1 − hμ|, |1 − hL|) per step: stable iff
    h < 2/L, fastest at h = 2/(L + μ) with ρ = (κ − 1)/(κ + 1) (Polyak 1987, §1.4).
    """

    lam_max: float
    lam_min: float
    residual_max: float
    residual_min: float
    dim: int
    method: str
    iters: int
    v_max: np.ndarray | None = field(repr=False, compare=False, default=None)
    v_min: np.ndarray | None = field(repr=False, compare=False, default=None)

    @property
    def convex(self) -> bool:
        """Whether the Hessian is positive semi-definite here (λ_min ≥ −its certificate)."""
        return self.lam_min >= -max(self.residual_min, 1e-12 * abs(self.lam_max))

    @property
    def condition_number(self) -> float:
        """κ = λ_max / λ_min (inf when λ_min ≤ 0)."""
        return self.lam_max / self.lam_min if self.lam_min > 0 else math.inf

    @property
    def stability_limit(self) -> float:
        """The largest stable step of explicit Euler (gradient descent): 2/λ_max."""
        return 2.0 / self.lam_max if self.lam_max > 0 else math.inf

    @property
    def optimal_step(self) -> float | None:
        """h* = 2/(λ_max + λ_min), the step that minimises ρ(h) (None if not convex)."""
        return 2.0 / (self.lam_max + self.lam_min) if self.lam_min > 0 else None

    @property
    def optimal_rate(self) -> float | None:
        """ρ(h*) = (κ − 1)/(κ + 1)."""
        k = self.condition_number
        return (k - 1) / (k + 1) if math.isfinite(k) else None

    def gd_rate(self, h: float) -> float:
        """ρ(h) = max(|1 − hλ_min|, |1 − hλ_max|): the predicted linear rate of GD."""
        return max(abs(1 - h * self.lam_min), abs(1 - h * self.lam_max))

    def heavy_ball(self) -> tuple[float, float, float] | None:
        """Polyak's optimal heavy ball: (h, β, rate) = (4/(√L + √μ)², ((√κ−1)/(√κ+1))²,
        (√κ − 1)/(√κ + 1))."""
        if self.lam_min <= 0:
            return None
        sL, sm = math.sqrt(self.lam_max), math.sqrt(self.lam_min)
        r = (sL - sm) / (sL + sm)
        return 4.0 / (sL + sm) ** 2, r * r, r

    def nesterov(self) -> tuple[float, float, float] | None:
        """Nesterov's constant-momentum scheme: (h, β) = (1/L, (√κ−1)/(√κ+1)) and its predicted
        rate on quadratics with spectrum in [μ, L] (the spectral radius of the iteration)."""
        if self.lam_min <= 0:
            return None
        sk = math.sqrt(self.condition_number)
        h, b = 1.0 / self.lam_max, (sk - 1) / (sk + 1)
        return h, b, momentum_rate("nesterov", h, b, self.lam_min, self.lam_max)

    def to_dict(self) -> dict[str, Any]:
        def f(v):
            return None if v is None or not math.isfinite(v) else float(v)

        return {
            "lam_max": self.lam_max,
            "lam_min": self.lam_min,
            "residual_max": self.residual_max,
            "residual_min": self.residual_min,
            "condition_number": f(self.condition_number),
            "stability_limit": f(self.stability_limit),
            "optimal_step": f(self.optimal_step),
            "optimal_rate": f(self.optimal_rate),
            "dim": self.dim,
            "method": self.method,
            "iters": self.iters,
        }


def momentum_rate(kind: str, h: float, beta: float, lam_min: float, lam_max: float) -> float:
    """The spectral radius of heavy ball or Nesterov (constant β) on quadratics with spectrum in
    [lam_min, lam_max]: the largest root modulus of z² − (1 + β − hλ)z + β (heavy ball) or
    z² − (1 + β)(1 − hλ)z + β(1 − hλ) (Nesterov), maximised over λ on a fine grid."""
    lam = np.concatenate([np.linspace(lam_min, lam_max, 4001), [lam_min, lam_max]])
    u = 1 - h * lam
    if kind == "heavy-ball":
        b1, b0 = -(1 + beta - h * lam), np.full_like(lam, beta)
    else:
        b1, b0 = -(1 + beta) * u, beta * u
    disc = np.sqrt((b1 * b1 - 4 * b0).astype(complex))
    return float(np.max(np.maximum(np.abs((-b1 + disc) / 2), np.abs((-b1 - disc) / 2))))


def curvature(
    energy: Potential,
    theta: Any = None,
    *,
    method: str = "auto",
    iters: int | None = None,
    tol: float = 1e-6,
    metric: Metric | None = None,
    seed: int = 0,
) -> Curvature:
    """λ_max and λ_min of ∇²L(θ) (or of G⁻¹∇²L with a metric) and what follows from them.

    Args:
        energy: a :class:`~steepest.Potential` (a :class:`TrainingLoss` is one).
        theta: the point (default ``energy.theta0`` for a training loss).
        method: ``"lanczos"`` (Hessian-vector products only), ``"power"`` (power iteration on H
            and on λ_max − H), ``"dense"`` (the full Hessian, ≤ 4096 parameters) or ``"auto"``
            (dense up to 64 parameters, Lanczos beyond).
        iters: Lanczos steps (default 40, doubled up to 320 until both extremes are certified
            to ``tol`` relative to λ_max) or power iterations (default 5000).
        metric: a :class:`~steepest.Metric` (its G at θ) for the curvature of the metric flow.

    Examples:
        >>> import steepest as st
        >>> V = st.potentials.get("quadratic", A=[[1.0, 0.0], [0.0, 100.0]])
        >>> c = st.learning.curvature(V, [1.0, 1.0], method="lanczos")
        >>> round(c.lam_max, 10), round(c.stability_limit, 10)
        (100.0, 0.02)
    """
    if theta is None:
        theta = getattr(energy, "theta0", None)
        if theta is None:
            raise ScenarioError("theta: give the point at which to measure curvature.", key="theta")
    x = _check_point(energy, theta)
    P = energy.dim
    if method not in ("auto", "lanczos", "power", "dense"):
        raise ScenarioError(
            f"method: expected auto, lanczos, power or dense, got {method!r}.", key="method"
        )
    if method == "auto":
        method = "dense" if P <= DENSE_AUTO_MAX else "lanczos"
    if method == "dense":
        if P > DENSE_MAX:
            raise ScenarioError(
                f"method: a dense Hessian of {P} parameters is too large; use method='lanczos'.",
                key="method",
            )
        H = np.asarray(energy.hessian(x), dtype=float)
        H = 0.5 * (H + H.T)
        if metric is not None and not isinstance(metric, Euclidean):
            import scipy.linalg

            G = np.asarray(metric.matrix(x), dtype=float)
            lam, vec = scipy.linalg.eigh(H, 0.5 * (G + G.T))
        else:
            lam, vec = np.linalg.eigh(H)
        eps = 64 * np.finfo(float).eps * max(abs(lam).max(), 1e-300)
        return Curvature(
            float(lam[-1]), float(lam[0]), eps, eps, P, "dense", P, vec[:, -1], vec[:, 0]
        )
    if method == "power":
        return _power(energy, x, iters or 5000, tol, metric, seed)
    m = int(iters or 40)
    while True:
        lo, hi, rlo, rhi, vlo, vhi = lanczos_extremes(energy, x, m, metric=metric, seed=seed)
        scale = max(abs(float(hi)), abs(float(lo)), 1e-300)
        done = max(float(rlo), float(rhi)) <= tol * scale or m >= P or iters is not None
        if done or m >= 320:
            return Curvature(
                float(hi), float(lo), float(rhi), float(rlo), P, "lanczos", min(m, P), vhi, vlo
            )
        m *= 2


def _power(energy, x, iters, tol, metric, seed) -> Curvature:
    make = hessian_operator(energy, metric)

    def build():
        def run(th, v0):
            mv, back = make(th)
            lam1, v1, r1, k1 = power_iteration(mv, v0, iters, tol)
            # the eigenvalue at the other end: the largest of (λ₁ − H) is λ₁ − λ_other
            lam2, v2, r2, k2 = power_iteration(lambda u: lam1 * u - mv(u), v0, iters, tol)
            return lam1, lam1 - lam2, r1, r2, back(v1), back(v2), k1 + k2

        return run

    f = compiled(energy, ("power", iters, tol, metric), build)
    a, b, ra, rb, va, vb, k = (np.asarray(v) for v in f(x, start_vector(energy.dim, seed)))
    hi, lo = (a, b) if a >= b else (b, a)
    rhi, rlo = (ra, rb) if a >= b else (rb, ra)
    vhi, vlo = (va, vb) if a >= b else (vb, va)
    return Curvature(
        float(hi), float(lo), float(rhi), float(rlo), energy.dim, "power", int(k), vhi, vlo
    )
