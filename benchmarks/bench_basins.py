"""Himmelblau basin map at 1000 x 1000 on [-5, 5]^2: steepest against a vectorised NumPy RK4.

What it measures (one run, every number printed):
  * ``st.landscape.basins`` on the 10^6 cell centres: RK4 at half the explicit stability limit of
    the box, |grad V| < 1e-7 checked every 64 steps, converged points retired and the rest
    compacted, t1 = 50; then every cell labelled by its minimum. The first call compiles
    (reported apart, with its wall time); the best of the next two calls is the headline.
  * Peer: the same algorithm in vectorised NumPy (hand-written gradient, the same step, the
    same stopping rule every 64 steps, the same compaction and the same flow-time limit), and
    labels by the nearest minimum. Target: NumPy / steepest >= 8x. The two maps must agree on
    every cell but a handful on the separatrices (the count is printed).

Usage: python benchmarks/bench_basins.py [--n N] [--quick]. The last line printed is
``BENCH_JSON [...]`` for ``make bench``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import emit_json, jax_header, machine, print_table, row

import steepest as st

K, TOL, T1 = 64, 1e-7, 50.0


def grad(x, y):
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    return 4.0 * a * x + 2.0 * b, 2.0 * a + 4.0 * b * y


def numpy_basins(n: int, h: float, minima: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels (index of the nearest minimum, -1 unconverged) and the point-steps taken."""
    c = -5.0 + (np.arange(n) + 0.5) * 10.0 / n
    X, Y = np.meshgrid(c, c)
    x, y = X.ravel().copy(), Y.ravel().copy()
    ex, ey = x.copy(), y.copy()
    conv = np.zeros(x.size, bool)
    active = np.arange(x.size)
    h2, h6 = 0.5 * h, h / 6.0
    point_steps = 0
    for _ in range(int(np.ceil(T1 / h / K))):
        if not active.size:
            break
        for _ in range(K):
            g1x, g1y = grad(x, y)
            g2x, g2y = grad(x - h2 * g1x, y - h2 * g1y)
            g3x, g3y = grad(x - h2 * g2x, y - h2 * g2y)
            g4x, g4y = grad(x - h * g3x, y - h * g3y)
            x = x - h6 * (g1x + 2.0 * g2x + 2.0 * g3x + g4x)
            y = y - h6 * (g1y + 2.0 * g2y + 2.0 * g3y + g4y)
        point_steps += active.size * K
        gx, gy = grad(x, y)
        g2 = gx * gx + gy * gy
        done = g2 <= TOL * TOL
        retire = done | ~np.isfinite(g2)
        ex[active], ey[active] = x, y
        conv[active[done]] = True
        keep = ~retire
        active, x, y = active[keep], x[keep], y[keep]
    d = np.hypot(ex[:, None] - minima[:, 0], ey[:, None] - minima[:, 1])
    labels = np.where(conv & (d.min(axis=1) < 1e-3), d.argmin(axis=1), -1)
    return labels.reshape(n, n), point_steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="cells per axis (default 1000)")
    ap.add_argument("--quick", action="store_true", help="n = 300")
    args = ap.parse_args()
    n = 300 if args.quick else args.n

    m = machine()
    print(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['mhz']:.0f} MHz ({m['mhz_source']}), "
        f"{m['isa']}; python {sys.version.split()[0]}, numpy {np.__version__}"
    )
    print(*jax_header(), sep="\n")
    V = st.potentials.get("himmelblau")
    box = ((-5.0, 5.0), (-5.0, 5.0))

    t0 = time.perf_counter()
    first = st.landscape.basins(V, box, n)
    wall1 = time.perf_counter() - t0
    walls, bm = [], first
    for _ in range(2):
        t0 = time.perf_counter()
        bm = st.landscape.basins(V, box, n)
        walls.append(time.perf_counter() - t0)
    wall = min(walls)
    s = bm.stats
    print(
        f"steepest call 1: {wall1:.2f} s (compile {first.stats['compile_s']:.2f} s); best of the "
        f"next two: {wall:.3f} s; h = {s['h']:.4g}, {s['chunks']} chunks, mean steps "
        f"{s['mean_steps']:.0f}, max {s['max_steps']}, point-steps {s['point_steps']:.3e} "
        f"(padding included); fractions {np.round(bm.fractions, 6).tolist()}, unconverged "
        f"{bm.unconverged}, not a minimum {bm.not_a_minimum}"
    )

    t0 = time.perf_counter()
    labels_np, ps_np = numpy_basins(n, s["h"], bm.minima)
    t_np = time.perf_counter() - t0
    differ = int(np.sum(labels_np != np.asarray(bm.labels)))
    print(f"numpy: {t_np:.2f} s, point-steps {ps_np:.3e}; cells labelled differently: {differ}")
    print()

    fig = f"himmelblau basin map {n}x{n}"
    rows = [
        row(fig, wall, "s", "numpy RK4 + compaction", t_np, t_np / wall, ">= 8x"),
        row(f"{fig}, first call (compiles)", wall1, "s", "numpy", t_np, t_np / wall1),
        row("basin map points/s", n * n / wall, "pts/s", "numpy", n * n / t_np, t_np / wall),
        row("cells labelled differently from numpy", differ, "", target="~0"),
    ]
    print_table(rows)
    emit_json(rows)


if __name__ == "__main__":
    main()
