"""Small helpers shared by the benchmarks: machine description, float64 peak, table, JSON row."""

from __future__ import annotations

import json
import os
import platform
import subprocess


def _cpuinfo() -> dict[str, str]:
    """The first processor block of /proc/cpuinfo as a dict (empty off Linux)."""
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    if info:
                        break
                    continue
                k, _, v = line.partition(":")
                info.setdefault(k.strip(), v.strip())
    except OSError:
        pass
    return info


def _lscpu_max_mhz() -> float | None:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        if line.lower().startswith("cpu max mhz"):
            return float(line.split(":")[1])
    return None


def machine() -> dict:
    """CPU model, cores, clock, SIMD width and the float64 peak it implies.

    Peak float64 FLOP/s per core = clock x 2 FMA units x SIMD width in doubles x 2 (an FMA is
    two flops); SIMD width 8 with avx512f, 4 with avx2/fma, 2 with sse2. A nominal upper bound:
    some cores (e.g. AMD Zen 4) run 512-bit instructions as two 256-bit halves.
    """
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    mhz_max = _lscpu_max_mhz()
    mhz = mhz_max or float(info.get("cpu MHz", "nan"))
    if "avx512f" in flags:
        simd, isa = 8, "avx512f"
    elif "avx2" in flags and "fma" in flags:
        simd, isa = 4, "avx2+fma"
    else:
        simd, isa = 2, "sse2"
    cores = os.cpu_count() or 1
    fma_units = 2
    per_core = mhz * 1e6 * fma_units * simd * 2
    return {
        "cpu": info.get("model name", platform.processor() or "unknown"),
        "cores": cores,
        "mhz": mhz,
        "mhz_source": "lscpu max MHz" if mhz_max else "/proc/cpuinfo cpu MHz",
        "isa": isa,
        "simd_doubles": simd,
        "fma_units": fma_units,
        "peak_flops": per_core * cores,
    }


def jax_header() -> list[str]:
    import jax

    return [
        f"jax {jax.__version__}, devices {jax.devices()}, "
        f"float64 {'on' if jax.config.jax_enable_x64 else 'OFF'}"
    ]


def print_table(rows: list[dict]) -> None:
    """Rows of figure | steepest | peer | ratio | target (missing cells left out)."""
    cells = []
    for r in rows:
        c = [r["figure"], _fmt(r["value"], r["unit"])]
        if r.get("peer"):
            c += [f"{r['peer']} {_fmt(r['peer_value'], r['unit'])}"]
            c += [f"{r['ratio']:.1f}x" if r.get("ratio") is not None else ""]
            c += [r.get("target") or ""]
        elif r.get("target"):
            c += ["", "", r["target"]]
        cells.append(c)
    widths = [max(len(c[i]) for c in cells if len(c) > i) for i in range(5)]
    head = ["figure", "steepest", "peer", "ratio", "target"]
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    print("-+-".join("-" * w for w in widths))
    for c in cells:
        print(" | ".join(s.ljust(w) for s, w in zip(c, widths, strict=False)).rstrip())


def _fmt(v: float, unit: str) -> str:
    if unit == "s":
        return f"{v:.3g} s" if v < 100 else f"{v:.0f} s"
    return f"{v:.3g} {unit}"


def row(figure, value, unit, peer=None, peer_value=None, ratio=None, target=None) -> dict:
    return dict(
        figure=figure,
        value=value,
        unit=unit,
        peer=peer,
        peer_value=peer_value,
        ratio=ratio,
        target=target,
    )


def emit_json(rows: list[dict]) -> None:
    print("BENCH_JSON " + json.dumps(rows))
