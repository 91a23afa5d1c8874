"""PFHub benchmark 1a (spinodal decomposition, Cahn–Hilliard): steepest against py-pde.

What it measures, for each grid n² (default 128² and 256²) on the periodic [0, 200]² to
t1 = 2000 (Jokisaari et al., Comput. Mater. Sci. 126 (2017) 139; ../shared/reference):

  * steepest: ``fields.HMinus1Flow(SpectralGrid, pfhub1(), M = 5)`` with ETDRK4 (Cox–Matthews;
    ``--scheme etdrk2`` for the second-order one) and error control from its embedded solution
    (``adaptive="error"``, ``--rtol``, default 1e-5: the coarsening event near t ≈ 1600 needs it
    for a curve well inside 1%), nodes at the cell centres (origin dx/2) like py-pde's, the
    initial condition sampled there. Wall time of the first call in a fresh process (JAX
    compiles; no persistent cache) and of a second, warm call; steps; peak RSS of the process;
    F at t = 100 and t1.
  * py-pde: ``pde.PDE({"c": "5*laplace(f′(c) − 2*laplace(c))"})`` on a periodic
    ``CartesianGrid``, its default solver (explicit Euler, fixed dt) with the numba backend and
    numba multithreading off, at dt = 0.9 × its stability limit 2/λ_max (5-point Laplacian:
    λ_max = M(κ(8/dx²)² + f″_max·8/dx²)); F from its fields with the same stencil's free
    energy. Wall time (first call, numba compiling) and solver time (py-pde's own profiler);
    peak RSS. One ``solve`` call (numba compiles once), F(100) taken by a tracker there.
    ``--peer-t1`` shortens its run (its cost per step is constant, so the time to t1 is then
    extrapolated from the steps per second, and marked so).
  * accuracy: steepest's energy curve (saved every 10) against a 2× finer reference (2n²,
    rtol/3): the largest relative deviation (target ≤ 1%).
  * FFT floor: the warm time per step against the time of the transforms it needs alone
    (real 2-D transforms per attempted step: 8 for ETDRK4, 4 for ETDRK2; timed in one compiled
    loop), target ≤ 2×.

Each run is a subprocess, so peak memory is per solver. ``--quick`` is a smoke run (small
grids, short times). Run: ``python benchmarks/bench_pfhub.py [--quick] [--json]``; under load
or for the 256² peer, ``--peer-t1 200`` and ``--no-reference`` keep it short.
Targets (issue 5): ≥ 20× faster than py-pde at 128², ≥ 50× at 256², curve within 1%.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

L, M, KAPPA = 200.0, 5.0, 2.0
FPP_MAX = 2.0  # max |f″| over the range c takes (f″(c_α) = f″(c_β) = 1.6, a margin)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _initial(x, y):
    return 0.5 + 0.01 * (
        np.cos(0.105 * x) * np.cos(0.11 * y)
        + (np.cos(0.13 * x) * np.cos(0.087 * y)) ** 2
        + np.cos(0.025 * x - 0.15 * y) * np.cos(0.07 * x - 0.02 * y)
    )


def _fd_energy(c: np.ndarray) -> float:
    """F with the 5-point stencil's gradient energy (face differences), periodic."""
    from steepest import fields as sf

    g = sf.FiniteVolumeGrid(c.shape, (L, L), boundary="periodic")
    return float(sf.pfhub1().energy(g, c))


# -- workers (each in its own process) -------------------------------------------------------
TRANSFORMS = {"etdrk4": 8, "etdrk2": 4}


def worker_steepest(
    n: int, t1: float, rtol: float, every: float, runs_n: int = 2, scheme: str = "etdrk4"
) -> dict:
    import jax
    import jax.numpy as jnp

    from steepest import fields as sf

    g = sf.SpectralGrid((n, n), (L, L), origin=L / n / 2)
    flow = sf.HMinus1Flow(g, sf.pfhub1(), mobility=M)
    x, y = g.coordinates()
    c0 = _initial(x, y)
    kw = dict(dt=1.0, dt_min=1e-8, scheme=scheme, adaptive="error", rtol=rtol, atol=rtol * 1e-3,
              save_every=every, save_fields=False)  # fmt: skip
    runs, compile_s = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sf.NonPeriodicWarning)  # PFHub 1a specifies it
        for _ in range(runs_n):
            w0 = time.perf_counter()
            sol = sf.evolve(flow, c0, t1, **kw)
            runs.append(time.perf_counter() - w0)
            compile_s.append(sol.stats["compile_s"])
    steps = sol.stats["steps"]
    attempts = steps + sol.stats["rejected"]
    # the transforms alone, timed in forward + inverse pairs
    a = jnp.asarray(c0)

    @jax.jit
    def ffts(a, k):
        def body(i, b):
            return jnp.fft.irfft2(jnp.fft.rfft2(b), s=b.shape) * 0.999

        return jax.lax.fori_loop(0, k, body, a)

    k = 2000
    ffts(a, k).block_until_ready()
    w0 = time.perf_counter()
    ffts(a, k).block_until_ready()
    pair = (time.perf_counter() - w0) / k
    return {
        "n": n,
        "t1": t1,
        "wall_first_s": runs[0],
        "wall_warm_s": runs[-1],
        "compile_s": compile_s[0],
        "compile_warm_s": compile_s[-1],
        "steps": steps,
        "rejected": sol.stats["rejected"],
        "t": sol.t.tolist(),
        "F": sol.energy.tolist(),
        "mass_drift": float(abs(sol.mass[-1] - sol.mass[0]) / sol.mass[0]),
        "monotone": bool(np.all(np.diff(sol.energy) <= 0)),
        "peak_mib": _peak_mib(),
        "fft_pair_s": pair,
        "floor_s": TRANSFORMS[scheme] / 2 * pair * attempts,
        "scheme": scheme,
    }


def worker_pypde(n: int, t1: float, t_first: float) -> dict:
    import pde

    pde.config["backend.numba.multithreading"] = "never"
    grid = pde.CartesianGrid([[0, L], [0, L]], [n, n], periodic=True)
    x, y = grid.cell_coords[..., 0], grid.cell_coords[..., 1]
    state = pde.ScalarField(grid, _initial(x, y))
    fprime = "10*(c - 0.3)*(0.7 - c)*(1.0 - 2*c)"
    eq = pde.PDE({"c": f"{M:g} * laplace({fprime} - {KAPPA:g}*laplace(c))"})
    dx = L / n
    lam = M * (KAPPA * (8 / dx**2) ** 2 + FPP_MAX * 8 / dx**2)
    dt = 0.9 * 2.0 / lam
    F0 = _fd_energy(state.data)
    seen: dict[float, np.ndarray] = {}

    def at(field, t):  # a copy at t_first (and t = 0); F is computed after the timed call
        seen.setdefault(round(t, 6), np.array(field.data, copy=True))

    tracker = pde.trackers.CallbackTracker(at, interrupts=[t_first])
    w0 = time.perf_counter()
    end, info = eq.solve(state, t_range=t1, dt=dt, tracker=tracker, backend="numba",
                         ret_info=True)  # fmt: skip
    wall = time.perf_counter() - w0
    prof = info["controller"]["profiler"]
    t_mid = min(seen, key=lambda t: abs(t - t_first))  # the solver stops within a step of it
    F_first = _fd_energy(seen[t_mid]) if abs(t_mid - t_first) <= 2 * dt else float("nan")
    return {
        "n": n,
        "t1": t1,
        "dt": dt,
        "steps": info["solver"]["steps"],
        "wall_s": wall,
        "solver_s": prof["solver"],
        "compile_s": prof["compilation"],
        "F0": F0,
        "F_first": F_first,
        "F_end": _fd_energy(end.data),
        "peak_mib": _peak_mib(),
    }


def _spawn(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    for line in out.stdout.splitlines():
        if line.startswith("WORKER "):
            return json.loads(line[7:])
    raise RuntimeError(f"worker {args} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


# -- the benchmark ---------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: 64² to t = 20")
    ap.add_argument("--sizes", type=int, nargs="+", default=None)
    ap.add_argument("--t1", type=float, default=None)
    ap.add_argument("--peer-t1", type=float, default=None,
                    help="run py-pde only to this time and extrapolate its cost to t1")  # fmt: skip
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--scheme", choices=list(TRANSFORMS), default="etdrk4")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--worker", choices=["steepest", "pypde"], help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--t-first", type=float, default=100.0, help=argparse.SUPPRESS)
    ap.add_argument("--every", type=float, default=10.0, help=argparse.SUPPRESS)
    ap.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker == "steepest":
        runs_n = 1 if a.once else 2
        w = worker_steepest(a.n, a.t1, a.rtol, a.every, runs_n, a.scheme)
        print("WORKER " + json.dumps(w))
        return
    if a.worker == "pypde":
        print("WORKER " + json.dumps(worker_pypde(a.n, a.t1, a.t_first)))
        return

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _common import emit_json, jax_header, machine, print_table, row

    import steepest  # noqa: F401  (float64 on, as in the workers)

    sizes = a.sizes or ([64] if a.quick else [128, 256])
    t1 = a.t1 or (20.0 if a.quick else 2000.0)
    t_first = min(100.0, t1 / 2)
    every = min(10.0, t1 / 10)
    print(json.dumps(machine()))
    print(*jax_header())
    rows = []
    targets = {128: 20, 256: 50}
    for n in sizes:
        s = _spawn(["--worker", "steepest", "--n", str(n), "--t1", str(t1), "--rtol",
                    str(a.rtol), "--every", str(every), "--scheme", a.scheme])  # fmt: skip
        F_at = np.interp([t_first, t1], s["t"], s["F"])
        rows += [
            row(f"{n}² steepest wall to t={t1:g} (first call)", s["wall_first_s"], "s"),
            row(f"{n}² steepest wall, warm", s["wall_warm_s"], "s"),
            row(
                f"{n}² steepest compile (first call; warm call)",
                s["compile_s"],
                "s",
                target=f"warm {s['compile_warm_s']:.2g} s",
            ),  # fmt: skip
            row(f"{n}² steepest steps (+rejected)", s["steps"], f"(+{s['rejected']})"),
            row(f"{n}² steepest peak RSS", s["peak_mib"], "MiB"),
            row(
                f"{n}² steepest F(0)", s["F"][0], "", target=f"{s['F'][0]:.3f} in [319.03, 319.25]"
            ),  # fmt: skip
            row(f"{n}² steepest F({t_first:g})", F_at[0], "", target=f"{F_at[0]:.3f}"),
            row(f"{n}² steepest F({t1:g})", F_at[1], "", target=f"{F_at[1]:.3f}"),
            row(
                f"{n}² mass drift, F monotone",
                s["mass_drift"],
                "rel",
                target=f"monotone={s['monotone']}",
            ),  # fmt: skip
            row(
                f"{n}² time per step / its FFTs alone",
                s["wall_warm_s"] / s["floor_s"],
                "x",
                target="≤ 2x",
            ),  # fmt: skip
        ]
        if not a.no_reference:
            r = _spawn(["--worker", "steepest", "--n", str(2 * n), "--t1", str(t1), "--rtol",
                        str(a.rtol / 3), "--every", str(every), "--once", "--scheme",
                        a.scheme])  # fmt: skip
            dev = np.max(np.abs(np.array(s["F"]) - np.array(r["F"])) / np.array(r["F"]))
            rows.append(row(f"{n}² energy curve vs {2 * n}² reference (max)", 100 * dev, "%",
                            target="≤ 1%"))  # fmt: skip
        if not a.no_peer:
            pt1 = min(a.peer_t1 or t1, t1)
            p = _spawn(["--worker", "pypde", "--n", str(n), "--t1", str(pt1),
                        "--t-first", str(min(t_first, pt1 / 2))])  # fmt: skip
            per_step = p["solver_s"] / p["steps"]
            steps_t1 = int(np.ceil(t1 / p["dt"]))
            solver_t1 = per_step * steps_t1
            wall_t1 = solver_t1 + p["compile_s"] + (p["wall_s"] - p["solver_s"] - p["compile_s"])
            tag = "" if pt1 >= t1 else f" (extrapolated from t={pt1:g})"
            ratio = wall_t1 / s["wall_first_s"]
            want = targets.get(n)
            rows += [
                row(
                    f"{n}² py-pde wall to t={t1:g}{tag}",
                    s["wall_first_s"],
                    "s",
                    "py-pde",
                    wall_t1,
                    ratio,
                    f"≥ {want}x" if want else None,
                ),  # fmt: skip
                row(
                    f"{n}² py-pde solver only{tag} vs steepest warm",
                    s["wall_warm_s"],
                    "s",
                    "py-pde",
                    solver_t1,
                    solver_t1 / s["wall_warm_s"],
                ),  # fmt: skip
                row(
                    f"{n}² py-pde steps (dt = {p['dt']:.3g})", s["steps"], "", "py-pde", steps_t1
                ),  # fmt: skip
                row(f"{n}² py-pde peak RSS", s["peak_mib"], "MiB", "py-pde", p["peak_mib"]),
                row(
                    f"{n}² py-pde F({min(t_first, pt1 / 2):g})",
                    F_at[0],
                    "",
                    "py-pde",
                    p["F_first"],
                    target=f"{p['F_first']:.3f}; its F(0) = {p['F0']:.3f}",
                ),  # fmt: skip
            ]
            if pt1 >= t1:
                rows.append(row(f"{n}² py-pde F({t1:g})", F_at[1], "", "py-pde", p["F_end"],
                                target=f"{p['F_end']:.3f}"))  # fmt: skip
    print_table(rows)
    if a.json:
        emit_json(rows)


if __name__ == "__main__":
    main()
