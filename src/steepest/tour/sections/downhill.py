"""Downhill on a landscape: dx/dt = −∇V decreases V, has no closed orbits, and its fixed points
are nodes or saddles (the Jacobian −∇²V is symmetric, so its eigenvalues are real)."""

from __future__ import annotations

import numpy as np

TITLE = "Downhill on a landscape"
IDEA = (
    "Along dx/dt = −∇V the energy can only fall: dV/dt = −|∇V|² ≤ 0. So no orbit closes, and "
    "since the Jacobian of the flow is the symmetric −∇²V, every fixed point is a node or a "
    "saddle — never a spiral or a centre."
)


def run(ctx) -> None:
    import jax

    import steepest as st
    from steepest.plot import landscape as pl

    V = st.potentials.get("muller-brown")
    flow = st.GradientFlow(V)
    (x0, x1), (y0, y1) = V.plot_bounds
    n = 5 if ctx.quick else 8
    gx, gy = np.meshgrid(np.linspace(x0 + 0.2, x1 - 0.2, n), np.linspace(y0 + 0.2, y1 - 0.2, n))
    starts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    starts = starts[np.asarray(V(starts)) < 50.0]  # the walls of Müller–Brown are steep
    sol = st.solve(flow, starts, t1=0.05 if ctx.quick else 0.1, method="rk45", n_save=200)
    dE = np.diff(sol.energy, axis=1)
    scale = np.abs(sol.energy[:, :-1]) + 1.0
    monotone = bool(np.all(dE <= 1e-10 * scale))
    n_steps = dE.size
    drop = sol.energy[:, 0] - sol.energy[:, -1]
    ctx.check(
        f"V(x(t)) never rose along any of {len(starts)} trajectories: {n_steps:,} saved intervals "
        f"checked, largest rise {max(float(dE.max()), 0.0):.1e} (round-off allows "
        f"{1e-10 * float(scale.max()):.0e})",
        monotone,
    )
    ctx.check(
        f"every trajectory lost energy (least loss {float(drop.min()):.3g}): none can return to "
        "its start, so there are no closed orbits",
        np.all(drop > 0),
    )

    cps = st.landscape.critical_points(V)
    jac = jax.jit(jax.jacfwd(flow.velocity))
    rows = []
    sym_err, imag = 0.0, 0.0
    for p in cps:
        J = np.asarray(jac(np.asarray(p.x)))
        sym_err = max(sym_err, float(np.max(np.abs(J - J.T)) / np.max(np.abs(J))))
        ev = np.linalg.eigvals(J)  # the general (non-symmetric) solver: it could find complex pairs
        imag = max(imag, float(np.max(np.abs(ev.imag))))
        kind = {"minimum": "stable node", "maximum": "unstable node", "saddle": "saddle"}.get(
            p.kind, p.kind
        )
        rows.append(
            f"({p.x[0]:.3f}, {p.x[1]:.3f}): V = {p.energy:.2f}, eigenvalues of the Jacobian "
            f"{', '.join(f'{v:.4g}' for v in np.sort(ev.real))} → {kind}"
        )
    counts = cps.counts
    ctx.check(
        f"the flow's Jacobian is symmetric at all {len(cps)} fixed points (relative asymmetry "
        f"{sym_err:.1e}) and its eigenvalues are real (largest imaginary part {imag:.1e})",
        sym_err < 1e-12 and imag == 0.0,
    )
    ctx.check(
        f"the fixed points are {counts.get('minimum', 0)} stable nodes (minima) and "
        f"{counts.get('saddle', 0)} saddles, none degenerate; {cps.morse_check['formula']} = "
        f"{cps.morse_check['value']} (the Morse relation asks 1)",
        counts.get("degenerate", 0) == 0 and cps.morse_check["holds"],
    )
    for r in rows:
        ctx.number("fixed point", r)

    with ctx.figure(
        "trajectories",
        f"Müller–Brown: {len(starts)} trajectories of dx/dt = −∇V (rk45), minima (●) and saddles "
        "(✕); right, V(x(t)) of each — every curve falls.",
        ncols=2,
        figsize=(11, 4.4),
    ) as (fig, (a, b)):
        pl.contour(V, ax=a)
        pl.trajectories(sol, ax=a)
        for p in cps:
            a.plot(*p.x, "o" if p.kind == "minimum" else "X", color="red", ms=8, mec="k")
        b.plot(sol.t, sol.energy.T, lw=0.8)
        b.set_xlabel("t")
        b.set_ylabel("V(x(t))")
        b.set_title("the energy never rises")
    ctx.say(
        f"{len(starts)} starts on the Müller–Brown surface flow into its "
        f"{counts.get('minimum', 0)} minima; trajectories that start near a saddle's stable "
        "manifold linger there before they fall to one side. The table of fixed points shows the "
        "eigenvalues of the flow's Jacobian: all real, negative at the minima (stable nodes) and "
        "of both signs at the saddles."
    )
