"""Figures and animations of geometric flows (curves, surfaces, maps into S², metrics).

:func:`geometry_figure` draws the shape at a few saved times beside its energy (and the flow's
key diagnostic); :func:`animate` writes the saved frames as a GIF. Only matplotlib here: the
numbers come from a :class:`~steepest.geometry.GeometricSolution`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _energy_axis(ax, sol, extra: str | None = None, log: bool = False):
    ax.plot(sol.t, sol.energy, "k.-", lw=1, ms=3, label=sol.energy_name)
    ax.set_xlabel("t")
    ax.set_ylabel("energy")
    ax.set_title(sol.energy_name, fontsize=8)
    if extra is not None and extra in sol.diagnostics:
        ax2 = ax.twinx()
        ax2.plot(sol.t, sol.diagnostics[extra], "C1.-", lw=1, ms=3)
        ax2.set_ylabel(extra.replace("_", " "), color="C1")
        if log:
            ax2.set_yscale("log")


def _picks(n: int, k: int = 5) -> list[int]:
    return sorted(set(np.linspace(0, n - 1, min(k, n)).round().astype(int).tolist()))


def _draw(ax, sol, i: int) -> None:
    """The shape of frame i on ``ax`` (a 3-D axis for surfaces)."""
    f = sol.flow
    if f == "curve-shortening":
        X = np.vstack([sol.frames[i], sol.frames[i][:1]])
        ax.plot(X[:, 0], X[:, 1], color="k")
        ax.set_aspect("equal")
    elif f in ("mean-curvature", "conformal-mean-curvature"):
        V = sol.frames[i]
        ax.plot_trisurf(
            V[:, 0],
            V[:, 1],
            V[:, 2],
            triangles=sol.extra["faces"],
            color="0.75",
            edgecolor="0.3",
            linewidth=0.1,
        )
        _equal3d(ax, sol.frames[0])
    elif f == "harmonic-map":
        u = sol.frames[i]
        if "faces" in sol.extra:
            ax.tripcolor(*_xy(sol), sol.extra["faces"], u[:, 2], vmin=-1, vmax=1, cmap="RdBu")
            ax.set_aspect("equal")
        else:
            ax.imshow(np.transpose((u + 1) / 2, (1, 0, 2)), origin="lower", interpolation="nearest")
    elif f == "corotational-harmonic-map":
        ax.plot(sol.extra["r"], sol.frames[i], color="k")
        ax.set_xlabel("r")
        ax.set_ylabel("h")
    elif f in ("ricci", "normalized-ricci"):
        V, F = sol.extra["vertices"], sol.extra["faces"]
        u = sol.frames[i]
        ax.tripcolor(np.arctan2(V[:, 1], V[:, 0]), V[:, 2], u, shading="gouraud", cmap="viridis")
        ax.set_xlabel("longitude")
        ax.set_ylabel("z")
    elif f == "discrete-ricci":
        F = sol.extra["faces"]
        uv = sol.extra.get("uv")
        if uv is not None and i == len(sol.t) - 1:
            ax.tripcolor(uv[:, 0], uv[:, 1], F, sol.frames[i], cmap="viridis")
            ax.triplot(uv[:, 0], uv[:, 1], F, color="k", lw=0.2)
        else:
            V = sol.extra["vertices"]
            ax.tripcolor(V[:, 0], V[:, 1], F, sol.frames[i], cmap="viridis")
        ax.set_aspect("equal")
    elif f in ("ricci-s3", "ricci-s1xs2"):
        s = sol.extra["sigma"] * sol.diagnostics["length"][i]
        ax.plot(s, sol.frames[i], color="k")
        ax.plot(s, -sol.frames[i], color="k")
        ax.set_aspect("equal")
        ax.set_xlabel("s")
    else:
        raise ValueError(f"no drawing for the flow {f!r}")


def _xy(sol):
    return sol.extra["xy"][:, 0], sol.extra["xy"][:, 1]


def _equal3d(ax, V):
    c = V.mean(axis=0)
    r = np.abs(V - c).max()
    ax.set_xlim(c[0] - r, c[0] + r)
    ax.set_ylim(c[1] - r, c[1] + r)
    ax.set_zlim(c[2] - r, c[2] + r)
    ax.set_axis_off()


_KEY = {
    "curve-shortening": ("isoperimetric_ratio", False),
    "mean-curvature": ("sphericity", False),
    "conformal-mean-curvature": ("sphericity", True),
    "harmonic-map": ("velocity", True),
    "corotational-harmonic-map": ("scale", True),
    "ricci": ("K_deviation", True),
    "normalized-ricci": ("K_deviation", True),
    "discrete-ricci": ("curvature_error", True),
    "ricci-s3": ("neck", False),
    "ricci-s1xs2": ("psi_max", False),
}


def geometry_figure(sol: Any, title: str | None = None):
    """The shape at the start, middle and end (curves and profiles overlaid) and the energy."""
    import matplotlib.pyplot as plt

    f = sol.flow
    surface = f in ("mean-curvature", "conformal-mean-curvature")
    overlay = f in ("curve-shortening", "corotational-harmonic-map", "ricci-s3", "ricci-s1xs2")
    if overlay:
        fig, (ax, axe) = plt.subplots(1, 2, figsize=(10, 4.2))
        picks = _picks(len(sol.t), 6)
        for k, i in enumerate(picks):
            lines = len(ax.lines)
            _draw(ax, sol, i)
            for ln in ax.lines[lines:]:
                ln.set_color(plt.cm.viridis(k / max(len(picks) - 1, 1)))
                ln.set_label(f"t = {sol.t[i]:.3g}" if ln is ax.lines[lines] else None)
        ax.legend(fontsize=7)
        axes = [axe]
    else:
        fig = plt.figure(figsize=(12, 4))
        picks = [0, len(sol.t) - 1]
        for k, i in enumerate(picks):
            ax = fig.add_subplot(1, 3, k + 1, projection="3d" if surface else None)
            _draw(ax, sol, i)
            ax.set_title(f"t = {sol.t[i]:.4g}", fontsize=9)
        axes = [fig.add_subplot(1, 3, 3)]
    key, log = _KEY.get(f, (None, False))
    _energy_axis(axes[0], sol, key, log)
    fig.suptitle(title or f"{f}: {sol.status}", fontsize=10)
    fig.tight_layout()
    return fig


def animate(sol: Any, path: str | Path, *, fps: int = 8) -> Path:
    """Write the saved frames of a geometric flow as an animated GIF (matplotlib + Pillow)."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    surface = sol.flow in ("mean-curvature", "conformal-mean-curvature")
    fig = plt.figure(figsize=(5, 4.5))
    ax = fig.add_subplot(projection="3d" if surface else None)

    def frame(i):
        ax.clear()
        _draw(ax, sol, i)
        ax.set_title(f"{sol.flow}  t = {sol.t[i]:.4g}", fontsize=9)

    anim = FuncAnimation(fig, frame, frames=len(sol.t))
    path = Path(path)
    anim.save(path, writer=PillowWriter(fps=fps))
    plt.close(fig)
    return path
