"""Flows of functions: Allen–Cahn (the L² flow of Ginzburg–Landau: a disk shrinks by curvature),
Cahn–Hilliard (its H⁻¹ flow: spinodal decomposition, mass kept), and the harmonic map heat flow
into S² settling to a harmonic map."""

from __future__ import annotations

import warnings

import numpy as np

from .._section import saved

TITLE = "Flows of functions"
IDEA = (
    "A field c(x) can flow down a free energy F[c] too. In the L² metric the Ginzburg–Landau "
    "energy gives Allen–Cahn, ∂c/∂t = −(f′(c) − κΔc); in H⁻¹ it gives Cahn–Hilliard, "
    "∂c/∂t = ∇·(M∇(f′(c) − κΔc)), which conserves ∫c. A map u: Ω → S² flows down its "
    "Dirichlet energy ½∫|∇u|² to a harmonic map."
)


def run(ctx) -> None:
    from scipy.integrate import dblquad

    from steepest import fields as sf
    from steepest.geometry import sphere_maps as sm
    from steepest.geometry.corotational import corotational_flow
    from steepest.geometry.harmonic import harmonic_map_flow
    from steepest.geometry.map_domains import MapGrid

    # 1. Allen–Cahn: a disk of radius R0 shrinks as R² = R0² − 2t (motion by curvature)
    n = 64 if ctx.quick else 128
    grid = sf.SpectralGrid((n, n), (64.0, 64.0), origin=(-32.0, -32.0))
    x, y = grid.coordinates()
    R0 = 20.0
    ac = sf.L2Flow(grid, sf.ginzburg_landau())
    disk = np.tanh((R0 - np.hypot(x, y)) / np.sqrt(2))
    acs = sf.evolve(ac, disk, 80.0, dt=0.1, scheme="etdrk2", save_every=4.0)
    ac_fields = saved(acs.fields, "fields")
    r2 = np.array([np.sum(1 + c) / 2 * grid.cell_volume / np.pi for c in ac_fields])
    law = R0**2 - 2 * acs.t
    dev = float(np.max(np.abs(r2 - law)) / R0**2)
    ctx.check(
        f"Allen–Cahn: the disk's area follows R² = R0² − 2t to {100 * dev:.1f}% of R0² "
        f"(R² from {r2[0]:.1f} to {r2[-1]:.1f}; the law says {law[-1]:.1f} at t = {acs.t[-1]:g})",
        dev < 0.03,
    )
    ctx.check(
        f"Allen–Cahn: F fell at every one of {len(acs.t) - 1} saved intervals "
        f"(from {acs.energy[0]:.2f} to {acs.energy[-1]:.2f})",
        np.all(np.diff(acs.energy) <= 1e-12 * abs(acs.energy[0])),
    )

    # 2. Cahn–Hilliard: spinodal decomposition of PFHub benchmark 1's free energy
    m = 64 if ctx.quick else 128
    pg = sf.SpectralGrid((m, m), (100.0, 100.0))
    ch = sf.HMinus1Flow(pg, sf.pfhub1(), mobility=5.0)
    c0 = 0.5 + 0.05 * np.random.default_rng(1).standard_normal(pg.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sf.NonPeriodicWarning)
        chs = sf.evolve(
            ch,
            c0,
            300.0 if ctx.quick else 1000.0,
            dt=1.0,
            scheme="etdrk2",
            adaptive="error",
            rtol=1e-4,
            n_save=61,
        )
    mass_err = float(np.max(np.abs(np.asarray(chs.mass) - chs.mass[0])) / abs(chs.mass[0]))
    ctx.check(
        f"Cahn–Hilliard: ∫c conserved to {mass_err:.1e} over {chs.stats.get('steps', '?')} "
        "steps (the H⁻¹ flow moves mass, never makes it)",
        mass_err < 1e-12,
    )
    ctx.check(
        f"Cahn–Hilliard: F fell at every saved interval, {chs.energy[0]:.2f} → "
        f"{chs.energy[-1]:.2f}, while the field separated into c ≈ 0.3 and c ≈ 0.7 "
        f"(range now {float(chs.final.min()):.3f} to {float(chs.final.max()):.3f})",
        np.all(np.diff(chs.energy) <= 1e-12 * abs(chs.energy[0]))
        and chs.final.min() < 0.33
        and chs.final.max() > 0.67,
    )

    # 3. harmonic maps into S²: the corotational reduction relaxes to 4π sin²(b/2) ...
    b = 0.8 * np.pi
    cor = corotational_flow(b, n=100 if ctx.quick else 200, t1=20.0, n_save=40)
    exact = 4 * np.pi * np.sin(b / 2) ** 2
    ctx.check(
        f"corotational harmonic map flow on the disk, boundary angle {b / np.pi:.1f}π: energy "
        f"{cor.energy[-1]:.5f} against the harmonic map's 4π sin²(b/2) = {exact:.5f} "
        f"({100 * abs(cor.energy[-1] / exact - 1):.2f}%), decreasing at every step",
        abs(cor.energy[-1] / exact - 1) < 0.01 and all(cor.checks.values()),
    )
    # ... and a degree-one map on a square settles to the conformal map, |u| = 1 throughout
    k = 33 if ctx.quick else 65
    g = MapGrid.square(k, 8.0)
    X, Y = g.coordinates()
    u = sm.stereographic(X, Y, 1.0)
    bump = np.exp(-(X**2 + Y**2) / 4)[..., None] * np.array([0.8, 0.0, 0.3])
    u0 = (u + bump) / np.linalg.norm(u + bump, axis=-1, keepdims=True)
    hm = harmonic_map_flow(u0, g, t1=8.0, step=0.1, n_save=16)
    # the minimiser for this boundary data is the conformal map: E = ∫_{[−4,4]²} 4/(1 + r²)²
    conformal = dblquad(lambda yy, xx: 4 / (1 + xx * xx + yy * yy) ** 2, -4, 4, -4, 4)[0]
    gap = abs(hm.energy[-1] / conformal - 1)
    ctx.check(
        f"harmonic map heat flow on a {k}² grid: E fell at every step, to {hm.energy[-1]:.4f}, "
        f"the conformal map's energy ∫4/(1 + r²)² = {conformal:.4f} to {100 * gap:.1f}% "
        f"(the grid's O(dx²)); |u| = 1 to {float(np.max(hm.diagnostics['unit_length_error'])):.0e}",
        all(hm.checks.values()) and np.all(np.diff(hm.energy) < 0) and gap < 0.03,
    )

    with ctx.figure(
        "fields",
        "Top: Allen–Cahn shrinks a disk (left, the field at three times; right, R² against "
        "R0² − 2t). Bottom: Cahn–Hilliard spinodal decomposition (left, the field; right, F(t)).",
        nrows=2,
        ncols=2,
        figsize=(10, 8.4),
    ) as (fig, ax):
        for i, ls in zip((0, len(acs.t) // 2, len(acs.t) - 1), ("-", "--", ":"), strict=True):
            ax[0, 0].contour(x, y, ac_fields[i], levels=[0.0], colors="k", linestyles=ls)
        ax[0, 0].set_aspect("equal")
        ax[0, 0].set_title("c = 0 at t = 0, 40, 80")
        ax[0, 1].plot(acs.t, r2, "o", label="measured R²")
        ax[0, 1].plot(acs.t, law, "-", label="R0² − 2t")
        ax[0, 1].set_xlabel("t")
        ax[0, 1].legend()
        ax[1, 0].imshow(chs.final.T, origin="lower", cmap="RdBu_r")
        ax[1, 0].set_title(f"c at t = {chs.t[-1]:g}")
        ax[1, 1].plot(chs.t, chs.energy)
        ax[1, 1].set_xlabel("t")
        ax[1, 1].set_ylabel("F")
    with ctx.figure(
        "harmonic",
        "Left: the harmonic map flow of a perturbed degree-one map, u coloured by its "
        "components (RGB = (u+1)/2). Right: the energies of both harmonic map flows fall.",
        ncols=3,
        figsize=(13, 4.2),
    ) as (fig, (a, b2, c)):
        a.imshow(((hm.frames[0] + 1) / 2).transpose(1, 0, 2), origin="lower")
        a.set_title("u at t = 0")
        b2.imshow(((hm.final + 1) / 2).transpose(1, 0, 2), origin="lower")
        b2.set_title(f"u at t = {hm.t[-1]:g}")
        c.plot(hm.t, hm.energy, label="grid map")
        c.plot(cor.t, cor.energy, label="corotational")
        c.axhline(exact, ls=":", color="gray", label="4π sin²(b/2)")
        c.set_xlabel("t")
        c.set_ylabel("½∫|∇u|²")
        c.legend(fontsize=8)
    ctx.say(
        "Same energy, different metric, different physics: Allen–Cahn lets the phase field "
        "appear and vanish, so an interface moves by its curvature; Cahn–Hilliard must move "
        "material, so the mixture separates into domains that coarsen. The harmonic map flow "
        "is the same idea for a map into the sphere, with the constraint |u| = 1 kept at every "
        "step."
    )
