"""Learning is a flow: gradient descent is explicit Euler on dθ/dt = −∇L. In a narrow canyon it
oscillates across and crawls along; past 2/λ_max it diverges; implicit, momentum and
preconditioned schemes do better. On a small network, the edge of stability."""

from __future__ import annotations

import numpy as np

from .._section import saved

TITLE = "Learning is a flow"
IDEA = (
    "Gradient descent θ ← θ − h∇L(θ) is explicit Euler on the gradient flow dθ/dt = −∇L. It "
    "follows the flow while hλ_max ≪ 2, oscillates across a narrow canyon as hλ_max nears 2, "
    "and diverges beyond: 2/λ_max is the stability limit. On a network, training pushes the "
    "curvature up to that limit and holds it there: the edge of stability."
)


def run(ctx) -> None:
    import steepest as st
    from steepest.plot import landscape as pl

    lam = np.array([1.0, 100.0])  # a canyon: curvature 100 across, 1 along
    A = np.diag(lam)
    V = st.potentials.get("quadratic", A=A.tolist())
    V = st.Potential(V.fn, dim=2, bounds=((-1.2, 1.2), (-0.35, 0.35)), name="canyon")
    flow = st.GradientFlow(V)
    x0 = np.array([-1.0, 0.3])
    limit = 2.0 / lam.max()
    n = 60
    h_gd = 0.95 * limit
    gd = st.solve(flow, x0, t1=n * h_gd, method="euler", h=h_gd)
    gd_x = saved(gd.x, "states")
    ys = gd_x[:, 1]
    flips = int(np.sum(np.sign(ys[1:]) != np.sign(ys[:-1])))
    ratio = np.abs(ys[1:] / ys[:-1])
    ctx.check(
        f"GD at h = 0.95·2/λ_max flips the across-canyon coordinate at {flips} of {n} steps, "
        f"shrinking it by |1 − hλ| = {abs(1 - h_gd * lam.max()):.4f} per step (measured "
        f"{float(np.median(ratio)):.4f}), while the along-canyon one shrinks by only "
        f"{1 - h_gd * lam.min():.4f}",
        flips == n and abs(float(np.median(ratio)) - abs(1 - h_gd * lam.max())) < 1e-10,
    )
    try:
        st.solve(flow, x0, t1=30 * 1.05 * limit, method="euler", h=1.05 * limit)
        diverged, message, bound = False, "", None
    except st.FlowDiverged as err:
        diverged, message, bound = True, str(err), err.stability_limit
    ctx.check(
        "GD at h = 1.05·2/λ_max raises the energy and steepest stops it: "
        f"“{message.split(';')[0]}”",
        diverged and bound is not None and abs(bound - limit) < 1e-9,
    )

    # better schemes, same budget of steps, same (large) step
    h = 0.5
    prox = st.solve(flow, x0, t1=n * h, method="implicit-euler", h=h)
    pre = st.solve(
        st.GradientFlow(V, metric=st.Preconditioned(A)), x0, t1=1.0, method="euler", h=1.0
    )
    prox_x, pre_x = saved(prox.x, "states"), saved(pre.x, "states")
    # heavy ball with the optimal parameters (Polyak 1964): rate (√κ − 1)/(√κ + 1)
    kappa = lam.max() / lam.min()
    a_hb = 4.0 / (np.sqrt(lam.max()) + np.sqrt(lam.min())) ** 2
    b_hb = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
    xs, prev = [x0.copy()], x0.copy()
    for _ in range(n):
        cur = xs[-1]
        xs.append(cur - a_hb * (A @ cur) + b_hb * (cur - prev))
        prev = cur
    hb = np.array(xs)
    dist = {
        "gradient descent, h = 0.95·2/λ_max": float(np.linalg.norm(gd_x[-1])),
        f"heavy ball (optimal α, β), {n} steps": float(np.linalg.norm(hb[-1])),
        f"implicit Euler (proximal point), h = {h:g} = {h / limit:.0f}·2/λ_max": float(
            np.linalg.norm(prox_x[-1])
        ),
        "preconditioned by M = A, one step of h = 1": float(np.linalg.norm(pre_x[-1])),
    }
    for k, v in dist.items():
        ctx.number(f"|θ − θ*| after: {k}", f"{v:.2e}")
    ctx.check(
        f"implicit Euler at {h / limit:.0f}× the explicit limit decreased the loss at every one "
        f"of its {n} steps",
        bool(np.all(np.diff(prox.energy) <= 1e-15)),
    )
    ctx.check(
        f"the preconditioned step (metric M = A) lands on the minimum in one step "
        f"(|θ| = {dist['preconditioned by M = A, one step of h = 1']:.1e})",
        dist["preconditioned by M = A, one step of h = 1"] < 1e-12,
    )
    with ctx.figure(
        "canyon",
        "A canyon L = ½(x² + 100y²): gradient descent near its limit zig-zags across and "
        "crawls along; heavy ball, the proximal step and the preconditioned step do better. "
        "Right: distance to the minimum per step.",
        ncols=2,
        figsize=(11, 4.2),
    ) as (fig, (a, b)):
        pl.contour(V, ax=a, levels=20)
        a.set_aspect("auto")
        a.plot(gd_x[:, 0], gd_x[:, 1], ".-", color="w", lw=0.8, ms=3, label="GD")
        a.plot(hb[:, 0], hb[:, 1], ".-", color="orange", lw=0.8, ms=3, label="heavy ball")
        a.plot(prox_x[:, 0], prox_x[:, 1], "o-", color="red", ms=3, label="implicit Euler")
        a.plot(pre_x[:, 0], pre_x[:, 1], "s--", color="cyan", ms=4, label="preconditioned")
        a.legend(loc="lower right", fontsize=8)
        b.semilogy(np.linalg.norm(gd_x, axis=1), label="GD")
        b.semilogy(np.linalg.norm(hb, axis=1), label="heavy ball")
        b.semilogy(np.linalg.norm(prox_x, axis=1), label="implicit Euler")
        b.set_xlabel("step")
        b.set_ylabel("|θ − θ*|")
        b.legend(fontsize=8)
    _edge_of_stability(ctx)
    ctx.say(
        "The canyon is what makes training slow: the step is capped by the steepest direction "
        "(2/λ_max) while progress is set by the flattest (λ_min), so gradient descent needs "
        "about κ = λ_max/λ_min steps. Momentum brings that to √κ; a metric adapted to the "
        "curvature (preconditioning, natural gradient) removes it."
    )


def _edge_of_stability(ctx) -> None:
    """Full-batch GD on a small tanh network on digits: sharpness rises to 2/h and stays."""
    import steepest as st

    data = st.learning.load("digits", n=128 if ctx.quick else 256, scaling="center")
    L = st.learning.mlp(data, hidden=(16,), activation="tanh", loss="mse")
    h = 0.6
    tr = st.learning.gd_and_flow(L, h, 2400 if ctx.quick else 4000, every=40, rtol=1e-6, atol=1e-8)
    e = tr.edge_of_stability()
    ctx.check(
        f"edge of stability (Cohen et al. 2021), an MLP of {L.dim} parameters on {data.n} digits, "
        f"h = {h}: the sharpness λ_max rose from {e['initial']:.3f} to 2/h = {e['two_over_h']:.3f} "
        f"and then stayed within {100 * e['plateau_rel_dev']:.1f}% of it",
        e["rose"] and e["plateau_rel_dev"] < 0.05,
    )
    ctx.check(
        f"the exact gradient flow from the same start kept sharpening, to "
        f"{e['flow_final']:.3f} = {e['flow_over']:.2f}·(2/h): gradient descent left its flow",
        e["flow_over"] > 1.1,
    )
    with ctx.figure(
        "edge",
        f"Edge of stability: sharpness λ_max(∇²L) along gradient descent (h = {h}) and along the "
        "gradient flow from the same start (left), and their losses (right).",
        ncols=2,
        figsize=(11, 4.2),
    ) as (fig, (a, b)):
        a.plot(tr.t, tr.sharpness_gd, label="gradient descent")
        a.plot(tr.t, tr.sharpness_flow, label="gradient flow")
        a.axhline(2 / h, ls=":", color="k", label="2/h")
        a.set_xlabel("t = k·h")
        a.set_ylabel("λ_max")
        a.legend(fontsize=8)
        b.semilogy(tr.t, tr.loss_gd, label="gradient descent")
        b.semilogy(tr.t, tr.loss_flow, label="gradient flow")
        b.set_xlabel("t = k·h")
        b.set_ylabel("loss")
        b.legend(fontsize=8)
