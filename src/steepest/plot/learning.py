"""Figures of training as a flow: loss and sharpness against 2/h, 2-D slices of the loss
landscape with the trajectories on them, and the canyon picture (oscillation across the sharp
direction, crawl along the flat one).

Plotting computes no dynamics: it reads Solutions and Trajectories, and evaluates the loss on a
grid only to draw its contours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .landscape import _plt


def training_figure(runs: Sequence[Any], title: str | None = None):
    """Loss, sharpness λ_max (with 2/h dotted) and |θ_GD − θ_flow| against time for one or
    more :class:`~steepest.learning.Trajectories` (the edge-of-stability figure)."""
    plt = _plt()
    runs = list(runs)
    with_sharp = any(tr.sharpness_gd is not None for tr in runs)
    ncols = 3 if with_sharp else 2
    fig, axes = plt.subplots(1, ncols, figsize=(4.6 * ncols, 3.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, tr in enumerate(runs):
        c = colors[i % len(colors)]
        method = str(tr.gd.settings.get("method", "gd"))
        label = f"{'GD' if method == 'euler' else method} h = {tr.h:g}"
        axes[0].plot(tr.t, tr.loss_gd, color=c, lw=1.2, label=label)
        axes[0].plot(tr.t, tr.loss_flow, color=c, lw=1.0, ls="--", label="flow" if i == 0 else None)
        if with_sharp and tr.sharpness_gd is not None:
            axes[1].plot(tr.t, tr.sharpness_gd, color=c, lw=1.2, label=label)
            axes[1].plot(tr.t, tr.sharpness_flow, color=c, lw=1.0, ls="--")
            axes[1].axhline(2.0 / tr.h, color=c, ls=":", lw=1.0)
        axes[-1].plot(tr.t[1:], np.maximum(tr.distance[1:], 1e-300), color=c, lw=1.2)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("t = kh")
    axes[0].set_ylabel("loss L(θ)")
    axes[0].legend(fontsize=8)
    if with_sharp:
        axes[1].set_xlabel("t = kh")
        axes[1].set_ylabel("sharpness λ_max(∇²L)  (dotted: 2/h)")
    axes[-1].set_yscale("log")
    axes[-1].set_xlabel("t = kh")
    axes[-1].set_ylabel("|θ_k − θ_flow(kh)|")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _grid_values(loss, center, d1, d2, a, b):
    A, B = np.meshgrid(a, b)
    pts = center[None, None, :] + A[..., None] * d1 + B[..., None] * d2
    Z = np.asarray(loss(pts.reshape(-1, pts.shape[-1]))).reshape(A.shape)
    return A, B, Z


def landscape_slice(
    loss,
    solutions: Sequence[Any],
    *,
    center: Any = None,
    directions: tuple[Any, Any] | None = None,
    labels: Sequence[str] | None = None,
    ax=None,
    n: int = 61,
    margin: float = 0.25,
):
    """Contours of L on the plane θ_c + a·d₁ + b·d₂ with the saved iterates of each solution
    projected onto it. Default plane: through the first start, d₁ along the first solution's
    displacement θ_end − θ₀, d₂ the part of the second solution's displacement (or of the
    first's largest excursion) orthogonal to d₁."""
    plt = _plt()
    ax = ax or plt.gca()
    xs = [np.asarray(s.x) for s in solutions]
    c = np.asarray(xs[0][0] if center is None else center, dtype=float)
    if directions is None:
        d1 = xs[0][-1] - c
        other = xs[1] - c if len(xs) > 1 else xs[0] - c
        other = other[
            np.argmax(np.linalg.norm(other - np.outer(other @ d1, d1) / (d1 @ d1), axis=1))
        ]
        d1 = d1 / max(np.linalg.norm(d1), 1e-300)
        d2 = other - (other @ d1) * d1
        d2 = d2 / max(np.linalg.norm(d2), 1e-300)
    else:
        d1, d2 = (np.asarray(d, dtype=float) for d in directions)
    proj = [np.stack([(x - c) @ d1, (x - c) @ d2], axis=-1) for x in xs]
    allp = np.concatenate(proj)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    a = np.linspace(lo[0] - margin * span[0], hi[0] + margin * span[0], n)
    b = np.linspace(lo[1] - margin * span[1], hi[1] + margin * span[1], n)
    A, B, Z = _grid_values(loss, c, d1, d2, a, b)
    finite = Z[np.isfinite(Z)]
    top = np.quantile(finite, 0.95) if finite.size else 1.0
    ax.contourf(A, B, np.clip(Z, finite.min(), top), levels=30, cmap="viridis")
    ax.contour(A, B, np.clip(Z, finite.min(), top), levels=30, colors="k", linewidths=0.3)
    names = list(labels or [s.settings.get("method", f"run {i}") for i, s in enumerate(solutions)])
    for p, name, col in zip(proj, names, ("w", "orange", "r", "c"), strict=False):
        ax.plot(p[:, 0], p[:, 1], "-", color=col, lw=1.0, marker=".", ms=3, label=str(name))
        ax.plot(p[0, 0], p[0, 1], "o", color=col, ms=5)
    ax.set_xlabel("d₁")
    ax.set_ylabel("d₂")
    ax.legend(fontsize=8, loc="best")
    return ax


def canyon_figure(loss, sol, *, minimum: Any, across: Any, title: str | None = None):
    """The canyon picture: the iterates in the plane spanned by the sharp direction ``across``
    (the top Hessian eigenvector) and the flat direction along which they crawl, with the loss
    contours; and both coordinates against the step (oscillation across, crawl along)."""
    plt = _plt()
    x = np.asarray(sol.x)
    m = np.asarray(minimum, dtype=float)
    u = np.asarray(across, dtype=float)
    u = u / np.linalg.norm(u)
    rest = (x - m) - np.outer((x - m) @ u, u)
    w = rest[0] if np.linalg.norm(rest[0]) > 0 else np.eye(len(u))[np.argmin(np.abs(u))]
    w = w - (w @ u) * u
    w = w / np.linalg.norm(w)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    landscape_slice(loss, [sol], center=m, directions=(w, u), ax=ax0, labels=["iterates"])
    ax0.set_xlabel("along the canyon (flat direction)")
    ax0.set_ylabel("across (top eigenvector)")
    k = np.arange(len(x)) * int(sol.settings.get("every") or 1)
    ax1.plot(k, (x - m) @ u, ".-", ms=3, lw=0.8, label="across: oscillates")
    ax1.plot(k, (x - m) @ w, "-", lw=1.4, label="along: crawls")
    ax1.axhline(0.0, color="k", lw=0.5)
    ax1.set_xlabel("step k")
    ax1.set_ylabel("coordinate of θ_k − θ*")
    ax1.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
