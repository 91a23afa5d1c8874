"""The metric decides the path: one energy, three metrics, three flows — same minima, different
paths, each the steepest descent in its own geometry. And L² against H⁻¹ for one free energy."""

from __future__ import annotations

import numpy as np

from .._section import saved

TITLE = "The metric decides the path"
IDEA = (
    "“Steepest” needs a way to measure length. In a metric G the steepest direction is "
    "−G<sup>−1</sup>∇V and the energy falls at the rate ∇Vᵀ G<sup>−1</sup> ∇V. Change G and the "
    "paths change; the critical points do not."
)


def run(ctx) -> None:
    import jax
    import jax.numpy as jnp

    import steepest as st
    from steepest.plot import landscape as pl

    V = st.Potential.from_expression("(x**2 - 1)**2 + y**2", bounds=((-2, 2), (-1.5, 1.5)))
    metrics = {
        "Euclidean": st.Euclidean(),
        "preconditioned M = diag(1, 8)": st.Preconditioned(np.diag([1.0, 8.0])),
        "Riemannian G(x) = diag(1 + 4y², 1)": st.Riemannian(
            lambda x: jnp.stack([1 + 4 * x[1] ** 2, jnp.ones_like(x[1])]), diagonal=True
        ),
    }
    starts = np.array([[0.15, 1.3], [-0.3, -1.2], [1.8, 1.1], [-1.7, 0.6]])
    sols, flows = {}, {}
    for name, G in metrics.items():
        flows[name] = st.GradientFlow(V, metric=G)
        sols[name] = st.solve(flows[name], starts, t1=60.0, method="tsit5", n_save=600)
    ends = {k: np.round(np.abs(s.x_final), 6) for k, s in sols.items()}
    same = all(np.allclose(e, [[1.0, 0.0]] * len(starts), atol=1e-5) for e in ends.values())
    ctx.check(
        "under all three metrics every start reaches a minimum (±1, 0): the metric moves the "
        "paths, not the critical points",
        same,
    )
    euclid = saved(sols["Euclidean"].x, "states")
    sep = max(
        float(np.max(np.linalg.norm(saved(sols[a].x, "states") - euclid, axis=-1)))
        for a in list(metrics)[1:]
    )
    ctx.check(f"…but the paths differ by up to {sep:.2f} from the Euclidean ones", sep > 0.1)
    # the energy falls at the metric's own rate: dV/dt = −∇Vᵀ G⁻¹ ∇V along the flow
    worst_rate = 0.0
    for f in flows.values():
        s = st.solve(f, starts[0], t1=1.0, method="tsit5", n_save=2001)
        rate_formula = np.asarray(jax.vmap(f.dissipation)(jnp.asarray(saved(s.x, "states"))))
        rate_fd = np.gradient(s.energy, s.t)
        k = slice(5, -5)
        worst_rate = max(
            worst_rate,
            float(np.max(np.abs(rate_fd[k] - rate_formula[k])) / np.max(np.abs(rate_formula))),
        )
    ctx.check(
        f"along each flow dV/dt = −∇Vᵀ G⁻¹ ∇V (finite differences of the saved energies against "
        f"the formula: {worst_rate:.1e}, relative)",
        worst_rate < 1e-4,
    )
    # −G⁻¹∇V is the steepest direction among all of unit G-length (sampled)
    x = jnp.asarray([0.4, 0.9])
    worst_gap = np.inf
    rng = np.random.default_rng(3)
    for G in metrics.values():
        g = np.asarray(V.grad(x))
        Gm = np.asarray(G.matrix(x)) if hasattr(G, "matrix") else np.eye(2)
        v = -np.linalg.solve(Gm, g)
        v /= np.sqrt(v @ Gm @ v)
        d = rng.standard_normal((2000, 2))
        d /= np.sqrt(np.einsum("ij,jk,ik->i", d, Gm, d))[:, None]
        worst_gap = min(worst_gap, float(np.min(d @ g) - v @ g))
    ctx.check(
        "at a test point, −G⁻¹∇V descends faster than each of 2,000 random directions of the "
        f"same G-length, in every metric (smallest margin {worst_gap:.1e})",
        worst_gap >= 0,
    )
    with ctx.figure(
        "paths",
        "One double well V = (x² − 1)² + y², three metrics: the same starts take different "
        "roads to the same two minima.",
        ncols=3,
        figsize=(14, 4.2),
    ) as (fig, axes):
        for ax, (name, s) in zip(axes, sols.items(), strict=True):
            pl.contour(V, ax=ax)
            pl.trajectories(s, ax=ax)
            ax.set_title(name, fontsize=10)
    _fields_in_two_metrics(ctx)
    ctx.say(
        "The Riemannian metric makes motion in x expensive where |y| is large, so its flow "
        "first drops y and then slides along the valley floor; the preconditioned flow, which "
        "makes y expensive everywhere, does the opposite. Natural-gradient methods in machine "
        "learning and the H⁻¹ metric of Cahn–Hilliard are the same idea."
    )


def _fields_in_two_metrics(ctx) -> None:
    """One Ginzburg–Landau free energy, one initial field, the L² and the H⁻¹ flow of it."""
    import warnings

    from steepest import fields as sf

    n = 48 if ctx.quick else 96
    grid = sf.SpectralGrid((n, n), (32.0, 32.0))
    c0 = 0.3 + 0.1 * np.random.default_rng(0).standard_normal(grid.shape)
    F = sf.ginzburg_landau()
    runs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sf.NonPeriodicWarning)
        for flow in (sf.L2Flow(grid, F), sf.HMinus1Flow(grid, F)):
            runs[flow.metric] = sf.evolve(
                flow, c0, 60.0, dt=0.5, scheme="etdrk2", adaptive="error", rtol=1e-4,
                n_save=61,
            )  # fmt: skip
    l2, h1 = runs["L2"], runs["H-1"]
    ctx.check(
        f"one free energy F[c] = ∫ ¼(1 − c²)² + ½|∇c|², one start (mean 0.3): both flows lower F "
        f"at every saved time (L²: {l2.energy[0]:.1f} → {l2.energy[-1]:.2f}; H⁻¹: "
        f"{h1.energy[0]:.1f} → {h1.energy[-1]:.2f})",
        bool(
            np.all(np.diff(l2.energy) <= 1e-12 * abs(l2.energy[0]))
            and np.all(np.diff(h1.energy) <= 1e-12 * abs(h1.energy[0]))
        ),
    )
    m0 = float(l2.mass[0])
    drift_h1 = float(np.max(np.abs(h1.mass - m0)) / abs(m0))
    mean_l2 = float(np.mean(l2.final))
    ctx.check(
        f"H⁻¹ (Cahn–Hilliard) keeps ∫c to {drift_h1:.0e} and separates into phases c ≈ ±1; "
        f"L² (Allen–Cahn) is free to change it: the mean of c goes from {np.mean(c0):.2f} to "
        f"{mean_l2:.2f}",
        drift_h1 < 1e-10 and abs(mean_l2 - np.mean(c0)) > 0.1,
    )
    with ctx.figure(
        "l2-h1",
        "One free energy in two metrics: L² drives the whole field into the favoured well "
        "(Allen–Cahn), H⁻¹ must keep ∫c and separates into two phases (Cahn–Hilliard).",
        ncols=3,
        figsize=(13, 3.8),
    ) as (fig, axes):
        for ax, (name, s) in zip(axes[:2], (("L²", l2), ("H⁻¹", h1)), strict=True):
            im = ax.imshow(np.asarray(s.final).T, origin="lower", cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set_title(f"{name} flow at t = {s.t[-1]:g}", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(im, ax=axes[1], fraction=0.046)
        ax = axes[2]
        for name, s in (("L²", l2), ("H⁻¹", h1)):
            ax.semilogy(s.t, s.energy - min(l2.energy.min(), h1.energy.min()) + 1e-2, label=name)
        ax.set_xlabel("t")
        ax.set_ylabel("F − min F (+0.01)")
        ax.legend()
