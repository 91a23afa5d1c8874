"""The sharpness λ_max(∇²L) along a trajectory: warm-started Lanczos in one compiled scan.

Along a slowly changing trajectory the top eigenvector changes little between saves, so each
Lanczos run starts from the previous top Ritz vector (plus a fixed random kick, so that a new top
direction can rise) and a few steps are enough; each value carries its residual certificate.

References:
    Cohen, Kaur, Li, Kolter & Talwalkar, ICLR 2021 — sharpness along gradient descent.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import lax

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from ._cache import compiled
from .lanczos import hessian_operator, lanczos, start_vector


def sharpness_tracker(energy: Potential, iters: int = 20, metric=None):
    """``track(theta, v) -> (λ_max, residual, v_new)``: one warm-started Lanczos sharpness
    evaluation, traceable, for use inside compiled training loops (``v`` is the previous top
    Ritz vector; starting there makes a few steps enough along a slowly changing trajectory)."""
    m = int(min(iters, energy.dim))
    make = hessian_operator(energy, metric)
    kick = start_vector(energy.dim, 7)
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

    f = compiled(energy, ("along", int(min(iters, energy.dim)), metric), build)
    lam, res = f(jnp.asarray(th), start_vector(energy.dim, 0))
    return np.asarray(lam), np.asarray(res)
