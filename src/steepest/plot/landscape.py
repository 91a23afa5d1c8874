"""Figures of a 2-D landscape: contours, trajectories, and energy against time.

Plotting never computes physics: it reads a Potential (for the contour values) and a Solution.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _plt():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            import matplotlib.pyplot as plt  # noqa: F401
        except Exception:  # no display: fall back to files only
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def contour(V, ax=None, bounds=None, n: int = 200, levels: int = 30, clip: float = 0.9) -> Any:
    """Filled contours of a 2-D potential over ``bounds`` (default its plot bounds).

    Energies above the ``clip`` quantile are drawn in one colour so that steep walls (e.g. the
    corners of Müller–Brown) do not wash out the basins.
    """
    if V.dim != 2:
        raise ValueError(f"contour: the potential is {V.dim}-dimensional; contours need 2.")
    plt = _plt()
    ax = ax or plt.gca()
    (x0, x1), (y0, y1) = bounds or V.plot_bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    Z = np.asarray(V(np.stack([X, Y], axis=-1)))
    finite = Z[np.isfinite(Z)]
    hi = np.quantile(finite, clip) if finite.size else 1.0
    lo = finite.min() if finite.size else 0.0
    lv = np.linspace(lo, hi, levels)
    cs = ax.contourf(X, Y, np.clip(Z, lo, hi), levels=lv, cmap="viridis")
    ax.contour(X, Y, np.clip(Z, lo, hi), levels=lv, colors="k", linewidths=0.3, alpha=0.5)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return cs


def trajectories(sol, ax=None, max_lines: int = 200, color: str = "white") -> None:
    """Draw the saved trajectories of a 2-D solution: start (o), path, end (x)."""
    if sol.x is None:
        return
    plt = _plt()
    ax = ax or plt.gca()
    xs = sol.x if sol.batched else sol.x[None]
    if xs.shape[-1] != 2:
        raise ValueError("trajectories: the solution is not 2-dimensional.")
    idx = np.linspace(0, len(xs) - 1, min(len(xs), max_lines)).astype(int)
    for i in np.unique(idx):
        ax.plot(xs[i, :, 0], xs[i, :, 1], "-", color=color, lw=1.0, alpha=0.9)
        ax.plot(xs[i, 0, 0], xs[i, 0, 1], "o", color=color, ms=3)
        ax.plot(xs[i, -1, 0], xs[i, -1, 1], "x", color="red", ms=5)


def energy(sol, ax=None, max_lines: int = 200) -> None:
    """Energy against flow time for each trajectory (never increasing for a gradient flow)."""
    plt = _plt()
    ax = ax or plt.gca()
    E = sol.energy if sol.batched else sol.energy[None]
    idx = np.unique(np.linspace(0, len(E) - 1, min(len(E), max_lines)).astype(int))
    for i in idx:
        ax.plot(sol.t, E[i], lw=1.0)
    ax.set_xlabel("t")
    ax.set_ylabel("V(x(t))")
    ax.set_title("energy along the flow")


def landscape_figure(V, sol=None, title: str | None = None):
    """A figure with the contour map and trajectories (2-D) and the energy curves."""
    plt = _plt()
    two_d = V.dim == 2
    fig, axes = plt.subplots(1, 2 if two_d else 1, figsize=(11 if two_d else 6, 4.8), squeeze=False)
    if two_d:
        cs = contour(V, axes[0, 0])
        fig.colorbar(cs, ax=axes[0, 0], label="V")
        if sol is not None:
            trajectories(sol, axes[0, 0])
        axes[0, 0].set_title(V.name if len(V.name) < 40 else "V(x, y)")
    if sol is not None:
        energy(sol, axes[0, -1])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
