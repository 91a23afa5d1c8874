"""Stable and unstable manifolds of an index-1 saddle of a gradient flow dx/dt = −G⁻¹∇V.

At a saddle s the linearised flow is dξ/dt = Jξ with J = −G⁻¹∇²V(s), whose eigenvectors solve
the pencil ∇²V v = λ G v. The unstable direction v_u (λ < 0) grows like e^{|λ|t}; the stable
manifold theorem (Guckenheimer & Holmes, *Nonlinear Oscillations, Dynamical Systems, and
Bifurcations of Vector Fields*, 1983, Thm 1.3.2) makes W^u(s) a curve tangent to v_u, so the flow
from s ± ε v_u traces it to O(ε²). Forward it ends at two minima: the minimum-energy (steepest
descent) path of the reaction through s (Wales, *Energy Landscapes*, 2003). W^s(s) is
traced backward in time, i.e. forward along dx/dt = +G⁻¹∇V, the gradient flow of −V, from
s ± ε v_s for each stable direction v_s (λ > 0). In n dimensions W^s(s) is (n−1)-dimensional
and these 2(n−1) curves are only a 1-D skeleton of it.

The branches are integrated in one batched rk45 solve per round (rtol 1e-10), rounds doubling
in length while consecutive saves stay within h_max = box diagonal / max(4 n_points, 1000) and
shrinking where they do not, then resampled at points equally spaced in arc length along the
polyline [s, s ± εv, saved states…, end point].
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
import scipy.linalg

from .._core.errors import ScenarioError
from ..energy.potential import Potential, _check_bounds
from ..flow import GradientFlow
from ..integrate.solve import _positive, solve
from ..metric.metrics import Metric
from .critical_point import CriticalPoint

_REVERSED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SAVES = 1000  # saves per integration round
_ROUND0 = 16.0  # the first round lasts 16 e-foldings of the fastest branch


@dataclass(frozen=True)
class Branch:
    """One branch of a manifold: a curve from the saddle, sampled evenly in arc length.

    Attributes:
        points: shape ``(n, dim)``; ``points[0]`` is the saddle, ``points[-1]`` the end point.
        arclength: shape ``(n,)``, the arc length s of each point from the saddle (evenly spaced).
        direction: ``"unstable"`` or ``"stable"``.
        sign: +1 or −1, the side of the eigenvector ``tangent`` the branch leaves along.
        end: ``"minimum"``, ``"maximum"``, ``"critical point"`` (of another index),
            ``"left bounds"`` (crossed the enlarged box), or ``"t_max"`` (time or step budget
            spent, or the solver failed inside the box).
        end_point: the limit point: the critical point (Newton-polished, |∇V| ~ round-off),
            the crossing of the enlarged box, or the last state.
        tangent: the unit direction the branch leaves the saddle along (sign·v).
    """

    points: np.ndarray
    arclength: np.ndarray
    direction: str
    sign: int
    end: str
    end_point: np.ndarray
    tangent: np.ndarray


@dataclass(frozen=True)
class Manifolds:
    """The unstable (2 branches) and stable (2(n−1) branches) manifolds of ``saddle``."""

    saddle: CriticalPoint
    unstable: list[Branch]
    stable: list[Branch]

    @property
    def connects(self) -> tuple[np.ndarray | None, ...]:
        """The minima the two unstable branches reach (None for a branch that does not)."""
        return tuple(b.end_point if b.end == "minimum" else None for b in self.unstable)


def _reversed(V: Potential) -> Potential:
    """−V, cached per V so its compiled kernels are reused (its flow is V's time reversal)."""
    if V not in _REVERSED:
        fn = V.fn  # capture fn, not V: the cache must not keep V alive
        _REVERSED[V] = Potential(lambda x: -jnp.reshape(fn(x), ()), dim=V.dim, name=f"-{V.name}")
    return _REVERSED[V]


def _pencil(V: Potential, metric: Metric, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of ∇²V v = λ G v, ascending, as unit (Euclidean) columns with a fixed sign."""
    H = np.asarray(V.hessian(jnp.asarray(x)), dtype=float)
    G = np.asarray(metric.matrix(jnp.asarray(x)), dtype=float)
    lam, vec = scipy.linalg.eigh(0.5 * (H + H.T), 0.5 * (G + G.T))
    vec = vec / np.linalg.norm(vec, axis=0)
    vec = vec * np.where(vec[np.argmax(np.abs(vec), axis=0), range(len(lam))] < 0, -1.0, 1.0)
    return lam, vec


def _newton(V: Potential, x: np.ndarray, n: int = 30) -> np.ndarray:
    """Newton's method on ∇V = 0 (converges to any nondegenerate critical point nearby)."""
    for _ in range(n):
        g = np.asarray(V.grad(jnp.asarray(x)), dtype=float)
        H = np.asarray(V.hessian(jnp.asarray(x)), dtype=float)
        dx = np.linalg.lstsq(H, g, rcond=None)[0]
        x = x - dx
        if not np.all(np.isfinite(x)) or np.linalg.norm(dx) <= 1e-15 * (1 + np.linalg.norm(x)):
            break
    return x


def _outside(p: np.ndarray, box: np.ndarray) -> np.ndarray:
    return ~np.all(np.isfinite(p), axis=-1) | np.any((p < box[:, 0]) | (p > box[:, 1]), axis=-1)


def _crossing(a: np.ndarray, b: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Where the segment from ``a`` (inside) to ``b`` (outside) crosses the box."""
    if not np.all(np.isfinite(b)):
        return a
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (np.where(b > box[:, 1], box[:, 1], box[:, 0]) - a) / (b - a)
    f = np.where((b > box[:, 1]) | (b < box[:, 0]), f, 1.0)
    return a + float(np.clip(np.min(f), 0.0, 1.0)) * (b - a)


def _resample(pts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points equally spaced in arc length along the polyline ``pts``, and their s."""
    keep = np.concatenate([[True], np.linalg.norm(np.diff(pts, axis=0), axis=1) > 0])
    pts = pts[keep]
    s_raw = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    s = np.linspace(0.0, s_raw[-1], n)
    return np.stack([np.interp(s, s_raw, c) for c in pts.T], axis=1), s


def _trim(xs: np.ndarray, start: np.ndarray, status: str, box: np.ndarray) -> np.ndarray:
    """The saves a round really reached, up to and including the first one outside the box."""
    if status not in ("done", "converged", "max-steps"):  # drop the held fallback (the start)
        held = np.all(xs == start, axis=1)
        xs = xs[: len(xs) - int(np.argmin(held[::-1])) if not held.all() else 0]
    out = np.flatnonzero(_outside(xs, box))
    return xs[: int(out[0]) + 1] if out.size else xs


def _grow(
    flow: GradientFlow,
    V: Potential,
    s: np.ndarray,
    offsets: np.ndarray,
    rates: np.ndarray,
    box: np.ndarray,
    t_max: float,
    grad_tol: float,
    h_max: float,
) -> list[tuple[np.ndarray, str, np.ndarray]]:
    """Integrate the branches from s + offsets in rounds; return (polyline, end, end_point)s.

    A branch keeps a round's saves up to the first one more than ``h_max`` from the previous
    and goes on from there in a round short enough to resolve that jump; otherwise the next
    round is 2T long.
    """
    nb, diag = len(offsets), float(np.linalg.norm(np.ptp(box, axis=1)))
    polys = [[s[None], (s + d)[None]] for d in offsets]
    ends: list[tuple[str, np.ndarray] | None] = [None] * nb
    x, t = s + offsets, np.zeros(nb)
    T, T_min = _ROUND0 / max(rates), 1e-6 / max(rates)
    while active := [i for i in range(nb) if ends[i] is None]:
        T = min(T, float(np.max(t_max - t[active])))
        x0 = np.where(np.array([e is None for e in ends])[:, None], x, s)  # done: start at s
        sol = solve(flow, x0, T, "rk45", grad_tol=grad_tol, rtol=1e-10, atol=1e-12,
                    n_save=_SAVES, max_steps=2_000, errors="record")  # fmt: skip
        X, dt, T_next = np.asarray(sol.x), T / (_SAVES - 1), 2 * T
        for i in active:
            xs, status = _trim(X[i, 1:], X[i, 0], sol.status[i], box), sol.status[i]
            seg = np.linalg.norm(np.diff(np.vstack([x[i], xs]), axis=0), axis=1)
            jump = np.flatnonzero(seg > h_max)
            if jump.size and T > T_min:  # too coarse (or a blow-up): keep what came before
                k = int(jump[0])
                polys[i].append(xs[:k])
                x[i], t[i] = (xs[k - 1] if k else x[i]), t[i] + k * dt
                T_next = min(T_next, T * float(np.clip(0.5 * h_max / seg.max(), 1e-3, 0.5)))
                continue
            if len(xs) and _outside(xs[-1], box):
                cross = _crossing(xs[-2] if len(xs) > 1 else x[i], xs[-1], box)
                polys[i].append(np.vstack([xs[:-1], cross]))
                ends[i] = ("left bounds", cross)
                continue
            polys[i].append(xs)
            x[i] = xs[-1] if len(xs) else x[i]
            t[i] += min(T, float(sol.t_final[i])) if status == "max-steps" else T
            g = np.linalg.norm(np.asarray(V.grad(jnp.asarray(x[i]))))
            if status != "converged" and g > 10 * grad_tol:  # (10x: the solver's noise floor)
                if status in ("done", "max-steps") and t[i] < t_max * (1 - 1e-12):
                    continue
                ends[i] = ("t_max", x[i].copy())  # out of time, or a failure inside the box
                continue
            xc = _newton(V, x[i])
            if not np.all(np.isfinite(xc)) or np.linalg.norm(xc - x[i]) > 1e-3 * diag:
                xc = x[i].copy()
            lam = np.linalg.eigvalsh(np.asarray(V.hessian(jnp.asarray(xc))))
            kind = {0: "minimum", V.dim: "maximum"}.get(int(np.sum(lam < 0)), "critical point")
            polys[i].append(xc[None])
            ends[i] = (kind, xc)
        T = T_next
    return [(np.concatenate(p), *e) for p, e in zip(polys, ends, strict=True) if e is not None]


def manifolds(
    V: Potential,
    saddle: CriticalPoint | np.ndarray,
    *,
    metric: Metric | None = None,
    bounds: Sequence[Sequence[float]] | None = None,
    eps: float = 1e-6,
    t_max: float | None = None,
    n_points: int = 400,
    margin: float = 0.05,
) -> Manifolds:
    """The unstable and stable manifolds of the index-1 saddle ``saddle`` of ``V``.

    Args:
        V: the energy.
        saddle: a :class:`CriticalPoint` of index 1 (or its coordinates); it is Newton-polished.
        metric: the flow's metric (default Euclidean); the directions solve ∇²V v = λ G v.
        bounds: the box ((lo, hi), ...) (default ``V.plot_bounds``); a branch stops where it
            leaves the box enlarged by ``margin`` of its width on each side.
        eps: the offset ε of the starts s ± ε v from the saddle.
        t_max: the longest time a branch is followed (default 10⁴ / slowest rate |λ|).
        n_points: points per branch, equally spaced in arc length.
        margin: how far outside ``bounds`` (a fraction of the box width) a branch may go.

    Raises:
        ScenarioError: the point is not a critical point, or its index is not 1.

    Examples:
        >>> import steepest as st
        >>> m = manifolds(st.potentials.get("double-well"), np.zeros(2))
        >>> [b.end for b in m.unstable], np.round(m.connects, 8).tolist()
        (['minimum', 'minimum'], [[1.0, 0.0], [-1.0, 0.0]])
    """
    if not isinstance(V, Potential):
        raise ScenarioError(f"manifolds: V must be a steepest.Potential, got {V!r}.", key="V")
    eps, margin = _positive("eps", eps), _positive("margin", margin, allow_zero=True)
    t_max = _positive("t_max", t_max, allow_none=True)
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 2:
        raise ScenarioError(f"n_points: expected an integer ≥ 2, got {n_points!r}.", key="n_points")
    flow = GradientFlow(V, metric)
    x_in = np.asarray(saddle.x if isinstance(saddle, CriticalPoint) else saddle, dtype=float)
    if x_in.shape != (V.dim,) or not np.all(np.isfinite(x_in)):
        raise ScenarioError(f"manifolds: expected a point of shape ({V.dim},).", key="saddle")
    g = np.asarray(V.grad(jnp.asarray(x_in)), dtype=float)
    step = np.linalg.lstsq(np.asarray(V.hessian(jnp.asarray(x_in))), g, rcond=None)[0]
    if np.linalg.norm(step) > 1e-6 * (1 + np.linalg.norm(x_in)):
        raise ScenarioError(
            f"manifolds: |∇V| = {np.linalg.norm(g):.3g} at {x_in.tolist()}: not a critical point "
            f"(Newton puts one {np.linalg.norm(step):.3g} away); give a saddle found by "
            "critical_points.",
            key="saddle",
        )
    s = _newton(V, x_in)
    lam, vec = _pencil(V, flow.metric, s)
    k = int(np.sum(lam < 0))
    if k != 1 or np.min(np.abs(lam)) <= 1e-10 * np.max(np.abs(lam)):
        raise ScenarioError(
            f"manifolds: the point has index {k}"
            + (" and a zero eigenvalue" if k == 1 else "")
            + "; give an index-1 saddle (see critical_points).",
            key="saddle",
        )
    box = np.asarray(_check_bounds(bounds, V.dim) or V.plot_bounds, dtype=float)
    box = box + margin * np.ptp(box, axis=1)[:, None] * np.array([-1.0, 1.0])
    if _outside(s, box):
        raise ScenarioError(
            f"manifolds: the saddle {s.tolist()} lies outside the bounds; pass bounds=.",
            key="bounds",
        )
    # stop |∇V| well below |∇V(s ± εv)| ≈ |λ|ε; Newton then polishes the end point
    grad_tol = 1e-2 * eps * float(np.min(np.abs(lam)))
    h_max = float(np.linalg.norm(np.ptp(box, axis=1))) / max(4 * n_points, 1000)
    res = float(np.linalg.norm(V.grad(jnp.asarray(s))))
    extra = dict(saddle.extra) if isinstance(saddle, CriticalPoint) else {}
    point = CriticalPoint(s, float(V(s)), 1, "saddle", lam, vec, res, extra)
    out: dict[str, list[Branch]] = {"unstable": [], "stable": []}
    for direction, cols, fl in (
        ("unstable", [0], flow),
        ("stable", list(range(1, V.dim)), GradientFlow(_reversed(V), metric)),
    ):
        if not cols:
            continue
        signs = [1, -1] * len(cols)
        tangents = np.array([sg * vec[:, c] for c in cols for sg in (1, -1)])
        rates = np.abs(lam[cols])
        tm = t_max if t_max is not None else 1e4 / float(np.min(rates))
        grown = _grow(fl, V, s, eps * tangents, rates, box, tm, grad_tol, h_max)
        for (poly, end, end_point), sg, tg in zip(grown, signs, tangents, strict=True):
            pts, arc = _resample(poly, n_points)
            out[direction].append(Branch(pts, arc, direction, sg, end, end_point, tg))
    return Manifolds(point, out["unstable"], out["stable"])
