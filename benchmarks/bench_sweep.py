"""Sweeps at scale: in-process against a 2-worker Dask LocalCluster, the cost of Dask per chunk,
and the driver's memory as a sweep grows.

What it measures (one run, every number printed):
  * A 10⁶-start ensemble on himmelblau (RK4, h = 1e-3, to t = 0.2), split by the sweep into
    chunks of 65,536 starts written straight into the Zarr store: starts/s in-process (one
    process, one XLA host device per core) and on a LocalCluster of 2 single-threaded workers.
    The two stores must agree exactly.
  * Dask's overhead per chunk: a sweep of 64 trivial runs (one start, one step), one run per
    chunk, on the cluster against in-process; (wall_cluster − wall_in_process) / 64.
  * The driver's memory as the sweep grows: resident memory (RSS) of the driver process after
    sweeps of 64, 256 and 1024 runs on the cluster (the driver holds only chunk bookkeeping: it
    must stay flat).
  * A 64-point Cahn–Hilliard sweep at 128² (mobility × initial amplitude), when field scenarios
    can be swept (``steepest.fields.scenario.sweep_runner``): runs/s in-process and on the cluster.

Usage: python benchmarks/bench_sweep.py [--quick] (10⁵ starts, 16-point field sweep). The last
line printed is ``BENCH_JSON [...]`` for ``make bench``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import emit_json, jax_header, machine, print_table, row

import steepest as st


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^5 starts, smaller sweeps")
    args = ap.parse_args()
    n_starts = 100_000 if args.quick else 1_000_000
    m = machine()
    print(f"machine: {m['cpu']}, {m['cores']} cores; " + jax_header()[0])
    from distributed import Client, LocalCluster

    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    ensemble = {
        "title": "himmelblau ensemble",
        "energy": {"name": "himmelblau"},
        "initial": {"random": {"n": n_starts, "seed": 0}},
        "integrate": {"method": "rk4", "step": 1e-3, "t1": 0.2},
    }
    grid = {"integrate.t1": [0.2]}
    # every timing is of a second, identical sweep: the first compiles (in each worker too)
    st.parallel.sweep(ensemble, grid, out=tmp / "warm")
    ds_in, t_in = _timed(lambda: st.parallel.sweep(ensemble, grid, out=tmp / "in"))
    rows = []
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster) as client,
    ):
        st.parallel.sweep(ensemble, grid, out=tmp / "warm-c", client=client)
        ds_c, t_c = _timed(lambda: st.parallel.sweep(ensemble, grid, out=tmp / "c", client=client))
        same = bool(np.array_equal(np.asarray(ds_in.x_final), np.asarray(ds_c.x_final)))
        print(
            f"ensemble {n_starts} starts x 200 RK4 steps: in-process {t_in:.2f} s "
            f"({n_starts / t_in:,.0f} starts/s), cluster {t_c:.2f} s ({n_starts / t_c:,.0f} "
            f"starts/s); {ds_c.attrs['chunks']} chunks; stores equal: {same}"
        )
        fig = f"ensemble {n_starts:.0e} starts x 200 RK4 steps, starts/s".replace("e+0", "e")
        rows.append(row(fig, n_starts / t_c, "starts/s", "in-process", n_starts / t_in, t_in / t_c))

        tiny = {
            "energy": {"name": "double-well"},
            "initial": {"points": [[0.5, 0.5]]},
            "integrate": {"method": "euler", "step": 0.01, "t1": 0.01},
        }
        # a swept step is a traced number: one compiled kernel serves every run
        g64 = {"integrate.step": list(np.linspace(0.005, 0.01, 64))}
        st.parallel.sweep(tiny, g64, out=tmp / "tw", chunk_runs=1)
        _, t_tiny_in = _timed(lambda: st.parallel.sweep(tiny, g64, out=tmp / "t-in", chunk_runs=1))
        st.parallel.sweep(tiny, g64, out=tmp / "tw-c", client=client, chunk_runs=1)
        _, t_tiny_c = _timed(
            lambda: st.parallel.sweep(tiny, g64, out=tmp / "t-c", client=client, chunk_runs=1)
        )
        per_chunk = (t_tiny_c - t_tiny_in) / 64
        print(
            f"64 trivial one-run chunks: in-process {t_tiny_in:.2f} s, cluster {t_tiny_c:.2f} s "
            f"-> Dask overhead {1e3 * per_chunk:.1f} ms per chunk"
        )
        rows.append(row("Dask overhead per chunk (64 trivial chunks)", 1e3 * per_chunk, "ms"))

        sizes = [64, 256] if args.quick else [64, 256, 1024]
        rss = []
        for n in sizes:
            g = {"integrate.step": list(np.linspace(0.005, 0.01, n))}
            st.parallel.sweep(tiny, g, out=tmp / f"grow-{n}", client=client, chunk_runs=8)
            rss.append(_rss_mb())
            print(f"driver RSS after a {n}-run sweep: {rss[-1]:.0f} MB")
        growth = rss[-1] - rss[0]
        rows.append(
            row(
                f"driver RSS, {sizes[0]} -> {sizes[-1]} runs",
                rss[-1],
                "MB",
                target=f"flat (grew {growth:.0f} MB)",
            )
        )

        field = _field_sweep(tmp, client, args.quick)
        if field is not None:
            rows.extend(field)
    print()
    print_table(rows)
    emit_json(rows)


def _field_sweep(tmp: Path, client, quick: bool):
    """Cahn–Hilliard at 128²: mobility × initial amplitude, in-process and on the cluster."""
    import importlib

    try:
        mod = importlib.import_module("steepest.fields.scenario")
    except ImportError:
        mod = None
    if mod is None or not hasattr(mod, "sweep_runner"):
        print("field sweep: skipped (field scenarios have no sweep runner yet)")
        return None
    import tomllib

    base = tomllib.loads((Path(__file__).parents[1] / "examples" / "spinodal.toml").read_text())
    base["field"]["shape"] = [128, 128]
    base["scheme"]["t1"] = 20.0
    base["initial"] = {"kind": "random", "mean": 0.5, "amplitude": 0.01, "seed": 0}
    base["output"] = {"every": 5.0}
    k = 4 if quick else 8
    grid = {
        "flow.mobility": [float(v) for v in np.linspace(1.0, 5.0, k)],
        "initial.amplitude": [float(v) for v in np.linspace(0.005, 0.02, k)],
    }
    n = k * k
    one = {"flow.mobility": grid["flow.mobility"][:1], "initial.amplitude": [0.01]}
    st.parallel.sweep(base, one, out=tmp / "f-warm")
    _, t_in = _timed(lambda: st.parallel.sweep(base, grid, out=tmp / "f-in"))
    st.parallel.sweep(base, one, out=tmp / "f-warm-c", client=client)
    _, t_c = _timed(lambda: st.parallel.sweep(base, grid, out=tmp / "f-c", client=client))
    print(f"Cahn–Hilliard 128² sweep of {n} runs: in-process {t_in:.1f} s, cluster {t_c:.1f} s")
    return [
        row(
            f"Cahn–Hilliard 128², {n}-run sweep, runs/s",
            n / t_c,
            "runs/s",
            "in-process",
            n / t_in,
            t_in / t_c,
        )
    ]


if __name__ == "__main__":
    main()
