"""Flux follows the gradient: Fourier's law q = −k∇T in a rod, Fick's law J = −D∇c in a box;
heat and mass are conserved, and the entropy they produce is never negative."""

from __future__ import annotations

import numpy as np

TITLE = "Flux follows the gradient"
IDEA = (
    "Heat runs down the temperature gradient (Fourier, q = −k∇T) and solute down the "
    "concentration gradient (Fick, J = −D∇c). Their thermodynamic forces are ∇(1/T) and "
    "−∇(μ/T), and the entropy production σ = q·∇(1/T) − J·∇(μ/T) = k|∇T|²/T² + "
    "k<sub>B</sub>D∇c·∇log c is never negative: that is the second law."
)


def run(ctx) -> None:
    from scipy.integrate import quad

    from steepest.fields.grids import FiniteVolumeGrid
    from steepest.fields.transport import Transport, solve_transport

    # 1. an insulated rod with k(T) = 0.5 + T: heat is kept, entropy grows by exactly ∫σ dt
    n = 32 if ctx.quick else 96
    grid = FiniteVolumeGrid((n,), (1.0,), boundary="no-flux")
    rod = Transport(grid, conductivity=lambda T, c: 0.5 + T, heat_capacity=1.0)
    T0 = lambda x: 1.0 + 0.5 * np.cos(np.pi * x) + 0.3 * x  # noqa: E731
    sol = solve_transport(rod, {"T": T0(grid.axis_points(0))}, 2.5, n_save=51)
    heat = np.asarray(sol.content["heat"])
    ctx.check(
        f"insulated rod: the heat ∫C T dx stayed at {heat[0]:.12f} (largest change "
        f"{float(np.max(np.abs(heat - heat[0]))):.1e})",
        np.allclose(heat, heat[0], rtol=1e-12),
    )
    ctx.check(
        f"σ ≥ 0 at every accepted step: the smallest total σ was {float(np.min(sol.sigma_min)):.2e}"
        f" and the smallest on any face {float(sol.face_sigma_min) + 0.0:.2e}",
        np.all(np.asarray(sol.sigma_min) >= 0) and sol.face_sigma_min >= 0,
    )
    gain = np.asarray(sol.entropy) - sol.entropy[0]
    balance = float(np.max(np.abs(gain - np.asarray(sol.produced))) / gain[-1])
    ctx.check(
        f"the entropy the rod gained equals the entropy produced, ∫σ dt, at every save "
        f"(to {balance:.1e} of the gain)",
        balance < 1e-6,
    )
    T_bar = quad(T0, 0, 1)[0]
    dS = np.log(T_bar) - quad(lambda x: np.log(T0(x)), 0, 1)[0]
    rel = abs(float(sol.produced[-1]) - dS) / dS
    ctx.check(
        f"at equilibrium the rod sits at its mean temperature T̄ = {T_bar:.6f}; the entropy "
        f"produced, {float(sol.produced[-1]):.6f}, matches the continuum ΔS = log T̄ − ∫log T₀ "
        f"= {dS:.6f} to {rel:.1e} (the O(dx²) of {n} cells)",
        rel < 5e-4,
    )

    # 2. Fick diffusion in a closed box: mass kept, flux arrows down the gradient
    box = FiniteVolumeGrid((24, 16) if ctx.quick else (48, 32), (1.5, 1.0), boundary="no-flux")
    fick = Transport(box, diffusivity=0.02)
    X, Y = box.coordinates()
    c0 = 0.05 + np.exp(-((X - 0.4) ** 2 + (Y - 0.5) ** 2) / 0.02)
    diff = solve_transport(fick, {"c": c0}, 3.0, n_save=31)
    mass = np.asarray(diff.content["c"])
    ctx.check(
        f"closed box: the solute ∫c dV stayed at {mass[0]:.12f} (largest change "
        f"{float(np.max(np.abs(mass - mass[0]))):.1e})",
        np.allclose(mass, mass[0], rtol=1e-12),
    )
    ctx.check(
        f"Fick's entropy production k_B D ∇c·∇log c ≥ 0 at every step (smallest "
        f"{float(np.min(diff.sigma_min)):.2e})",
        np.all(np.asarray(diff.sigma_min) >= 0),
    )
    Jx, Jy = diff.cell_flux(1)["c"]
    gx, gy = np.gradient(np.asarray(diff.fields["c"][1]), box.spacing[0], box.spacing[1])
    downhill = float(np.mean((np.asarray(Jx) * gx + np.asarray(Jy) * gy) <= 1e-14))
    ctx.check(
        f"the flux points down the concentration gradient (J·∇c ≤ 0) in {100 * downhill:.1f}% "
        "of the cells",
        downhill > 0.99,
    )
    with ctx.figure(
        "flux",
        "Left: the rod's temperature relaxing to its mean (k = 0.5 + T, insulated ends). "
        "Middle: Fick diffusion in a closed box, the flux J = −D∇c as arrows. Right: the "
        "entropy the rod gained against the entropy produced ∫σ dt, and σ itself — never "
        "negative.",
        ncols=3,
        figsize=(15, 4.2),
    ) as (fig, (a, b, c)):
        x = grid.axis_points(0)
        for i in (0, 1, 2, 3, 5, 8, len(sol.t) - 1):  # the rod relaxes within t ≈ 0.3
            a.plot(x, sol.fields["T"][i], label=f"t = {sol.t[i]:.2f}")
        a.set_xlabel("x")
        a.set_ylabel("T")
        a.legend(fontsize=7)
        im = b.pcolormesh(box.axis_points(0), box.axis_points(1), np.asarray(diff.fields["c"][1]).T)
        fig.colorbar(im, ax=b, label="c")
        s = 2 if ctx.quick else 4
        b.quiver(X[::s, ::s], Y[::s, ::s], np.asarray(Jx)[::s, ::s], np.asarray(Jy)[::s, ::s])
        b.set_aspect("equal")
        b.set_title(f"t = {diff.t[1]:.2f}")
        c.plot(sol.t, gain, lw=3, alpha=0.5, label="S(t) − S(0)")
        c.plot(sol.t, sol.produced, "k--", label="∫σ dt")
        c.plot(sol.t, sol.sigma_total, label="σ(t)")
        c.set_xlabel("t")
        c.set_xlim(0, 0.6)
        c.legend(fontsize=8)
    ctx.say(
        "Both laws are the same statement: a flux proportional to a thermodynamic force, with "
        "a positive coefficient. That positivity is what makes σ a sum of squares, and what "
        "makes these equations gradient flows: heat conduction is the steepest ascent of the "
        "entropy, and the Fokker–Planck and Cahn–Hilliard flows below are its relatives."
    )
