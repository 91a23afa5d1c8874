"""Himmelblau basin map at 4000 x 4000 through a 2-worker Dask LocalCluster, into a Zarr store.

What it measures (one run, every number printed): the wall time and points/s of
``st.landscape.basins(V, box, 4000, client=..., store=...)`` on a ``LocalCluster`` of two worker
processes (one thread and one XLA device each), with the labels written chunk by chunk into a
Zarr store by the workers; the peak resident memory of the driver and of each worker (a 4000^2
float64 grid alone is 256 MB; the labels 64 MB); and, as a check, that the basin fractions agree
with a 1000 x 1000 in-process map within the discretisation error of the coarser one.

Usage: python benchmarks/bench_basins_cluster.py [--n N]. The last line printed is
``BENCH_JSON [...]`` for ``make bench``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import emit_json, machine, print_table, row

import steepest as st


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def main() -> None:
    from distributed import Client, LocalCluster

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000, help="cells per axis (default 4000)")
    args = ap.parse_args()
    n = args.n
    m = machine()
    print(f"machine: {m['cpu']}, {m['cores']} cores; python {sys.version.split()[0]}")
    V = st.potentials.get("himmelblau")
    box = ((-5.0, 5.0), (-5.0, 5.0))
    tmp = Path(tempfile.mkdtemp(prefix="steepest-bench-"))
    try:
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env={"XLA_FLAGS": "--xla_force_host_platform_device_count=1"},
            ) as cluster,
            Client(cluster) as client,
        ):
            t0 = time.perf_counter()
            bm = st.landscape.basins(V, box, n, client=client, store=tmp / "basins.zarr")
            wall = time.perf_counter() - t0
            workers = client.run(peak_rss_mb)
        driver = peak_rss_mb()  # before the in-process reference below
        store_mb = sum(f.stat().st_size for f in (tmp / "basins.zarr").rglob("*")) / 2**20
        ref = st.landscape.basins(V, box, 1000)
        dfrac = float(np.max(np.abs(bm.fractions - ref.fractions)))
        s = bm.stats
        print(
            f"{n}x{n} on 2 workers: {wall:.1f} s ({n * n / wall:.3g} points/s), {s['chunks']} "
            f"chunks, compile {s['compile_s']:.1f} s summed over workers, mean steps "
            f"{s['mean_steps']:.0f}, max {s['max_steps']}; fractions "
            f"{np.round(bm.fractions, 6).tolist()}, unconverged {bm.unconverged}, "
            f"not a minimum {bm.not_a_minimum}; store {store_mb:.1f} MB"
        )
        print(
            f"peak RSS: driver {driver:.0f} MB, workers "
            + ", ".join(f"{v:.0f} MB" for v in workers.values())
        )
        print(f"max |fraction({n}) - fraction(1000)| = {dfrac:.2e}")
        print()
        rows = [
            row(f"himmelblau basin map {n}x{n}, 2-worker LocalCluster", wall, "s"),
            row("  points/s", n * n / wall, "pts/s"),
            row("  peak RSS, driver", driver, "MB"),
            row("  peak RSS, largest worker", max(workers.values()), "MB"),
            row("  max |fraction - fraction at 1000^2|", dfrac, "", target="< 2e-3"),
        ]
        print_table(rows)
        emit_json(rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
