"""Direct solve of a symmetric positive definite cyclic block-tridiagonal system with 2×2 blocks.

The implicit step of a closed polygonal curve couples each vertex with its two neighbours
around the loop: the matrix has 2×2 diagonal blocks ``D_j`` and off-diagonal blocks ``b_j I``
between vertices ``j`` and ``j+1`` (indices mod n). It is solved by block LDLᵀ elimination of
vertices ``0 … n−2`` with the last vertex kept as a border (the "arrow" form of a cyclic band):
O(n) work in two ``lax.scan`` sweeps, no pivoting needed because every Schur complement of an
SPD matrix is SPD (Golub & Van Loan, *Matrix Computations*, 4th ed., §4.3 and §4.5).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _inv2(S: jax.Array) -> jax.Array:
    """Inverse of 2×2 matrices ``S[..., 2, 2]`` by the adjugate."""
    a, b, c, d = S[..., 0, 0], S[..., 0, 1], S[..., 1, 0], S[..., 1, 1]
    det = a * d - b * c
    adj = jnp.stack([jnp.stack([d, -b], -1), jnp.stack([-c, a], -1)], -2)
    return adj / det[..., None, None]


def solve_cyclic(D: jax.Array, b: jax.Array, r: jax.Array) -> jax.Array:
    """Solve ``M y = r`` for the cyclic block-tridiagonal SPD matrix ``M``.

    Args:
        D: diagonal blocks, shape ``(n, 2, 2)`` (n ≥ 3).
        b: off-diagonal scalars, shape ``(n,)``: ``M[j, j+1] = M[j+1, j] = b[j] I`` and
            ``M[n−1, 0] = M[0, n−1] = b[n−1] I``.
        r: right-hand side, shape ``(n, 2)``.

    Returns:
        y of shape ``(n, 2)``.
    """
    n = D.shape[0]
    eye = jnp.eye(2, dtype=D.dtype)
    # border coupling of each row to the last unknown before elimination
    e = jnp.zeros((n - 1, 2, 2), D.dtype)
    e = e.at[0].add(b[n - 1] * eye).at[n - 2].add(b[n - 2] * eye)

    def forward(carry, xs):
        # carry: S_{j-1}^{-1}, c_{j-1}, g_{j-1}, b_{j-1}; eliminate y_{j-1} from row j
        Sinv_prev, c_prev, g_prev, b_prev = carry
        Dj, ej, rj, bj = xs
        Sinv = _inv2(Dj - b_prev**2 * Sinv_prev)
        cj = ej - b_prev * (Sinv_prev @ c_prev)
        gj = rj - b_prev * (Sinv_prev @ g_prev)
        return (Sinv, cj, gj, bj), (Sinv, cj, gj)

    zero22 = jnp.zeros((2, 2), D.dtype)
    init = (zero22, zero22, jnp.zeros(2, D.dtype), jnp.zeros((), D.dtype))
    xs = (D[: n - 1], e, r[: n - 1], b[: n - 1])
    _, (Sinv, c, g) = jax.lax.scan(forward, init, xs, unroll=1)
    # the border unknown: T y_last = h
    cT_Sinv = jnp.einsum("jki,jkl->jil", c, Sinv)  # c_jᵀ S_j⁻¹
    T = D[n - 1] - jnp.einsum("jil,jlm->im", cT_Sinv, c)
    h = r[n - 1] - jnp.einsum("jil,jl->i", cT_Sinv, g)
    y_last = _inv2(T) @ h

    def back(y_next, xs):
        Sinv_j, c_j, g_j, b_j, interior = xs
        rhs = g_j - c_j @ y_last - jnp.where(interior, b_j, 0.0) * y_next
        y_j = Sinv_j @ rhs
        return y_j, y_j

    interior = jnp.arange(n - 1) < n - 2
    _, ys = jax.lax.scan(back, y_last, (Sinv, c, g, b[: n - 1], interior), reverse=True, unroll=1)
    return jnp.concatenate([ys, y_last[None]], axis=0)


def assemble_dense(D, b):
    """The dense ``(2n, 2n)`` matrix of :func:`solve_cyclic` (NumPy; for tests and checks)."""
    import numpy as np

    D, b = np.asarray(D), np.asarray(b)
    n = D.shape[0]
    M = np.zeros((2 * n, 2 * n))
    for j in range(n):
        k = (j + 1) % n
        M[2 * j : 2 * j + 2, 2 * j : 2 * j + 2] = D[j]
        M[2 * j : 2 * j + 2, 2 * k : 2 * k + 2] += b[j] * np.eye(2)
        M[2 * k : 2 * k + 2, 2 * j : 2 * j + 2] += b[j] * np.eye(2)
    return M
