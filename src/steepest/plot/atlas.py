"""The landscape atlas: contours with critical points by kind, manifolds, coloured basins."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .landscape import _plt, contour

MARKERS = {  # kind → (marker, colour, label)
    "minimum": ("o", "tab:blue", "minimum"),
    "saddle": ("X", "tab:orange", "saddle"),
    "maximum": ("^", "tab:red", "maximum"),
    "degenerate": ("*", "black", "degenerate"),
}


def critical_points(points: Iterable[Any], ax=None) -> None:
    """Mark critical points by kind (minimum o, saddle X, maximum ^, degenerate *)."""
    plt = _plt()
    ax = ax or plt.gca()
    seen = set()
    for cp in points:
        marker, colour, label = MARKERS.get(cp.kind, MARKERS["degenerate"])
        ax.plot(
            cp.x[0],
            cp.x[1],
            marker,
            color=colour,
            ms=9,
            mec="white",
            mew=1.2,
            label=None if cp.kind in seen else label,
            zorder=5,
        )
        seen.add(cp.kind)
    if seen:
        ax.legend(loc="upper right", fontsize=8, framealpha=0.8)


def manifolds(mf: Any, ax=None) -> None:
    """Draw the unstable (solid) and stable (dashed) branches of a saddle's manifolds."""
    plt = _plt()
    ax = ax or plt.gca()
    for br in getattr(mf, "unstable", []):
        p = np.asarray(br.points)
        ax.plot(p[:, 0], p[:, 1], "-", color="white", lw=1.6, zorder=4)
    for br in getattr(mf, "stable", []):
        p = np.asarray(br.points)
        ax.plot(p[:, 0], p[:, 1], "--", color="white", lw=1.2, zorder=4)


def basins(bm: Any, ax=None, alpha: float = 0.45) -> None:
    """Colour each cell by the basin it belongs to; unconverged cells grey; separatrices black."""
    plt = _plt()
    ax = ax or plt.gca()
    from matplotlib.colors import ListedColormap

    k = len(bm.minima)
    colours = plt.get_cmap("tab10")(np.arange(max(k, 1)) % 10)
    cmap = ListedColormap(np.vstack([[0.5, 0.5, 0.5, 1.0], [0.2, 0.2, 0.2, 1.0], colours]))
    shown = np.where(bm.labels >= 0, bm.labels + 2, bm.labels + 2)  # −2 → 0, −1 → 1
    dx, dy = bm.x[1] - bm.x[0], bm.y[1] - bm.y[0]
    extent = (bm.x[0] - dx / 2, bm.x[-1] + dx / 2, bm.y[0] - dy / 2, bm.y[-1] + dy / 2)
    ax.imshow(
        shown,
        origin="lower",
        extent=extent,
        cmap=cmap,
        vmin=0,
        vmax=k + 1,
        alpha=alpha,
        interpolation="nearest",
        aspect="auto",
        zorder=2,
    )
    b = bm.boundary_points()
    if len(b):
        ax.plot(b[:, 0], b[:, 1], ",", color="black", zorder=3)


def atlas_figure(
    V: Any,
    points: Iterable[Any] = (),
    mfs: Iterable[Any] = (),
    bm: Any = None,
    title: str | None = None,
):
    """One figure: contours, basins (if given), manifolds, critical points."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 6))
    cs = contour(V, ax)
    fig.colorbar(cs, ax=ax, label="V")
    if bm is not None:
        basins(bm, ax)
    for mf in mfs:
        manifolds(mf, ax)
    critical_points(list(points), ax)
    (x0, x1), (y0, y1) = V.plot_bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_title(title or f"{V.name}: the landscape atlas")
    fig.tight_layout()
    return fig
