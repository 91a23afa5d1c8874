"""Single-ended saddle searches: the dimer method and gentlest ascent dynamics.

Both climb from a point (typically near a minimum) along the softest direction v of the
Hessian while descending in every other direction, with the reflected force

    F_eff = −∇V + 2 (∇V·v) v          (GAD always; the dimer where the curvature along v is
                                       negative), or
    F_eff = (∇V·v) v                   (the dimer where it is positive: climb along v only),

and stop at a point where ∇V = 0, which Newton then polishes; the result is checked to have
Hessian index 1. They need only gradients and Hessian-vector products (autodiff, or finite
differences of forces for a calculator), never the full Hessian until the final check.

* Dimer (Henkelman & Jónsson, J. Chem. Phys. 111 (1999) 7010): v is rotated to the minimum-
  curvature mode before every translation by Rayleigh–Ritz steps in span{v, F_rot} (two
  Hessian-vector products each; Kästner & Sherwood, J. Chem. Phys. 128 (2008) 014106 use the
  same subspace); the translation is a step along F_eff.
* Gentlest ascent dynamics (E & Zhou, Nonlinearity 24 (2011) 1831): the ODE
  ẋ = F_eff(x, v), v̇ = −∇²V v + (vᵀ∇²V v) v, integrated by explicit Euler; its stable fixed
  points are exactly the index-1 saddles.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.errors import ConvergenceError, ScenarioError
from ..energy.potential import Potential
from ..landscape.critical_point import CriticalPoint
from ._common import Counter, as_point, check_count, check_positive, energies_forces, hvp, polish


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-300)


def _lowest_mode(V, x, v, counter, n_rot: int, tol: float) -> tuple[np.ndarray, float]:
    """Rotate v towards the minimum-curvature mode at x: Rayleigh–Ritz in span{v, F_rot}."""
    Hv = hvp(V, x, v, counter)
    c = float(v @ Hv)
    for _ in range(n_rot):
        r = Hv - c * v  # minus the rotational force
        rn = float(np.linalg.norm(r))
        if rn <= tol * max(abs(c), 1e-300):
            break
        w = r / rn
        Hw = hvp(V, x, w, counter)
        T = np.array([[c, float(w @ Hv)], [float(w @ Hv), float(w @ Hw)]])
        lam, Q = np.linalg.eigh(T)
        # v ⊥ w are unit and Q is orthogonal, so the new v is unit and H is linear in it
        v, Hv = Q[0, 0] * v + Q[1, 0] * w, Q[0, 0] * Hv + Q[1, 0] * Hw
        c = float(lam[0])
    return v, c


def _start(V, x0, v0, counter, key):
    x = as_point(V, x0, "x0")
    if v0 is None:
        # the softest mode at x0, found from a fixed generic direction
        rng = np.random.default_rng(0)
        v = _unit(rng.standard_normal(V.dim))
        v, _ = _lowest_mode(V, x, v, counter, 50, 1e-6)
    else:
        v = as_point(V, v0, "v0")
        if np.linalg.norm(v) == 0:
            raise ScenarioError("v0: the initial direction must not be zero.", key="v0")
        v = _unit(v)
    return x, v


def _effective(g: np.ndarray, v: np.ndarray, c: float) -> np.ndarray:
    gv = float(g @ v)
    return -g + 2.0 * gv * v if c < 0 else gv * v


def _result(V, x, counter, it, method) -> CriticalPoint:
    try:
        cp = polish(V, x, counter)
    except ConvergenceError as e:
        raise ConvergenceError(
            f"{method}: stopped at {np.round(x, 6).tolist()}, where Newton does not reach a "
            f"critical point ({e}); try another start or direction."
        ) from None
    if cp.kind != "saddle" or cp.index != 1:
        raise ConvergenceError(
            f"{method}: reached a {cp.kind} of index {cp.index} at {np.round(cp.x, 6).tolist()}, "
            "not an index-1 saddle; start closer to a minimum or give v0 along the reaction."
        )
    cp.extra.update(
        {
            "method": method,
            "iterations": it,
            "force_calls": counter.force_calls,
            "hessian_calls": counter.hessian_calls,
        }
    )
    return cp


def dimer(
    V: Potential,
    x0: Any,
    v0: Any = None,
    *,
    gtol: float | None = None,
    max_iter: int = 10000,
    max_step: float | None = None,
    n_rot: int = 4,
) -> CriticalPoint:
    """An index-1 saddle of ``V`` by the dimer method, from ``x0`` (e.g. near a minimum).

    Args:
        V: the energy.
        x0: the start; v0: the initial direction (default: the softest mode at x0).
        gtol: stop the walk when |∇V| ≤ gtol (default 1e-6 of the largest |∇V| seen) and
            polish by Newton.
        max_iter: translations at most.
        max_step: the longest translation (default 1/20 of the plot box diagonal, or 0.1).
        n_rot: rotation steps per translation at most.

    Returns:
        The saddle as a :class:`CriticalPoint` (index checked to be 1); ``extra`` holds
        iterations and force calls.

    Raises:
        ConvergenceError: the walk ends somewhere that is not an index-1 saddle.
    """
    return _search(V, x0, v0, gtol, max_iter, max_step, "dimer", n_rot)


def gentlest_ascent(
    V: Potential,
    x0: Any,
    v0: Any = None,
    *,
    gtol: float | None = None,
    max_iter: int = 100000,
    max_step: float | None = None,
) -> CriticalPoint:
    """An index-1 saddle of ``V`` by gentlest ascent dynamics (E & Zhou 2011) from ``x0``.

    The ODE is integrated by explicit Euler with a step 1/(2λ), λ the largest curvature met
    (estimated along the way by the Rayleigh quotients of the directions tried), so that both
    the x and the v equations are stable. Arguments and result as for :func:`dimer`.
    """
    return _search(V, x0, v0, gtol, max_iter, max_step, "gentlest-ascent", 0)


def _search(V, x0, v0, gtol, max_iter, max_step, method, n_rot) -> CriticalPoint:
    if not isinstance(V, Potential):
        raise ScenarioError(f"{method}: expected a steepest.Potential, got {V!r}.", key="V")
    max_iter = check_count(max_iter, "max_iter", 1)
    if gtol is not None:
        gtol = check_positive(gtol, "gtol")
    counter = Counter()
    x, v = _start(V, x0, v0, counter, method)
    if max_step is None:
        lo, hi = np.array(V.plot_bounds, dtype=float).T
        max_step = 0.05 * float(np.linalg.norm(hi - lo)) if V.bounds or V.dim <= 3 else 0.1
    max_step = check_positive(max_step, "max_step")
    # a walk that leaves the plot box (enlarged by its own size on every side) has lost its way
    lo, hi = np.array(V.plot_bounds, dtype=float).T
    if V.bounds is None and V.dim > 3:
        lo, hi = np.full(V.dim, -np.inf), np.full(V.dim, np.inf)
    lo, hi = lo - (hi - lo), hi + (hi - lo)
    E, G = energies_forces(V, x[None], counter)
    g = G[0]
    gmax = float(np.linalg.norm(g))
    lam_max = 0.0
    # the curvature scale: the Rayleigh quotient of a few power steps on a generic vector
    w = _unit(np.random.default_rng(1).standard_normal(V.dim))
    for _ in range(8):
        Hw = hvp(V, x, w, counter)
        lam_max = max(lam_max, abs(float(w @ Hw)))
        w = _unit(Hw)
    it = 0
    c = float(v @ hvp(V, x, v, counter))
    for it in range(1, max_iter + 1):
        gn = float(np.linalg.norm(g))
        gmax = max(gmax, gn)
        if gn <= (gtol if gtol is not None else 1e-6 * gmax):
            break
        if method == "dimer":
            v, c = _lowest_mode(V, x, v, counter, n_rot, 1e-3)
        else:
            Hv = hvp(V, x, v, counter)
            c = float(v @ Hv)
            lam_max = max(lam_max, abs(c))
            v = _unit(v - 0.5 / lam_max * (Hv - c * v))
        lam_max = max(lam_max, abs(c))
        # the dimer's convex-region rule climbs along v only; GAD reflects the force always
        F = _effective(g, v, c) if method == "dimer" else -g + 2.0 * float(g @ v) * v
        step = F / (2.0 * lam_max) if method != "dimer" else F / lam_max
        sn = float(np.linalg.norm(step))
        if sn > max_step:
            step *= max_step / sn
        x1 = x + step
        if np.any(x1 < lo) or np.any(x1 > hi):
            raise ConvergenceError(
                f"{method}: the walk left the region around the plot box at "
                f"{np.round(x1, 4).tolist()} after {it} steps without finding a saddle; start "
                "elsewhere or give v0 along the reaction you expect."
            )
        E1, G1 = energies_forces(V, x1[None], counter)
        if not np.all(np.isfinite(G1)):
            raise ConvergenceError(
                f"{method}: the energy is not finite at {np.round(x1, 6).tolist()}; start "
                "closer to a minimum."
            )
        x, g = x1, G1[0]
    return _result(V, x, counter, it, method)


def escape_saddles(
    V: Potential,
    minimum: Any,
    *,
    method: str = "dimer",
    n_directions: int = 8,
    radius: float | None = None,
    max_iter: int = 3000,
) -> list[CriticalPoint]:
    """The index-1 saddles around a minimum that single-ended searches reach from it.

    As in kinetic Monte Carlo saddle searches (e.g. Henkelman & Jónsson 1999, §IV), a search
    starts from each of ``n_directions`` points at distance ``radius`` around the minimum (in
    the plane of its two softest modes; default radius 1/20 of the plot box diagonal), with the
    initial direction v0 along the displacement (E & Zhou's choice for gentlest ascent);
    searches that do not reach an index-1 saddle are dropped. The distinct saddles found, by
    energy.
    """
    if method not in ("dimer", "gentlest-ascent"):
        raise ScenarioError(
            f"method: expected 'dimer' or 'gentlest-ascent', got {method!r}.", key="method"
        )
    n_directions = check_count(n_directions, "n_directions", 1)
    counter = Counter()
    m = polish(V, as_point(V, minimum, "minimum"), counter)
    if m.kind != "minimum":
        raise ScenarioError(
            f"minimum: {np.round(m.x, 6).tolist()} polishes to a {m.kind}, not a minimum.",
            key="minimum",
        )
    if radius is None:
        lo, hi = np.array(V.plot_bounds, dtype=float).T
        radius = 0.05 * float(np.linalg.norm(hi - lo))
    radius = check_positive(radius, "radius")
    Q = m.eigenvectors[:, :2] if V.dim >= 2 else m.eigenvectors[:, :1]
    search = dimer if method == "dimer" else gentlest_ascent
    found: list[CriticalPoint] = []
    for k in range(n_directions):
        t = 2 * np.pi * k / n_directions
        u = Q[:, 0] * np.cos(t) + (Q[:, 1] * np.sin(t) if Q.shape[1] > 1 else 0.0)
        try:
            s = search(V, m.x + radius * u, u, max_iter=max_iter)
        except ConvergenceError:
            continue
        if all(
            np.linalg.norm(s.x - f.x) > 1e-8 * max(1.0, float(np.linalg.norm(s.x))) for f in found
        ):
            found.append(s)
    return sorted(found, key=lambda s: s.energy)
