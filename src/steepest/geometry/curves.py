"""Closed polygonal plane curves: checks, measures, and a few standard shapes.

A closed curve is an array ``X`` of shape ``(n, 2)``: vertices in order, the last joined to the
first (a repeated first vertex at the end is dropped). Measures:

* length L = Σ |X_{j+1} − X_j|;
* signed area A = ½ Σ X_j × X_{j+1} (positive when counter-clockwise);
* isoperimetric ratio L²/(4πA) ≥ 1, with equality only for the circle;
* turning angles θ_j ∈ (−π, π) at the vertices; Σ θ_j = 2π for a simple counter-clockwise curve,
  and the curve is convex when every θ_j ≥ 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._core.errors import ScenarioError


def check_curve(points: Any, *, key: str = "curve", embedded: bool = True) -> np.ndarray:
    """A validated closed curve as a float64 ``(n, 2)`` array, oriented counter-clockwise.

    Raises :class:`ScenarioError` (naming ``key``) for: a wrong shape, fewer than 3 vertices,
    non-finite coordinates, a zero-length edge (repeated vertex), zero enclosed area, or (when
    ``embedded``) a self-intersection, which curve shortening of an embedded curve excludes.
    """
    try:
        X = np.array(points, dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError(
            f"{key}: expected a list of [x, y] vertices, got {type(points).__name__}.", key=key
        ) from None
    if X.ndim != 2 or X.shape[1] != 2:
        raise ScenarioError(
            f"{key}: expected vertices of shape (n, 2), got shape {X.shape}; give [[x, y], ...].",
            key=key,
        )
    if len(X) > 3 and np.allclose(X[0], X[-1], rtol=0, atol=0):
        X = X[:-1]  # a closed polyline written with its first vertex repeated
    if len(X) < 3:
        raise ScenarioError(
            f"{key}: a closed curve needs at least 3 vertices, got {len(X)}.", key=key
        )
    if not np.all(np.isfinite(X)):
        raise ScenarioError(f"{key}: the vertices contain non-finite coordinates.", key=key)
    scale = float(np.ptp(X, axis=0).max())
    seg = np.linalg.norm(np.roll(X, -1, axis=0) - X, axis=1)
    if scale == 0 or np.min(seg) <= 1e-12 * scale:
        j = int(np.argmin(seg))
        raise ScenarioError(
            f"{key}: degenerate curve: the edge from vertex {j} to vertex {(j + 1) % len(X)} has "
            "zero length (a repeated vertex); remove duplicate vertices.",
            key=key,
        )
    if embedded:
        hit = first_self_intersection(X)
        if hit is not None:
            raise ScenarioError(
                f"{key}: the curve intersects itself (edges {hit[0]} and {hit[1]} cross); "
                "curve shortening here is for embedded curves, so give a simple closed curve.",
                key=key,
            )
    A = signed_area(X)
    if abs(A) <= 1e-12 * scale**2:
        raise ScenarioError(
            f"{key}: degenerate curve: it encloses zero area (its vertices are collinear or it "
            "folds back on itself); give a closed curve around a region.",
            key=key,
        )
    return X if A > 0 else X[::-1].copy()


def length(X: Any) -> float:
    """L = Σ |X_{j+1} − X_j|."""
    X = np.asarray(X)
    return float(np.linalg.norm(np.roll(X, -1, axis=-2) - X, axis=-1).sum(axis=-1))


def signed_area(X: Any) -> float:
    """A = ½ Σ (x_j y_{j+1} − x_{j+1} y_j), positive for counter-clockwise curves."""
    X = np.asarray(X)
    Y = np.roll(X, -1, axis=-2)
    return float(0.5 * np.sum(X[..., 0] * Y[..., 1] - Y[..., 0] * X[..., 1], axis=-1))


def isoperimetric_ratio(X: Any) -> float:
    """L²/(4π|A|): 1 for a circle, larger for anything else."""
    return length(X) ** 2 / (4 * np.pi * abs(signed_area(X)))


def turning_angles(X: Any) -> np.ndarray:
    """Exterior angles θ_j ∈ (−π, π] at each vertex (positive where the curve turns left)."""
    X = np.asarray(X, dtype=float)
    d_in = X - np.roll(X, 1, axis=0)
    d_out = np.roll(X, -1, axis=0) - X
    cross = d_in[:, 0] * d_out[:, 1] - d_in[:, 1] * d_out[:, 0]
    dot = np.sum(d_in * d_out, axis=1)
    return np.arctan2(cross, dot)


def curvature(X: Any) -> np.ndarray:
    """Vertex curvature κ_j = θ_j / h_j, turning angle over the dual length h_j = ½(ℓ_{j−1}+ℓ_j)."""
    X = np.asarray(X, dtype=float)
    seg = np.linalg.norm(np.roll(X, -1, axis=0) - X, axis=1)
    h = 0.5 * (seg + np.roll(seg, 1))
    return turning_angles(X) / h


def is_convex(X: Any, tol: float = 1e-12) -> bool:
    """True when the counter-clockwise curve turns left (θ_j ≥ −tol) at every vertex."""
    X = np.asarray(X, dtype=float)
    th = turning_angles(X if signed_area(X) > 0 else X[::-1])
    return bool(np.all(th >= -tol))


def first_self_intersection(X: Any, block: int = 512) -> tuple[int, int] | None:
    """The first pair of non-adjacent edges (i, j) that touch or cross, or None if embedded.

    O(n²) orientation tests, in blocks so that memory stays O(block · n).
    """
    P = np.asarray(X, dtype=float)
    n = len(P)
    Q = np.roll(P, -1, axis=0)
    idx = np.arange(n)

    def orient(a, b, c):
        return (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (
            c[..., 0] - a[..., 0]
        )

    for s in range(0, n, block):
        i = idx[s : s + block, None]
        a, b = P[i], Q[i]
        c, d = P[None, :], Q[None, :]
        d1, d2 = orient(a, b, c), orient(a, b, d)
        d3, d4 = orient(c, d, a), orient(c, d, b)
        cross = (d1 * d2 < 0) & (d3 * d4 < 0)
        # collinear touching: an endpoint of one edge on the other edge
        touch = np.zeros_like(cross)
        for o, (p, q, r) in ((d1, (a, b, c)), (d2, (a, b, d)), (d3, (c, d, a)), (d4, (c, d, b))):
            on = (o == 0) & _between(p, q, r)
            touch |= on
        j = idx[None, :]
        adjacent = (j == i) | (j == (i + 1) % n) | (j == (i - 1) % n)
        bad = (cross | touch) & ~adjacent & (j > i)
        if bad.any():
            ii, jj = np.argwhere(bad)[0]
            return int(s + ii), int(jj)
    return None


def _between(p, q, r):
    """Whether r (collinear with p, q) lies within the bounding box of segment pq."""
    return (
        (np.minimum(p[..., 0], q[..., 0]) <= r[..., 0])
        & (r[..., 0] <= np.maximum(p[..., 0], q[..., 0]))
        & (np.minimum(p[..., 1], q[..., 1]) <= r[..., 1])
        & (r[..., 1] <= np.maximum(p[..., 1], q[..., 1]))
    )


# -- shapes -------------------------------------------------------------------------------------


def _theta(n: int) -> np.ndarray:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 3:
        raise ScenarioError(
            f"n: the number of vertices must be an integer ≥ 3, got {n!r}.", key="n"
        )
    return 2 * np.pi * np.arange(n) / n


def circle(n: int = 128, radius: float = 1.0, center: tuple[float, float] = (0.0, 0.0)):
    """A regular n-gon inscribed in the circle of the given radius."""
    th = _theta(n)
    return np.stack([center[0] + radius * np.cos(th), center[1] + radius * np.sin(th)], axis=1)


def ellipse(n: int = 128, a: float = 2.0, b: float = 1.0) -> np.ndarray:
    """The ellipse x²/a² + y²/b² = 1 sampled at equal parameter steps."""
    th = _theta(n)
    return np.stack([a * np.cos(th), b * np.sin(th)], axis=1)


def polar(r: Callable[[np.ndarray], np.ndarray], n: int = 128) -> np.ndarray:
    """The star-shaped curve ρ = r(θ) with n vertices equally spaced in arc length.

    The curve is sampled at 32n equal angles first and then resampled, so that the polygon
    starts with the equal edges the flow's tangential motion keeps (r must stay positive).
    """
    _theta(n)
    th = _theta(32 * n)
    rho = np.asarray(r(th), dtype=float)
    if rho.shape != th.shape or not np.all(np.isfinite(rho)) or np.any(rho <= 0):
        raise ScenarioError(
            "curve.r: the radius r(theta) must be finite and positive for every angle.",
            key="curve.r",
        )
    return resample(np.stack([rho * np.cos(th), rho * np.sin(th)], axis=1), n)


def flower(n: int = 128, petals: int = 5, amplitude: float = 0.3, radius: float = 1.0):
    """ρ = radius · (1 + amplitude · cos(petals · θ)); non-convex once amplitude is large enough."""
    return polar(lambda th: radius * (1 + amplitude * np.cos(petals * th)), n)


def peanut(n: int = 128, amplitude: float = 0.6) -> np.ndarray:
    """ρ = 1 + amplitude · cos 2θ: a non-convex peanut for amplitude > 1/5."""
    return polar(lambda th: 1 + amplitude * np.cos(2 * th), n)


def resample(X: Any, n: int) -> np.ndarray:
    """n vertices equally spaced in arc length along the polygon X (linear interpolation)."""
    X = np.asarray(X, dtype=float)
    P = np.vstack([X, X[:1]])
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(P, axis=0), axis=1))])
    t = np.linspace(0, s[-1], n, endpoint=False)
    return np.stack([np.interp(t, s, P[:, 0]), np.interp(t, s, P[:, 1])], axis=1)
