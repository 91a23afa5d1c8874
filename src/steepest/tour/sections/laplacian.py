"""The Laplacian is the divergence of the gradient: on a finite-volume grid the gradient lives on
faces, the divergence sums face fluxes into cells, so the sum of Δc over any block of cells is
exactly the flux through the block's boundary — and Δc is minus the gradient of the Dirichlet
energy, which makes heat flow its L² gradient flow."""

from __future__ import annotations

import numpy as np

TITLE = "The Laplacian is the divergence of the gradient"
IDEA = (
    "Δc = ∇·(∇c). On a finite-volume grid the discrete gradient (cells → faces) and divergence "
    "(faces → cells) are adjoint, so the divergence theorem holds exactly: what the Laplacian "
    "adds up inside a block is what flows through its walls. And Δc = −δ/δc ½∫|∇c|²: heat flow "
    "is the steepest descent of the Dirichlet energy."
)


def run(ctx) -> None:
    import jax
    import jax.numpy as jnp
    from matplotlib.patches import Rectangle

    from steepest.fields import FiniteVolumeGrid

    rng = np.random.default_rng(7)
    n = 48 if ctx.quick else 96
    worst = {}
    for bc in ("no-flux", "dirichlet", "periodic"):
        grid = FiniteVolumeGrid((n, n), (1.0, 1.0), boundary=bc, dirichlet=0.3)
        x, y = np.meshgrid(grid.axis_points(0), grid.axis_points(1), indexing="ij")
        c = np.sin(3 * x) * np.cos(2 * y) + 0.3 * rng.standard_normal((n, n))
        J = grid.grad(jnp.asarray(c))
        lap = np.asarray(grid.div(J))
        errs = []
        for _ in range(20 if ctx.quick else 60):
            lo = rng.integers(0, n - 2, size=2)
            hi = lo + rng.integers(1, n - lo + 1, size=2)
            block = [(int(lo[0]), int(hi[0])), (int(lo[1]), int(hi[1]))]
            inside = float(np.sum(lap[lo[0] : hi[0], lo[1] : hi[1]]) * grid.cell_volume)
            through = float(grid.net_outflow(J, block))
            errs.append(
                abs(inside - through) / (abs(through) + np.abs(lap).max() * grid.cell_volume)
            )
        worst[bc] = max(errs)
        if bc == "no-flux":
            # Δc is minus the L² gradient of ½∫|∇c|² (autodiff of the discrete energy)
            dE = np.asarray(jax.grad(grid.gradient_energy)(jnp.asarray(c))) / grid.cell_volume
            var_err = float(np.max(np.abs(dE + lap)) / np.max(np.abs(lap)))
            # adjointness: ⟨∇u, J⟩_faces = −⟨u, ∇·J⟩_cells
            u = rng.standard_normal((n, n))
            Jr = [rng.standard_normal(grid.face_shape(a)) for a in range(2)]
            for a in range(2):  # no flux through the walls
                sl: list[slice | list[int]] = [slice(None)] * 2
                sl[a] = [0, -1]
                Jr[a][tuple(sl)] = 0.0
            gu = grid.grad(jnp.asarray(u))
            lhs = sum(float(np.sum(np.asarray(g) * j)) for g, j in zip(gu, Jr, strict=True))
            rhs = -float(np.sum(u * np.asarray(grid.div([jnp.asarray(j) for j in Jr]))))
            adj_err = abs(lhs - rhs) / abs(lhs)
            field, flux, g0 = c, J, grid
    for bc, e in worst.items():
        ctx.check(
            f"{bc} walls: over random blocks of cells, Σ Δc·dV equals the flux of ∇c through the "
            f"block's boundary to {e:.1e} (relative)",
            e < 1e-12,
        )
    ctx.check(
        f"the discrete gradient and divergence are adjoint, ⟨∇u, J⟩ = −⟨u, ∇·J⟩, to {adj_err:.1e}",
        adj_err < 1e-12,
    )
    ctx.check(
        f"Δc = −δ/δc ½∫|∇c|² (autodiff of the discrete Dirichlet energy) to {var_err:.1e}: "
        "heat flow ∂c/∂t = Δc is its L² gradient flow",
        var_err < 1e-12,
    )
    with ctx.figure(
        "divergence",
        "A random field c on a 2-D finite-volume grid with no-flux walls, the arrows of ∇c on "
        "the faces, and one block of cells: Σ Δc inside it = the flux of ∇c through its edges.",
        figsize=(6.2, 5.4),
    ) as (fig, ax):
        xs, ys = g0.axis_points(0), g0.axis_points(1)
        im = ax.pcolormesh(xs, ys, field.T, cmap="coolwarm", shading="auto")
        fig.colorbar(im, ax=ax, label="c")
        step = max(1, n // 16)
        gx = 0.5 * (np.asarray(flux[0])[1:] + np.asarray(flux[0])[:-1])
        gy = 0.5 * (np.asarray(flux[1])[:, 1:] + np.asarray(flux[1])[:, :-1])
        X, Y = np.meshgrid(xs, ys, indexing="ij")
        ax.quiver(
            X[::step, ::step],
            Y[::step, ::step],
            gx[::step, ::step],
            gy[::step, ::step],
            width=0.003,
        )
        b0, b1 = n // 4, n // 4 + n // 3  # the block drawn: cells b0 .. b1 − 1 on both axes
        corner = (float(xs[b0]) - 0.5 / n, float(ys[b0]) - 0.5 / n)
        ax.add_patch(Rectangle(corner, (b1 - b0) / n, (b1 - b0) / n, fill=False, lw=2))
        ax.set_aspect("equal")
    ctx.say(
        "Nothing is made or lost inside the grid: every face flux leaves one cell and enters "
        "its neighbour, so sums of the divergence telescope to the boundary. That is why the "
        "conserved flows of steepest (Cahn–Hilliard, Fokker–Planck, Fick) keep their mass to "
        "round-off."
    )
