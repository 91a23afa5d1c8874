"""The simplified string method (E, Ren & Vanden-Eijnden, J. Chem. Phys. 126 (2007) 164103).

Each iteration moves every image one explicit steepest-descent step along the force
perpendicular to the string, x_i ← x_i − Δt ∇V(x_i)_⊥ (the variant of §II of the paper; the
parallel part would be undone by the reparametrisation anyway), then redistributes the images
evenly in arc length along the cubic spline through them. The string converges to a minimum
energy path, where the force perpendicular to it vanishes; the converged criterion is
max_i |∇V(x_i)_⊥| ≤ fmax. The highest point along the spline (found by maximising V on the
spline near the top image) is then refined by Newton to the saddle.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.optimize import minimize_scalar

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from ._common import Counter, check_count, check_positive, energies_forces
from .neb import _endpoints, _finish, _group_norm, _initial_band
from .path import Path


def _reparametrise(X: np.ndarray) -> tuple[np.ndarray, CubicSpline, np.ndarray]:
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(X, axis=0), axis=1))])
    s = s / s[-1]
    keep = np.concatenate([[True], np.diff(s) > 1e-12])
    spline = CubicSpline(s[keep], X[keep], axis=0)
    u = np.linspace(0.0, 1.0, len(X))
    return spline(u), spline, u


def string(
    V: Potential,
    a: Any,
    b: Any,
    n_images: int = 9,
    *,
    fmax: float = 0.01,
    max_iter: int = 20000,
    images: Any = None,
    polish_endpoints: bool = True,
    verify: bool = True,
) -> Path:
    """The minimum energy path from ``a`` to ``b`` by the simplified string method.

    Args are as for :func:`neb` (``n_images`` counts both ends; ``fmax`` bounds the force
    perpendicular to the string at every image). The step Δt is 1/λ, λ the stiffest curvature
    measured by a secant on a first small step, halved whenever the perpendicular force grows.

    Examples:
        >>> import steepest as st
        >>> p = st.paths.string(st.potentials.get("double-well"), [-1, 0.1], [1, 0], n_images=7)
        >>> p.converged, round(p.barrier_forward, 8)
        (True, 1.0)
    """
    if not isinstance(V, Potential):
        raise ScenarioError(f"string: expected a steepest.Potential, got {V!r}.", key="V")
    n = check_count(n_images, "n_images", 3)
    fmax = check_positive(fmax, "fmax")
    max_iter = check_count(max_iter, "max_iter", 1)
    counter = Counter()
    A, B, shift = _endpoints(V, a, b, polish_endpoints, counter)
    X = _initial_band(V, A, B, n, images)
    X, spline, u = _reparametrise(X)
    E, G = energies_forces(V, X, counter)
    per_atom = int(V.params.get("coords_per_atom", 0) or 0)

    def perp(X, E, G, spline, u):
        tau = spline(u, 1)
        tau = tau / np.maximum(np.linalg.norm(tau, axis=1, keepdims=True), 1e-300)
        gperp = G - np.sum(G * tau, axis=1, keepdims=True) * tau
        return tau, float(_group_norm(gperp[1:-1], per_atom).max())

    tau, fnow = perp(X, E, G, spline, u)
    dt = None
    it = 0
    while fnow > fmax and it < max_iter:
        it += 1
        # the perpendicular part of the descent step: the parallel part would only be undone
        # by the reparametrisation, and leaving it in makes the fixed point miss ∇V⊥ = 0 by the
        # spline's interpolation error times |∇V∥| (E, Ren & Vanden-Eijnden 2007, §II)
        g = G[1:-1] - np.sum(G[1:-1] * tau[1:-1], axis=1, keepdims=True) * tau[1:-1]
        if dt is None:
            step = -g / max(float(np.abs(g).max()), 1e-300) * 1e-3 * float(np.linalg.norm(B - A))
        else:
            step = -dt * g
        Y = X.copy()
        Y[1:-1] += step
        Y, spline1, u = _reparametrise(Y)
        E1, G1 = energies_forces(V, Y[1:-1], counter)
        E1 = np.concatenate([[E[0]], E1, [E[-1]]])
        G1 = np.concatenate([G[:1], G1, G[-1:]])
        tau1, f1 = perp(Y, E1, G1, spline1, u)
        if dt is None:
            # the secant curvature of the first small step (before reparametrisation moves it)
            dg = np.linalg.norm(G1[1:-1] - G[1:-1], axis=1)
            dx = np.maximum(np.linalg.norm(Y[1:-1] - X[1:-1], axis=1), 1e-300)
            dt = 1.0 / max(float(np.max(dg / dx)), 1e-300)
        elif f1 > 2.0 * fnow:
            dt *= 0.5  # unstable: the explicit step is too long for the stiffest mode here
        X, E, G, tau, fnow, spline = Y, E1, G1, tau1, f1, spline1
    info = {"fmax": fmax, "n_images": n, "dt": dt}
    # the top of the string: maximise V along the spline between the top image's neighbours
    k = int(np.argmax(E[1:-1])) + 1

    def neg(t):
        e, _ = energies_forces(V, spline(t)[None], counter)
        return -float(e[0])

    r = minimize_scalar(neg, bounds=(u[k - 1], u[k + 1]), method="bounded", options={"xatol": 1e-6})
    Xs = X.copy()
    top = spline(r.x)
    if -r.fun > E[k]:
        Xs[k], E = top, E.copy()
        E[k] = -r.fun
    path = _finish(
        V, "string", Xs, E, tau[1:-1], counter, it, fnow <= fmax, fnow, False, shift, verify, info
    )
    path.images = X
    path.energies = np.concatenate([[E[0]], energies_forces(V, X[1:-1], Counter())[0], [E[-1]]])
    return path
