"""Figures of field runs: the energy curve, field snapshots, an animation; transport profiles,
flux arrows and the entropy balance.

Plotting never computes physics: it reads a stored run (an ``xarray.Dataset`` from
:func:`steepest.fields.open_run`) or a :class:`~steepest.fields.transport.TransportSolution`.
Animations use matplotlib's Pillow writer (GIF, no ffmpeg needed), or MP4 when ffmpeg exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .landscape import _plt

MAX_FRAMES = 40
#: animation resolution: GIF encoding (colour quantisation) costs per pixel
DPI = 72


def energy_curve(ds: Any, ax: Any = None, title: str = "") -> Any:
    """F against t (log-scaled time when it spans decades, as PFHub plots it)."""
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    t = np.asarray(ds["time"])
    F = np.asarray(ds["free_energy"])
    ok = np.isfinite(F)
    ax.plot(t[ok], F[ok], "-", lw=1.6, color="C0")
    if ok.sum() > 2 and t[ok][1] > 0 and t[ok][-1] / t[ok][1] > 100:
        ax.set_xscale("log")
    ax.set_xlabel("time")
    ax.set_ylabel("free energy F")
    ax.set_title(title or "free energy")
    ax.grid(alpha=0.3)
    return ax


def _show(ax: Any, c: np.ndarray, extent: Any, vmin: float, vmax: float) -> Any:
    if c.ndim == 1:
        ax.plot(np.linspace(extent[0], extent[1], c.size), c, lw=1.4)
        ax.set_ylim(vmin - 0.05 * (vmax - vmin), vmax + 0.05 * (vmax - vmin))
        return None
    if c.ndim == 3:
        c = c[:, :, c.shape[2] // 2]  # the mid-plane of a 3-D field
    return ax.imshow(
        c.T, origin="lower", extent=extent, vmin=vmin, vmax=vmax, cmap="RdBu_r", aspect="equal"
    )


def _extent(obj: Any) -> list[float]:
    g = obj.grid if hasattr(obj, "grid") else obj.model.grid
    ext = []
    for a in range(min(g.ndim, 2)):
        ext += [g.origin[a], g.origin[a] + g.lengths[a]]
    return ext


def _reached(ds: Any) -> np.ndarray:
    """The stored field times the run reached (a run that stopped early left the rest empty)."""
    times = np.asarray(ds["field_time"])
    done = np.asarray(ds["time"])[np.isfinite(np.asarray(ds["free_energy"]))]
    return times[times <= (done.max() if done.size else -np.inf)]


def snapshots(ds: Any, flow: Any, n: int = 4, title: str = "") -> Any:
    """Up to ``n`` stored fields, evenly spread over the run, on one colour scale."""
    plt = _plt()
    times = _reached(ds)
    idx = np.unique(np.linspace(0, len(times) - 1, min(n, len(times))).round().astype(int))
    frames = list(np.asarray(ds["c"].isel(field_time=idx)))
    lo = min(float(np.nanmin(f)) for f in frames)
    hi = max(float(np.nanmax(f)) for f in frames)
    fig, axes = plt.subplots(1, len(idx), figsize=(3.2 * len(idx), 3.3), squeeze=False)
    im = None
    for ax, i, f in zip(axes[0], idx, frames, strict=True):
        im = _show(ax, f, _extent(flow), lo, hi) or im
        ax.set_title(f"t = {times[i]:g}")
    if im is not None:
        fig.colorbar(im, ax=list(axes[0]), shrink=0.8, label="c")
    if title:
        fig.suptitle(title)
    return fig


def animate(ds: Any, flow: Any, path: Path, *, fps: int = 8) -> Path | None:
    """An animation of the stored fields: MP4 when ffmpeg is available, else a GIF (Pillow).

    Returns the file written, or None when fewer than two fields are stored.
    """
    from matplotlib import animation

    plt = _plt()
    times = _reached(ds)
    if len(times) < 2:
        return None
    idx = np.unique(np.linspace(0, len(times) - 1, min(MAX_FRAMES, len(times))).astype(int))
    frames = np.asarray(ds["c"].isel(field_time=idx))  # one read of the store
    lo, hi = float(np.nanmin(frames)), float(np.nanmax(frames))
    fig, ax = plt.subplots(figsize=(4, 4))
    ext = _extent(flow)
    art = _show(ax, frames[0], ext, lo, hi)
    line = ax.lines[0] if frames.ndim == 2 else None
    if line is None:  # ticks cost as much to draw as the image: the title says the time
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title(f"t = {times[idx[-1]]:g}")  # the widest title, for the layout
    fig.tight_layout()

    def draw(j: int) -> list:
        f = frames[j] if frames.ndim != 4 else frames[j][:, :, frames.shape[3] // 2]
        if line is not None:
            line.set_ydata(f)
        else:
            art.set_data(f.T)  # redraw only the image, not the axes
        ax.set_title(f"t = {times[idx[j]]:g}")
        return []

    anim = animation.FuncAnimation(fig, draw, frames=len(frames), blit=False)
    if animation.writers.is_available("ffmpeg"):
        path = path.with_suffix(".mp4")
        anim.save(str(path), writer=animation.FFMpegWriter(fps=fps), dpi=DPI)
    else:
        path = path.with_suffix(".gif")
        anim.save(str(path), writer=animation.PillowWriter(fps=fps), dpi=DPI)
    plt.close(fig)
    return path


def flow_figures(
    ds: Any, flow: Any, out: Path, *, title: str = "", animation: bool = True
) -> list[str]:
    """energy.png, fields.png and the animation of a stored gradient-flow run; the names."""
    plt = _plt()
    out = Path(out)
    files = []
    fig, ax = plt.subplots(figsize=(5.5, 4))
    energy_curve(ds, ax, title=title)
    fig.tight_layout()
    fig.savefig(out / "energy.png", dpi=110)
    plt.close(fig)
    files.append("energy.png")
    if "c" in ds and len(_reached(ds)):
        fig = snapshots(ds, flow, title=title)
        fig.savefig(out / "fields.png", dpi=100)
        plt.close(fig)
        files.append("fields.png")
        if animation:
            written = animate(ds, flow, out / "animation")
            if written is not None:
                files.append(written.name)
    return files


def transport_figures(sol: Any, out: Path, *, title: str = "") -> list[str]:
    """transport.png (fields with flux arrows) and entropy.png (the entropy balance)."""
    plt = _plt()
    out = Path(out)
    g = sol.model.grid
    names = list(sol.fields)
    fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 3.8), squeeze=False)
    idx = np.unique(np.linspace(0, len(sol.t) - 1, 5).round().astype(int))
    for ax, v in zip(axes[0], names, strict=True):
        if g.ndim == 1:
            x = g.axis_points(0)
            for i in idx:
                ax.plot(x, sol.fields[v][i], lw=1.3, label=f"t = {sol.t[i]:.3g}")
            ax.set_xlabel("x")
            ax.legend(fontsize=7)
        else:
            i_show = min(len(sol.t) - 1, max(1, len(sol.t) // 5))  # while fluxes are strong
            c = sol.fields[v][i_show]
            c = c if c.ndim == 2 else c[:, :, c.shape[2] // 2]
            im = ax.imshow(c.T, origin="lower", extent=_extent(sol), cmap="inferno", aspect="equal")
            fig.colorbar(im, ax=ax, shrink=0.8)
            flux = sol.cell_flux(i_show)["q" if v == "T" else v]
            X, Y = g.coordinates()[:2]
            step = max(1, max(g.shape[:2]) // 16)
            sl: tuple[Any, ...] = (slice(None, None, step), slice(None, None, step))
            if g.ndim == 3:
                sl = (*sl, g.shape[2] // 2)  # the mid-plane
            X, Y = X[sl], Y[sl]
            U, W = flux[0][sl], flux[1][sl]
            if np.any(np.hypot(U, W) > 0):  # an all-zero field has no arrows to scale
                ax.quiver(X, Y, U, W, color="w", alpha=0.8)
        ax.set_title(v if g.ndim == 1 else f"{v} and its flux at t = {sol.t[i_show]:.3g}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out / "transport.png", dpi=100)
    plt.close(fig)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    a1.plot(sol.t, sol.entropy - sol.entropy[0], lw=2, label="S(t) − S(0)")
    a1.plot(sol.t, sol.produced, "--", lw=1.5, label="∫σ dt")
    a1.set_xlabel("time")
    a1.legend()
    a1.set_title("entropy balance")
    pos = sol.sigma_total > 0
    if pos.any():
        a2.semilogy(sol.t[pos], sol.sigma_total[pos], lw=1.5)
    a2.set_xlabel("time")
    a2.set_title("entropy production σ_total ≥ 0")
    for a in (a1, a2):
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "entropy.png", dpi=100)
    plt.close(fig)
    return ["transport.png", "entropy.png"]
