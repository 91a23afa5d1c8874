"""Preconditioned conjugate gradients on the tangent space of a map into S².

The tangent-plane step of the harmonic map flow solves, for v with v_i ⊥ u_i at every free node,

    P_u (M + θτL) v = −P_u L u,       P_u w = w − (w·u)u  (node by node),

a symmetric positive definite system on the subspace {v : v_i·u_i = 0, v = 0 at fixed nodes}.
Conjugate gradients stay in that subspace when the operator and the preconditioner both map into
it; the preconditioner here is P_u (M + θτL)⁻¹ P_u with the unconstrained, component-wise operator
inverted cheaply (FFT or DST on a grid, its diagonal on a mesh). It is symmetric and positive on
the subspace, so this is PCG in the usual sense (Saad, *Iterative Methods for Sparse Linear
Systems*, 2nd ed., SIAM 2003, §9.2).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


def project(u: jax.Array, w: jax.Array) -> jax.Array:
    """P_u w = w − (w·u)u at every node (last axis the components)."""
    return w - jnp.sum(w * u, axis=-1, keepdims=True) * u


def tangent_pcg(
    apply_K: Callable[[jax.Array], jax.Array],
    solve_K: Callable[[jax.Array], jax.Array],
    u: jax.Array,
    free: jax.Array,
    b: jax.Array,
    x0: jax.Array,
    rtol: float,
    maxiter: int,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Solve P(Kv) = b for tangent v; returns (v, iterations, final relative residual).

    ``apply_K`` and ``solve_K`` act component-wise on arrays shaped like ``u``; ``free`` is 1 at
    the nodes that move and 0 at Dirichlet nodes (broadcast over the last axis); ``b`` must be
    tangent and vanish at fixed nodes.
    """

    def dot(a, c):
        return jnp.sum(a * c)

    def A(v):
        return free * project(u, apply_K(v))

    def Minv(r):
        return free * project(u, solve_K(free * project(u, r)))

    x = free * project(u, x0)
    r = b - A(x)
    z = Minv(r)
    bnorm = jnp.sqrt(dot(b, b))
    scale = jnp.where(bnorm > 0, bnorm, 1.0)
    # near a harmonic map b → 0, and rtol·‖b‖ falls below what round-off lets any residual
    # reach (≈ ε‖K‖‖u‖); stop there instead of iterating on noise
    floor = 64 * jnp.finfo(b.dtype).eps * jnp.sqrt(dot(apply_K(u), apply_K(u)))
    init = (x, r, z, z, dot(r, z), jnp.zeros((), jnp.int32))

    def cond(s):
        x, r, z, p, rz, k = s
        return (jnp.sqrt(dot(r, r)) > jnp.maximum(rtol * scale, floor)) & (k < maxiter)

    def body(s):
        x, r, z, p, rz, k = s
        Ap = A(p)
        pAp = dot(p, Ap)
        alpha = jnp.where(pAp > 0, rz / jnp.where(pAp > 0, pAp, 1.0), 0.0)
        x = x + alpha * p
        r = r - alpha * Ap
        z = Minv(r)
        rz_new = dot(r, z)
        beta = jnp.where(rz > 0, rz_new / jnp.where(rz > 0, rz, 1.0), 0.0)
        return x, r, z, z + beta * p, rz_new, k + 1

    x, r, _, _, _, k = jax.lax.while_loop(cond, body, init)
    return x, k, jnp.sqrt(dot(r, r)) / jnp.maximum(scale, floor / rtol)
