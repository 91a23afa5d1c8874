"""Basins of attraction: which minimum each point of a grid flows to.

Every grid point is integrated along the gradient flow in one batched, compiled solve (fixed-step
RK4 below the explicit stability limit of the box, each trajectory stopping on its own when
|∇V| < grad_tol). End points are grouped, polished to the minima by Newton's method, and each
start is labelled by its minimum. Starts that do not converge in time, or that end on a
critical point that is not a minimum (a saddle's stable manifold passes through the grid), get
their own labels and are counted, never silently assigned.

Reference: D. J. Wales, *Energy Landscapes* (Cambridge, 2003), ch. 4 (basins and catchment
regions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from ..flow import GradientFlow
from ..integrate.methods import RK4_STABILITY
from ..metric.metrics import Metric

UNCONVERGED = -1  #: the trajectory did not reach |∇V| < grad_tol by t1
NOT_A_MINIMUM = -2  #: it converged to a saddle or another non-minimum critical point


@dataclass
class BasinMap:
    """Labels of the minimum each grid point flows to, on a cell-centred grid.

    Attributes:
        x, y: the cell centres along each axis.
        labels: ``(ny, nx)`` ints: the index into ``minima``, or UNCONVERGED (−1) or
            NOT_A_MINIMUM (−2).
        minima: ``(k, 2)`` the minima found, polished by Newton; ``energies`` their V.
        fractions: ``(k,)`` the fraction of the box each basin covers (cells / all cells).
        unconverged, not_a_minimum: how many cells got those labels.
    """

    x: np.ndarray
    y: np.ndarray
    labels: np.ndarray
    minima: np.ndarray
    energies: np.ndarray
    fractions: np.ndarray
    unconverged: int
    not_a_minimum: int
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def boundary(self) -> np.ndarray:
        """``(ny, nx)`` bool: cells with a 4-neighbour of another label (the separatrices)."""
        L = self.labels
        b = np.zeros(L.shape, dtype=bool)
        dx = L[:, 1:] != L[:, :-1]
        dy = L[1:, :] != L[:-1, :]
        b[:, 1:] |= dx
        b[:, :-1] |= dx
        b[1:, :] |= dy
        b[:-1, :] |= dy
        return b

    def boundary_points(self) -> np.ndarray:
        """Midpoints between horizontally or vertically adjacent cells of different labels."""
        X, Y = np.meshgrid(self.x, self.y)
        L = self.labels
        h = L[:, 1:] != L[:, :-1]
        v = L[1:, :] != L[:-1, :]
        ph = np.stack([(X[:, 1:] + X[:, :-1])[h] / 2, Y[:, 1:][h]], axis=1)
        pv = np.stack([X[1:, :][v], (Y[1:, :] + Y[:-1, :])[v] / 2], axis=1)
        return np.concatenate([ph, pv])

    def to_xarray(self):
        import xarray as xr

        return xr.Dataset(
            {
                "label": (("y", "x"), self.labels.astype(np.int32)),
                "minimum_x": (("minimum", "component"), self.minima),
                "minimum_energy": (("minimum",), self.energies),
                "fraction": (("minimum",), self.fractions),
            },
            coords={
                "x": self.x,
                "y": self.y,
                "minimum": np.arange(len(self.minima)),
                "component": ["x", "y"],
            },
            attrs={
                "unconverged": self.unconverged,
                "not_a_minimum": self.not_a_minimum,
                "label_unconverged": UNCONVERGED,
                "label_not_a_minimum": NOT_A_MINIMUM,
            },
        )


def _grid(bounds: Any, resolution: Any) -> tuple[np.ndarray, np.ndarray]:
    b = np.asarray(bounds, dtype=float)
    if b.shape != (2, 2) or not np.all(np.isfinite(b)) or np.any(b[:, 0] >= b[:, 1]):
        raise ScenarioError(
            f"bounds: expected ((x_low, x_high), (y_low, y_high)) with low < high, got {bounds!r}.",
            key="bounds",
        )
    res = (resolution, resolution) if np.isscalar(resolution) else tuple(resolution)
    if len(res) != 2 or any(isinstance(r, bool) or int(r) != r or r < 2 for r in res):
        raise ScenarioError(
            f"resolution: expected an integer ≥ 2 or a pair (nx, ny), got {resolution!r}.",
            key="resolution",
        )
    nx, ny = (int(r) for r in res)
    x = b[0, 0] + (np.arange(nx) + 0.5) * (b[0, 1] - b[0, 0]) / nx
    y = b[1, 0] + (np.arange(ny) + 0.5) * (b[1, 1] - b[1, 0]) / ny
    return x, y


def _max_rate(flow: GradientFlow, pts: np.ndarray) -> float:
    """The largest eigenvalue of G⁻¹∇²V over some points (the stiffest rate of the flow)."""
    P = jnp.asarray(pts)
    H = np.asarray(flow.energy.hessian(P))
    G = np.asarray(jax.vmap(flow.metric.matrix)(P))
    lam = np.linalg.eigvals(np.linalg.solve(G, H)).real  # real: a symmetric-definite pencil
    return float(np.nanmax(lam))


def _newton(V: Potential, x: np.ndarray, iters: int = 30) -> tuple[np.ndarray, float]:
    x = np.asarray(x, dtype=float)
    for _ in range(iters):
        g = np.asarray(V.grad(jnp.asarray(x)))
        if np.linalg.norm(g) < 1e-13 * max(1.0, float(np.linalg.norm(x))):
            break
        H = np.asarray(V.hessian(jnp.asarray(x)))
        try:
            x = x - np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
    return x, float(np.linalg.norm(np.asarray(V.grad(jnp.asarray(x)))))


def basins(
    V: Potential,
    bounds: Any = None,
    resolution: Any = 200,
    *,
    metric: Metric | None = None,
    t1: float = 50.0,
    grad_tol: float = 1e-7,
    h: float | None = None,
) -> BasinMap:
    """The basin of attraction of every minimum of a 2-D potential, on a grid.

    Args:
        V: a 2-D :class:`Potential`.
        bounds: the box (default ``V.plot_bounds``).
        resolution: cells per axis, or ``(nx, ny)``.
        metric: the metric of the flow (basins depend on it; minima do not).
        t1: the longest flow time a start may take to converge.
        grad_tol: a start has converged when |∇V| < grad_tol.
        h: the RK4 step (default: half the explicit stability limit over the box).

    Examples:
        >>> import steepest as st
        >>> bm = st.landscape.basins(st.potentials.get("double-well"), resolution=40)
        >>> bm.fractions.round(3).tolist()
        [0.5, 0.5]
    """
    if not isinstance(V, Potential) or V.dim != 2:
        raise ScenarioError(
            f"basins: expected a 2-dimensional steepest.Potential, got {V!r}.", key="V"
        )
    x, y = _grid(V.plot_bounds if bounds is None else bounds, resolution)
    X, Y = np.meshgrid(x, y)
    pts = np.stack([X.ravel(), Y.ravel()], axis=1)
    E = np.asarray(V(pts))
    if not np.all(np.isfinite(E)):
        bad = pts[np.argmax(~np.isfinite(E))]
        raise ScenarioError(
            f"basins: V is not finite at ({bad[0]:.4g}, {bad[1]:.4g}) in the box; shrink the "
            "bounds or fix the energy.",
            key="V",
        )
    flow = GradientFlow(V, metric)
    if h is None:
        # half the RK4 stability limit of the stiffest place on a coarse sample of the box
        rate = _max_rate(flow, pts[:: max(1, len(pts) // 1000)])
        h = 0.5 * RK4_STABILITY / max(rate, 1e-12)
    from ..integrate.solve import solve

    sol = solve(
        flow,
        pts,
        t1=t1,
        method="rk4",
        h=h,
        grad_tol=grad_tol,
        n_save=2,
        save_state=False,
        errors="record",
    )
    conv = np.asarray(sol.status) == "converged"
    ends = np.asarray(sol.x_final)

    # group converged end points (they sit within ~grad_tol/λ of a critical point)
    diam = float(np.hypot(x[-1] - x[0], y[-1] - y[0]))
    minima: list[np.ndarray] = []
    others: list[np.ndarray] = []
    labels = np.full(len(pts), UNCONVERGED, dtype=np.int64)
    todo = np.flatnonzero(conv)
    while todo.size:
        c, _ = _newton(V, ends[todo[0]])
        near = np.linalg.norm(ends[todo] - c, axis=1) < 1e-4 * diam
        if not near[0]:  # Newton went elsewhere: the end point was not near a critical point
            near[0] = True
            c = ends[todo[0]]
        lam = np.linalg.eigvalsh(np.asarray(V.hessian(jnp.asarray(c))))
        if lam.min() > 0:
            labels[todo[near]] = len(minima)
            minima.append(c)
        else:
            labels[todo[near]] = NOT_A_MINIMUM
            others.append(c)
        todo = todo[~near]
    order = np.argsort([float(V(jnp.asarray(m))) for m in minima]) if minima else np.array([], int)
    remap = np.full(len(minima) + 2, 0)
    remap[order] = np.arange(len(order))
    labels = np.where(labels >= 0, remap[np.maximum(labels, 0)], labels)
    mins = np.array([minima[i] for i in order]).reshape(-1, 2)
    counts = np.array([(labels == k).sum() for k in range(len(mins))])
    return BasinMap(
        x=x,
        y=y,
        labels=labels.reshape(len(y), len(x)),
        minima=mins,
        energies=np.array([float(V(jnp.asarray(m))) for m in mins]),
        fractions=counts / len(pts),
        unconverged=int((labels == UNCONVERGED).sum()),
        not_a_minimum=int((labels == NOT_A_MINIMUM).sum()),
        stats={"h": h, "t1": t1, "grad_tol": grad_tol, **sol.stats},
    )
