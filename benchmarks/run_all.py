"""``make bench``: run every ``benchmarks/bench_*.py`` and print ONE table of headline figures.

Each script prints its own detail and, as its last line, ``BENCH_JSON [rows]`` (see
``_common.emit_json``); this driver runs them one after another (never two at once: they time
themselves), collects the rows and prints the combined table — each figure, the peer measured
in the same run, the ratio and the target — with the machine it ran on. The table is also
written to ``benchmarks/results.md`` and ``benchmarks/results.json`` for the README.

Usage: python benchmarks/run_all.py [--quick] [--only NAME ...] [--device cpu|gpu]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import jax_header, machine, print_table

HERE = Path(__file__).parent


def _scripts(only: list[str] | None) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    if only:
        found = [p for p in found if any(o in p.stem for o in only)]
    return found


def _accepts_quick(path: Path) -> bool:
    return "--quick" in path.read_text(encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="pass --quick to every script that has it")
    ap.add_argument("--only", nargs="*", help="run only the scripts whose name contains these")
    ap.add_argument("--device", default="cpu", help="label for the table (gpu.sh sets gpu)")
    args = ap.parse_args()
    m = machine()
    header = [
        f"machine: {m['cpu']}, {m['cores']} cores, {m['mhz']:.0f} MHz, {m['isa']}; "
        f"python {sys.version.split()[0]}",
        *jax_header(),
        f"device: {args.device}; {'quick' if args.quick else 'full'} runs; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
    ]
    rows, failed = [], []
    for path in _scripts(args.only):
        cmd = [sys.executable, str(path)] + (
            ["--quick"] if args.quick and _accepts_quick(path) else []
        )
        print(f"== {path.name}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent, env=os.environ)
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            sys.stdout.write(proc.stderr[-4000:])
            failed.append(path.name)
            continue
        mine = [
            json.loads(line[len("BENCH_JSON ") :])
            for line in proc.stdout.splitlines()
            if line.startswith("BENCH_JSON ")
        ]
        if not mine:
            failed.append(f"{path.name} (printed no BENCH_JSON line)")
            continue
        for r in mine[-1]:
            r["script"] = path.name
            rows.append(r)
        print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    print()
    print(*header, sep="\n")
    print()
    print_table(rows)
    if failed:
        print("\nFAILED: " + ", ".join(failed))
    (HERE / "results.json").write_text(json.dumps({"header": header, "rows": rows}, indent=1))
    with open(HERE / "results.md", "w", encoding="utf-8") as f:
        f.write("\n".join(f"<!-- {h} -->" for h in header) + "\n\n")
        f.write("| figure | steepest | peer | ratio | target |\n|---|---|---|---|---|\n")
        for r in rows:
            peer = f"{r['peer']} {_fmt(r['peer_value'], r['unit'])}" if r.get("peer") else ""
            ratio = f"{r['ratio']:.1f}×" if r.get("ratio") is not None else ""
            f.write(
                f"| {r['figure']} | {_fmt(r['value'], r['unit'])} | {peer} | {ratio} | "
                f"{r.get('target') or ''} |\n"
            )
    return 1 if failed else 0


def _fmt(v, unit: str) -> str:
    if v is None:
        return ""
    if unit == "s":
        return f"{v:.3g} s" if v < 100 else f"{v:.0f} s"
    return f"{v:.3g} {unit}".strip()


if __name__ == "__main__":
    sys.exit(main())
