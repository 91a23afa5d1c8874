"""Reading the map: stable and unstable manifolds of a saddle, basins of attraction and their
separatrices, and the minimum energy path with its barrier."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from steepest.paths.path import Path

    from .._section import Context

TITLE = "Reading the map"
IDEA = (
    "A saddle splits the flow: its stable manifold is the watershed between basins, its unstable "
    "manifold runs down to the minima it joins. The lowest pass between two minima is the "
    "transition state; its height above the start is the barrier."
)


def run(ctx) -> None:
    from scipy.spatial import cKDTree

    import steepest as st
    from steepest.plot import atlas
    from steepest.plot import landscape as pl

    # 1. the saddle y² − x²: the manifolds are the axes
    S = st.potentials.get("saddle")
    mf = st.landscape.manifolds(S, np.zeros(2))
    off_unstable = max(float(np.max(np.abs(b.points[:, 1]))) for b in mf.unstable)
    off_stable = max(float(np.max(np.abs(b.points[:, 0]))) for b in mf.stable)
    ctx.check(
        f"V = y² − x²: the unstable manifold lies on the x-axis (largest |y| {off_unstable:.1e}) "
        f"and the stable one on the y-axis (largest |x| {off_stable:.1e})",
        off_unstable < 1e-8 and off_stable < 1e-8,
    )

    # 2. basins of himmelblau, and the separatrices on the saddles' stable manifolds
    H = st.potentials.get("himmelblau")
    cps = st.landscape.critical_points(H)
    bm = st.landscape.basins(H, resolution=120 if ctx.quick else 300)
    ctx.check(
        f"himmelblau has {len(bm.minima)} basins covering "
        f"{', '.join(f'{f:.3f}' for f in bm.fractions)} of the box; with the "
        f"{bm.not_a_minimum + bm.unconverged} cells on a watershed they sum to "
        f"{bm.fractions.sum() + (bm.not_a_minimum + bm.unconverged) / bm.labels.size:.12f}",
        len(bm.minima) == 4
        and abs(bm.fractions.sum() + (bm.not_a_minimum + bm.unconverged) / bm.labels.size - 1)
        < 1e-12,
    )
    branches = [b.points for s in cps.saddles for b in st.landscape.manifolds(H, s).stable]
    stable = np.concatenate(branches)
    pts = bm.boundary_points()
    cell = float(np.hypot(bm.x[1] - bm.x[0], bm.y[1] - bm.y[0]))
    d, _ = cKDTree(stable).query(pts)
    spacing = max(float(np.max(np.linalg.norm(np.diff(b, axis=0), axis=1))) for b in branches)
    ctx.check(
        f"all {len(pts)} boundary cells of the basin map lie within {float(d.max()):.3f} of a "
        f"saddle's stable manifold (a cell is {cell:.3f} across, the manifold sampled every "
        f"{spacing:.3f})",
        float(d.max()) < cell + spacing,
    )
    with ctx.figure(
        "atlas",
        "Left: V = y² − x² with its unstable (red) and stable (blue) manifolds. Right: the "
        "basins of himmelblau's four minima, its saddles' manifolds and the maximum.",
        ncols=2,
        figsize=(11, 4.6),
    ) as (fig, (a, b)):
        pl.contour(S, ax=a)
        atlas.manifolds(mf, ax=a)
        a.set_title("y² − x²")
        pl.contour(H, ax=b)
        atlas.basins(bm, ax=b)
        for s in cps.saddles:
            atlas.manifolds(st.landscape.manifolds(H, s), ax=b)
        atlas.critical_points(cps, ax=b)
        b.set_title("himmelblau: basins and separatrices")

    # 3. the transition path on Müller–Brown
    MB = st.potentials.get("muller-brown")
    path = st.paths.neb(MB, [-0.558, 1.442], [0.623, 0.028], n_images=11)
    _transition_path(ctx, MB, path)
    ctx.say(
        "The same three objects answer three questions: where does a start end up (the basin), "
        "where does the flow split (the stable manifold of a saddle, which is exactly where the "
        "basin colours meet), and how high must a trajectory climb to change basin (the saddle "
        "on the minimum energy path)."
    )


def _transition_path(ctx: Context, MB: Any, path: Path) -> None:
    """Checks, numbers and figure of the CI-NEB path on Müller–Brown. A path whose highest image
    did not refine to an index-1 saddle (``path.saddle`` None) is a failed check, and its figure
    is drawn without a saddle."""
    from steepest.plot import landscape as pl

    ref = np.array([-0.822, 0.624])
    saddle = path.saddle
    if saddle is None:
        ctx.check(
            f"CI-NEB on Müller–Brown ({path.force_calls} force calls, largest force "
            f"{path.max_force:.1e}) found no saddle: no local maximum along the band refined to "
            "an index-1 saddle; published (−0.822, 0.624), V = −40.665",
            False,
        )
    else:
        ctx.check(
            f"CI-NEB on Müller–Brown converged ({path.force_calls} force calls, largest force "
            f"{path.max_force:.1e}) to the saddle ({saddle.x[0]:.4f}, {saddle.x[1]:.4f}) "
            f"at V = {saddle.energy:.3f}, of Hessian index {saddle.index}; published "
            "(−0.822, 0.624), V = −40.665",
            path.converged
            and saddle.index == 1
            and np.linalg.norm(saddle.x - ref) < 1e-3
            and abs(saddle.energy + 40.665) < 1e-3,
        )
    ctx.number("barrier forward", f"{path.barrier_forward:.3f}")
    ctx.number("barrier backward", f"{path.barrier_backward:.3f}")
    with ctx.figure(
        "path",
        "The minimum energy path between Müller–Brown's deepest minima: it passes the "
        "intermediate minimum and climbs the higher of two saddles.",
        ncols=2,
        figsize=(11, 4.4),
    ) as (fig, (a, b)):
        pl.contour(MB, ax=a)
        a.plot(path.images[:, 0], path.images[:, 1], "o-", color="w", ms=4)
        s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(path.images, axis=0), axis=1))])
        b.plot(s, path.energies, "o-")
        if saddle is not None:
            a.plot(*saddle.x, "X", color="red", ms=10, mec="k")
            b.axhline(saddle.energy, ls=":", color="red")
        b.set_xlabel("arc length along the path")
        b.set_ylabel("V")
        b.set_title(f"barrier {path.barrier_forward:.2f}")
