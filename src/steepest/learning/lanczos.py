"""Extreme eigenvalues of a symmetric operator from matrix-vector products: Lanczos and power
iteration, traceable (they run inside compiled loops), and the Hessian operator of a loss.

Hessian-vector products ∇²L(θ)v come from autodiff, forward over reverse, with the gradient
linearised once per point (``jax.linearize``), so each product costs about two gradients and no
Hessian is formed. With a metric G the operator is G⁻¹∇²L, made symmetric as
L_G⁻¹ ∇²L L_G⁻ᵀ (G = L_G L_Gᵀ); its eigenvalues are the rates of the metric flow.

Lanczos (m steps, full reorthogonalisation, twice: Parlett's "twice is enough") builds the
tridiagonal T_m = V_mᵀ H V_m whose extreme eigenvalues (Ritz values) converge to λ_max and
λ_min; each Ritz value θᵢ is certified by |β_m sᵢ,m|: some eigenvalue of H lies within it.

References:
    Lanczos, J. Res. Natl. Bur. Stand. 45, 255 (1950). Parlett, *The Symmetric Eigenvalue
    Problem* (SIAM 1998), §13. Golub & Van Loan, *Matrix Computations* (4th ed.), §10.1.
    Pearlmutter, Neural Comput. 6, 147 (1994): fast exact Hessian-vector products.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax

from ..energy.potential import Potential
from ..metric.metrics import Euclidean, Metric


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


def hessian_operator(energy: Potential, metric: Metric | None):
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


def start_vector(dim: int, seed: int) -> jax.Array:
    # a fixed random start: Lanczos needs a vector with a component along every eigenvector
    return jax.random.normal(jax.random.PRNGKey(seed), (dim,), dtype=jnp.float64)
