"""Cold-process CLI time: `steepest run examples/muller-brown.toml` from a fresh interpreter.

Target: a small 2-D scenario runs end to end (imports, scenario, compile or cache load, solve,
NetCDF, summary, PNG) in under 5 s. The peer, measured in the same run, is the floor every JAX
program pays: a fresh interpreter that only does `import jax` and one jitted call. The first
`steepest run` may fill the persistent compilation cache; the median of the next three is the
headline.

Usage: python benchmarks/bench_cli_cold.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import emit_json, jax_header, print_table, row

ROOT = Path(__file__).parents[1]
STEEPEST = Path(sys.executable).with_name("steepest")


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t


def main() -> None:
    for line in jax_header():
        print(line)
    with tempfile.TemporaryDirectory() as out:
        cmd = [str(STEEPEST), "run", "examples/muller-brown.toml", "--out", out]
        first = wall(cmd)
        runs = [wall(cmd) for _ in range(3)]
    floor = [
        wall([sys.executable, "-c", "import jax; jax.jit(lambda x: x + 1)(1.0)"]) for _ in range(3)
    ]
    t, f = statistics.median(runs), statistics.median(floor)
    rows = [
        row(
            "steepest run muller-brown.toml, cold process",
            t,
            "s",
            "import jax + one jit",
            f,
            t / f,
            "< 5 s",
        ),
        row("same, first run (fills the compilation cache)", first, "s"),
    ]
    print()
    print_table(rows)
    emit_json(rows)


if __name__ == "__main__":
    main()
