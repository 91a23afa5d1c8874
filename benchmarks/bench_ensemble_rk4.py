"""Ensemble RK4 on Himmelblau: steepest against NumPy and scipy, and the fraction of float64 peak.

What it measures (one run, every number printed):
  * 100,000 starts uniform in [-5, 5]^2 on V(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2, integrated
    along dx/dt = -grad V to t = 1 with classical RK4 at h = 1e-3 (1000 steps) in ONE batched
    ``st.solve`` call. The first call compiles (compile time reported apart); the second call, same
    shapes, must not recompile and its wall time is the headline.
  * Peer (a): a vectorised NumPy RK4 with the same steps (Python loop over steps, each vectorised
    over all starts). Target: numpy / steepest >= 8x; the final states agree to < 1e-9.
  * Peer (b): ``scipy.integrate.solve_ivp`` (RK45, rtol=1e-6) one trajectory at a time on a random
    sample, extrapolated linearly to all starts. Target: solve_ivp / steepest >= 500x.
  * Achieved GFLOP/s (hand-counted flops / run time) as a percentage of the nominal float64 peak.

Usage: python benchmarks/bench_ensemble_rk4.py [--n N] [--quick]. The last line printed is
``BENCH_JSON [...]`` (the rows as JSON) for ``make bench`` to collect.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import emit_json, jax_header, machine, print_table, row
from scipy.integrate import solve_ivp

import steepest as st

T1, H = 1.0, 1e-3
N_STEPS = 1000

# Flops of one RK4 step of the Himmelblau gradient flow, counted by hand (+ - * each 1 flop):
#   gradient: a = x*x + y - 11 (3), b = x + y*y - 7 (3), Vx = 4*a*x + 2*b (4), Vy = 2*a + 4*b*y (4)
#             = 14 flops; the minus sign of the velocity folds into the step coefficients (0).
#   RK4 uses 4 gradients per step (k1 is the gradient carried from the previous step's end,
#   k2..k4 are new, and the end point's value-and-gradient makes the next k1): 4 x 14 = 56.
#   stage points x + (h/2) k1, x + (h/2) k2, x + h k3: 2 flops x 2 components x 3 = 12.
#   combination x + (h/6)(k1 + 2 k2 + 2 k3 + k4): (2 mul + 3 add + 1 mul + 1 add) x 2 = 14.
#   energy at the end point for the dissipation guard: a*a + b*b, reusing a, b = 3;
#   the guard E1 > E + rtol (|E| + scale): add, mul, add, compare = 4.
FLOPS_PER_STEP = 56 + 12 + 14 + 3 + 4  # = 89


def grad(x, y):
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    return 4.0 * a * x + 2.0 * b, 2.0 * a + 4.0 * b * y


def numpy_rk4(x0: np.ndarray) -> np.ndarray:
    """RK4 for dx/dt = -grad V, vectorised over starts; a Python loop over the 1000 steps."""
    x, y = x0[:, 0].copy(), x0[:, 1].copy()
    h2, h6 = 0.5 * H, H / 6.0
    for _ in range(N_STEPS):
        g1x, g1y = grad(x, y)
        g2x, g2y = grad(x - h2 * g1x, y - h2 * g1y)
        g3x, g3y = grad(x - h2 * g2x, y - h2 * g2y)
        g4x, g4y = grad(x - H * g3x, y - H * g3y)
        x = x - h6 * (g1x + 2.0 * g2x + 2.0 * g3x + g4x)
        y = y - h6 * (g1y + 2.0 * g2y + 2.0 * g3y + g4y)
    return np.stack([x, y], axis=1)


def jax_floor(x0: np.ndarray) -> float:
    """Best of three: a hand-written JAX RK4 (hand gradient, no guard, no energy), vmap of a
    per-point fori_loop. What a user gets writing the loop by hand; the floor to compare with."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def per_point(z):
        def g(z):
            a = z[0] * z[0] + z[1] - 11.0
            b = z[0] + z[1] * z[1] - 7.0
            return jnp.stack([4.0 * a * z[0] + 2.0 * b, 2.0 * a + 4.0 * b * z[1]])

        def body(i, z):
            k1 = -g(z)
            k2 = -g(z + 0.5 * H * k1)
            k3 = -g(z + 0.5 * H * k2)
            k4 = -g(z + H * k3)
            return z + (H / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

        return lax.fori_loop(0, N_STEPS, body, z)

    f = jax.jit(jax.vmap(per_point))
    z = jnp.asarray(x0)
    jax.block_until_ready(f(z))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        jax.block_until_ready(f(z))
        best = min(best, time.perf_counter() - t0)
    return best


def scipy_one(z0: np.ndarray) -> np.ndarray:
    def f(t, z):
        gx, gy = grad(z[0], z[1])
        return np.array([-gx, -gy])

    return solve_ivp(f, (0.0, T1), z0, method="RK45", rtol=1e-6).y[:, -1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="number of starts (default 100000)")
    ap.add_argument("--quick", action="store_true", help="n=20000, 50 scipy samples")
    ap.add_argument("--scipy-samples", type=int, default=None, help="default 200 (50 with --quick)")
    args = ap.parse_args()
    n = 20_000 if args.quick else args.n
    n_sp = args.scipy_samples or (50 if args.quick else 200)

    m = machine()
    print(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['mhz']:.0f} MHz ({m['mhz_source']}), "
        f"{m['isa']}; python {sys.version.split()[0]}, numpy {np.__version__}"
    )
    print(*jax_header(), sep="\n")
    print(f"problem: himmelblau, {n} starts in [-5,5]^2, RK4 h={H:g}, {N_STEPS} steps to t={T1:g}")

    rng = np.random.default_rng(0)
    x0 = rng.uniform(-5.0, 5.0, size=(n, 2))
    flow = st.GradientFlow(st.potentials.get("himmelblau"))
    kw = dict(t1=T1, method="rk4", h=H, n_save=2, save_state=False, check_energy=True)
    counter = sys.modules["steepest.integrate.solve"].COMPILE_COUNT

    t0 = time.perf_counter()
    sol1 = st.solve(flow, x0, **kw)
    wall1 = time.perf_counter() - t0
    compiles = counter["n"]
    walls = []
    for _ in range(3):  # best of three for every timed party (NumPy: best of two)
        t0 = time.perf_counter()
        sol = st.solve(flow, x0, **kw)
        walls.append(time.perf_counter() - t0)
    wall = min(walls)
    recompiled = counter["n"] - compiles
    s = sol.stats
    print(
        f"steepest call 1: wall {wall1:.3f} s (compile {sol1.stats['compile_time_s']:.3f} s); "
        f"call 2: wall {wall:.3f} s, run {s['run_time_s']:.3f} s, "
        f"compile {s['compile_time_s']:.3f} s, kernels compiled {recompiled}"
    )
    print(
        f"steepest: steps_total {s['steps_total']} (expect {n * N_STEPS}), failed {s['failed']}, "
        f"energy_monotone {s['energy_monotone']}, "
        f"status {dict(zip(*np.unique(sol.status, return_counts=True), strict=True))}"
    )
    if recompiled or s["compile_time_s"] > 0:
        print("WARNING: the second call recompiled")
    xs = np.asarray(sol.x_final)

    t_np = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        xn = numpy_rk4(x0)
        t_np = min(t_np, time.perf_counter() - t0)
    t_jax = jax_floor(x0)
    print(f"hand-written JAX RK4 (hand gradient, no guard, no energy): {t_jax:.3f} s")
    diff = float(np.max(np.abs(xn - xs)))
    print(f"numpy RK4: {t_np:.3f} s; max |x_numpy - x_steepest| = {diff:.3e}")

    idx = rng.choice(n, size=min(n_sp, n), replace=False)
    t0 = time.perf_counter()
    xsp = np.array([scipy_one(x0[i]) for i in idx])
    t_sp_sample = time.perf_counter() - t0
    t_sp = t_sp_sample * n / len(idx)
    print(
        f"solve_ivp RK45: {len(idx)} trajectories in {t_sp_sample:.3f} s -> {t_sp:.1f} s for "
        f"{n}; max |x_scipy - x_steepest| on the sample = {np.max(np.abs(xsp - xs[idx])):.2e}"
    )

    total_flops = n * N_STEPS * FLOPS_PER_STEP
    gflops = total_flops / s["run_time_s"] / 1e9
    frac = gflops * 1e9 / m["peak_flops"]
    print(
        f"flops: {FLOPS_PER_STEP}/step x {N_STEPS} steps x {n} starts = {total_flops:.3e}; "
        f"achieved {gflops:.2f} GFLOP/s over run_time_s"
    )
    print(
        f"peak assumptions: {m['cores']} cores x {m['mhz']:.0f} MHz x {m['fma_units']} FMA units "
        f"x {m['simd_doubles']} doubles ({m['isa']}) x 2 flops/FMA = "
        f"{m['peak_flops'] / 1e9:.1f} GFLOP/s float64"
    )
    print()

    fig = f"ensemble RK4 himmelblau, {n:.0e} x {N_STEPS} steps".replace("e+0", "e")
    rows = [
        row(fig, wall, "s", "numpy", t_np, t_np / wall, ">= 8x"),
        row(fig, wall, "s", "solve_ivp (extrapolated)", t_sp, t_sp / wall, ">= 500x"),
        row(fig, wall, "s", "hand-written JAX, no guard", t_jax, t_jax / wall),
        row("compile time (first call)", sol1.stats["compile_time_s"], "s"),
        row("max |x_final numpy - steepest|", diff, "", target="< 1e-9"),
        row("achieved float64 GFLOP/s", gflops, "GFLOP/s"),
        row("fraction of float64 peak", 100 * frac, "%"),
    ]
    print_table(rows)
    emit_json(rows)


if __name__ == "__main__":
    main()
