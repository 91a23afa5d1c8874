"""The curvature of a loss from Hessian-vector products: λ_max, λ_min, κ, 2/λ_max, rates.

Nothing here forms the Hessian unless asked (``method="dense"``, at most a few thousand
parameters). Hessian-vector products ∇²L(θ)v come from autodiff, forward over reverse, with the
gradient linearised once per point (``jax.linearize``), so each product costs about two
gradients. With a metric G the curvature that matters is that of G⁻¹∇²L: its eigenvalues are
those of the symmetric L_G⁻¹ ∇²L L_G⁻ᵀ (G = L_G L_Gᵀ), which is what Lanczos sees.

Lanczos (m steps, full reorthogonalisation, twice: Parlett's "twice is enough") builds the
tridiagonal T_m = V_mᵀ H V_m whose extreme eigenvalues (Ritz values) converge to λ_max and
λ_min; each Ritz value θᵢ is certified by |β_m sᵢ,m| — some eigenvalue of H lies within it.

References:
    Lanczos, J. Res. Natl. Bur. Stand. 45, 255 (1950). Parlett, *The Symmetric Eigenvalue
    Problem* (SIAM 1998), §13. Golub & Van Loan, *Matrix Computations* (4th ed.), §10.1.
    Pearlmutter, Neural Comput. 6, 147 (1994) — fast exact Hessian-vector products.
    Ghorbani, Krishnan & Xiao, ICML 2019 — Lanczos spectra of neural-network Hessians.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from ..metric.metrics import Euclidean, Metric

#: at or below this many parameters ``method="auto"`` takes the dense Hessian (exact, cheap)
DENSE_AUTO_MAX = 64
#: never form a dense Hessian above this many parameters
DENSE_MAX = 4096

_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled(energy: Potential, key: tuple, build: Callable[[], Callable]) -> Callable:
    """One jitted function per (energy, key): a second call with the same shapes never retraces."""
    per = _COMPILED.setdefault(energy, {})
    if key not in per:
        per[key] = jax.jit(build())
    return per[key]


def lanczos(matvec: Callable[[jax.Array], jax.Array], v0: jax.Array, m: int):
    """``m`` Lanczos steps on the symmetric operator ``matvec`` from ``v0`` (traceable).

    Returns ``(ritz, residual, v_min, v_max)``: the Ritz values ascending, their residual bounds
    |β_m s_{m,i}|, and the unit Ritz vectors of the smallest and largest. After a breakdown
    (an invariant subspace found, e.g. m ≥ dim) the remaining diagonal is padded with α₁, a
    Rayleigh quotient of the found block, so the extremes are unchanged and exact.
    """
    P = v0.shape[0]
    v0 = v0 / jnp.linalg.norm(v0)
    dt = v0.dtype
    tiny = jnp.finfo(dt).eps

    def body(j, c):
        V, alpha, beta, v, broken, scale = c
        active = ~broken
        V = V.at[j].set(jnp.where(active, v, 0.0))
        w = matvec(v)
        a = v @ w
        w = w - V.T @ (V @ w)  # full reorthogonalisation, twice
        w = w - V.T @ (V @ w)
        b = jnp.linalg.norm(w)
        scale = jnp.maximum(scale, jnp.abs(a) + b)
        stop = active & (b <= 64 * tiny * scale)
        alpha = alpha.at[j].set(jnp.where(active, a, alpha[0]))
        beta = beta.at[j].set(jnp.where(active & ~stop, b, 0.0))
        v = jnp.where(active & ~stop, w / jnp.where(b > 0, b, 1.0), v)
        return V, alpha, beta, v, broken | stop, scale

    init = (jnp.zeros((m, P), dt), jnp.zeros(m, dt), jnp.zeros(m, dt), v0, False, 0.0 * tiny)
    V, alpha, beta, _, _, _ = lax.fori_loop(0, m, body, init)
    T = jnp.diag(alpha) + jnp.diag(beta[:-1], 1) + jnp.diag(beta[:-1], -1)
    ritz, S = jnp.linalg.eigh(T)
    residual = jnp.abs(beta[-1] * S[-1, :])

    def vec(s):
        y = V.T @ s
        ny = jnp.linalg.norm(y)
        return jnp.where(ny > 0.5, y / jnp.where(ny > 0, ny, 1.0), V[0])

    return ritz, residual, vec(S[:, 0]), vec(S[:, -1])


def power_iteration(matvec: Callable, v0: jax.Array, iters: int = 1000, tol: float = 1e-10):
    """The eigenvalue of largest modulus by power iteration (traceable, ``lax.while_loop``).

    Converges at the rate |λ₂/λ₁|; stops when the Rayleigh quotient changes by ≤ tol·|λ|.
    Returns ``(λ, v, residual |Hv − λv|, iterations)``.
    """

    def cond(c):
        lam, lam_old, v, k = c
        return (k < iters) & (jnp.abs(lam - lam_old) > tol * jnp.abs(lam))

    def body(c):
        lam, _, v, k = c
        w = matvec(v)
        return v @ w, lam, w / jnp.linalg.norm(w), k + 1

    v0 = v0 / jnp.linalg.norm(v0)
    w0 = matvec(v0)
    lam, _, v, k = lax.while_loop(cond, body, (v0 @ w0, jnp.inf, w0 / jnp.linalg.norm(w0), 1))
    w = matvec(v)
    lam = v @ w
    return lam, v, jnp.linalg.norm(w - lam * v), k


def _operator(energy: Potential, metric: Metric | None):
    """theta ↦ (matvec, to_original): the symmetric operator of G⁻¹∇²L at theta."""
    euclid = metric is None or isinstance(metric, Euclidean)

    def make(theta):
        _, hv = jax.linearize(energy._grad, theta)
        if euclid:
            return hv, lambda u: u
        Lg = jnp.linalg.cholesky(metric.matrix(theta))
        solve_t = lambda u: jax.scipy.linalg.solve_triangular(Lg, u, lower=True, trans=1)  # noqa: E731
        solve = lambda u: jax.scipy.linalg.solve_triangular(Lg, u, lower=True)  # noqa: E731

        def unit(u):
            y = solve_t(u)
            return y / jnp.linalg.norm(y)

        return (lambda u: solve(hv(solve_t(u)))), unit

    return make


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
        raise ScenarioError(f"{key}: expected an array of numbers, got {theta!r}.", key=key) from None
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


def _start(dim: int, seed: int) -> jax.Array:
    # a fixed random start: Lanczos needs a vector with a component along every eigenvector
    return jax.random.normal(jax.random.PRNGKey(seed), (dim,), dtype=jnp.float64)


def lanczos_extremes(energy: Potential, theta: Any, iters: int, *, metric=None, seed: int = 0):
    """(λ_min, λ_max, residual_min, residual_max, v_min, v_max) by ``iters`` Lanczos steps."""
    theta = _check_point(energy, theta)
    m = int(min(iters, energy.dim))
    make = _operator(energy, metric)

    def build():
        def run(th, v0):
            mv, back = make(th)
            ritz, res, vmin, vmax = lanczos(mv, v0, m)
            return ritz[0], ritz[-1], res[0], res[-1], back(vmin), back(vmax)

        return run

    f = _compiled(energy, ("lanczos", m, metric), build)
    return tuple(np.asarray(a) for a in f(theta, _start(energy.dim, seed)))


def sharpness_tracker(energy: Potential, iters: int = 20, metric=None):
    """``track(theta, v) -> (λ_max, residual, v_new)``: one warm-started Lanczos sharpness
    evaluation, traceable, for use inside compiled training loops (``v`` is the previous top
    Ritz vector; starting there makes a few steps enough along a slowly changing trajectory)."""
    m = int(min(iters, energy.dim))
    make = _operator(energy, metric)
    kick = _start(energy.dim, 7)
    kick = kick / jnp.linalg.norm(kick)

    def track(theta, v):
        mv, back = make(theta)
        # a fixed perturbation keeps a component along every eigenvector (a new top one may rise)
        ritz, res, _, vmax = lanczos(mv, v / jnp.linalg.norm(v) + 0.1 * kick, m)
        return ritz[-1], res[-1], back(vmax)

    return track


def sharpness_along(energy: Potential, thetas: Any, iters: int = 20, *, metric=None):
    """The sharpness λ_max(∇²L) at each row of ``thetas`` (N, P), one compiled ``lax.scan``
    that warm-starts each Lanczos run from the previous top Ritz vector.

    Returns ``(lam_max (N,), residual (N,))`` as NumPy arrays.
    """
    th = np.asarray(thetas, dtype=float)
    if th.ndim != 2 or th.shape[1] != energy.dim:
        raise ScenarioError(
            f"thetas: expected shape (N, {energy.dim}), got {th.shape}.", key="thetas"
        )
    track = sharpness_tracker(energy, iters, metric)

    def build():
        def run(ths, v0):
            def step(v, t):
                finite = jnp.all(jnp.isfinite(t))
                lam, res, v1 = track(jnp.where(finite, t, 0.0), v)
                nan = jnp.nan
                return jnp.where(finite, v1, v), (jnp.where(finite, lam, nan), res)

            _, (lam, res) = lax.scan(step, v0, ths)
            return lam, res

        return run

    f = _compiled(energy, ("along", int(min(iters, energy.dim)), metric), build)
    lam, res = f(jnp.asarray(th), _start(energy.dim, 0))
    return np.asarray(lam), np.asarray(res)


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
    v_max: np.ndarray = field(repr=False, compare=False, default=None)
    v_min: np.ndarray = field(repr=False, compare=False, default=None)

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
    make = _operator(energy, metric)

    def build():
        def run(th, v0):
            mv, back = make(th)
            lam1, v1, r1, k1 = power_iteration(mv, v0, iters, tol)
            # the eigenvalue at the other end: the largest of (λ₁ − H) is λ₁ − λ_other
            lam2, v2, r2, k2 = power_iteration(lambda u: lam1 * u - mv(u), v0, iters, tol)
            return lam1, lam1 - lam2, r1, r2, back(v1), back(v2), k1 + k2

        return run

    f = _compiled(energy, ("power", iters, tol, metric), build)
    a, b, ra, rb, va, vb, k = (np.asarray(v) for v in f(x, _start(energy.dim, seed)))
    hi, lo = (a, b) if a >= b else (b, a)
    rhi, rlo = (ra, rb) if a >= b else (rb, ra)
    vhi, vlo = (va, vb) if a >= b else (vb, va)
    return Curvature(
        float(hi), float(lo), float(rhi), float(rlo), energy.dim, "power", int(k), vhi, vlo
    )
