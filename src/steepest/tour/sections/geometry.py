"""Geometry flows downhill too: curve shortening (the gradient flow of length) makes a
non-convex curve convex and round; Ricci flow of a surface's metric drives its curvature to a
constant — the surface is "rounded" — with Gauss–Bonnet kept at every step."""

from __future__ import annotations

import numpy as np

TITLE = "Geometry flows downhill too"
IDEA = (
    "Shapes have energies as well: a curve's length, a surface's area, a metric's total "
    "curvature. Curve shortening is the L² gradient flow of length (the curve moves with "
    "velocity κN), and Ricci flow evolves a metric by its own curvature until the curvature is "
    "the same everywhere."
)


def run(ctx) -> None:
    from steepest.geometry import curves, meshes
    from steepest.geometry.csf import curve_shortening
    from steepest.geometry.ricci_surface import conformal_curvature, ricci_flow_surface

    # 1. curve shortening of a non-convex curve (Gage–Hamilton–Grayson)
    X0 = curves.peanut(128 if ctx.quick else 256, amplitude=0.6)
    sol = curve_shortening(X0, n_save=40)
    d = sol.diagnostics
    k = max(2, int(0.9 * len(sol.t)))
    rate = float(np.polyfit(sol.t[:k], d["area"][:k], 1)[0])
    first_convex = int(np.argmax(d["convex"])) if np.any(d["convex"]) else None
    ctx.check(
        f"the peanut loses area at dA/dt = {rate:.4f}, against −2π = {-2 * np.pi:.4f} "
        "(any embedded closed curve, whatever its shape)",
        abs(rate / (-2 * np.pi) - 1) < 0.02,
    )
    ctx.check(
        f"its length fell at every saved step ({sol.energy[0]:.3f} → {sol.energy[-1]:.3f}); it "
        f"was non-convex at t = 0 and convex from t = "
        f"{sol.t[first_convex] if first_convex is not None else float('nan'):.3f} on",
        bool(not d["convex"][0] and first_convex is not None and np.all(d["convex"][first_convex:]))
        and np.all(np.diff(sol.energy) <= 0),
    )
    ratio = d["isoperimetric_ratio"]
    ctx.check(
        f"the isoperimetric ratio L²/4πA went from {ratio[0]:.3f} to {ratio[-1]:.4f} → 1 "
        "(Grayson: it becomes round before it vanishes)",
        ratio[-1] < 1.01 and ratio[-1] < ratio[0],
    )

    # 2. normalised Ricci flow on an ellipsoid's metric: K → 4π/A, area and ΣK·A kept
    mesh = meshes.ellipsoid(2 if ctx.quick else 3, axes=(1.6, 1.0, 0.7))
    rf = ricci_flow_surface(mesh, normalized=True, t1=6.0, step=0.05, n_save=12, tol=1e-6)
    rd = rf.diagnostics
    Kbar = float(rd["K_mean"][-1])
    ctx.check(
        f"Ricci flow of the ellipsoid's metric: max|K − K̄| went from {rd['K_deviation'][0]:.3f} "
        f"to {rd['K_deviation'][-1]:.1e}, with K̄ = 4π/A = {Kbar:.5f}",
        rd["K_deviation"][-1] < 1e-3 * Kbar,
    )
    ctx.check(
        f"Gauss–Bonnet ΣK dA = 2πχ = 4π held at every saved step to "
        f"{float(np.max(np.abs(rd['gauss_bonnet_error']))):.1e}, and the area stayed "
        f"{float(rd['area'][0]):.6f} (drift {float(np.ptp(rd['area'])):.1e})",
        np.max(np.abs(rd["gauss_bonnet_error"])) < 1e-10
        and np.ptp(rd["area"]) < 1e-9 * rd["area"][0],
    )
    K0 = conformal_curvature(mesh, np.zeros(mesh.n_vertices))
    K1 = conformal_curvature(mesh, rf.final)

    with ctx.figure(
        "curves",
        "Curve shortening of a non-convex peanut: it turns convex, then round, losing area at "
        "exactly 2π per unit time.",
        ncols=2,
        figsize=(10, 4.4),
    ) as (fig, (a, b)):
        for i in range(0, len(sol.t), max(1, len(sol.t) // 8)):
            f = sol.frames[i]
            a.plot(*np.vstack([f, f[:1]]).T, lw=1)
        a.set_aspect("equal")
        a.set_title("the curve every few steps")
        b.plot(sol.t, d["area"], label="area")
        b.plot(sol.t, d["area"][0] - 2 * np.pi * sol.t, "k:", label="A(0) − 2πt")
        b.plot(sol.t, ratio, label="L²/4πA")
        b.set_xlabel("t")
        b.legend(fontsize=8)
    with ctx.figure(
        "ricci",
        "Ricci flow on an ellipsoid's metric: the Gaussian curvature K at the vertices, before "
        "(left) and after (middle, same colour scale) — constant 4π/A — and its spread falling "
        "(right).",
        ncols=3,
        figsize=(14, 4.4),
        subplot_kw={"projection": "3d"},
    ) as (fig, (a, b, c)):
        V = mesh.vertices
        lo, hi = float(min(K0.min(), K1.min())), float(max(K0.max(), K1.max()))
        F = mesh.faces
        for ax, K, title in ((a, K0, "K at t = 0"), (b, K1, f"K at t = {rf.t[-1]:.2f}")):
            surf = ax.plot_trisurf(V[:, 0], V[:, 1], V[:, 2], triangles=F, linewidth=0.1)
            surf.set_array(K[F].mean(axis=1))
            surf.set_cmap("viridis")
            surf.set_clim(lo, hi)
            ax.set_title(title)
            ax.set_box_aspect((1.6, 1.0, 0.7))
            ax.set_axis_off()
        c.remove()
        c = fig.add_subplot(1, 3, 3)
        c.semilogy(rf.t, rd["K_deviation"])
        c.set_xlabel("t")
        c.set_ylabel("max |K − K̄|")
    ctx.say(
        "Both flows erase detail at the rate the geometry allows: curvature drives the curve "
        "inward where it bends most, and Ricci flow spreads curvature out like heat. Hamilton "
        "and Perelman used the three-dimensional Ricci flow the same way to prove the Poincaré "
        "conjecture; steepest's rotationally symmetric S³ flow shows its neck pinch."
    )
