"""Field scenarios: TOML files with a top-level ``[field]`` table, run by ``steepest run``.

Two kinds. A **gradient flow** (a ``[functional]`` table)::

    [field]       discretisation = "spectral" | "finite-volume", shape, lengths, origin,
                  boundary = "periodic" | "no-flux" | "dirichlet" (or one per axis), dirichlet
    [functional]  kind = "pfhub1" | "ginzburg-landau" | "dirichlet" | "entropy-potential" |
                  "porous-medium", kappa, height, minima, kT, potential (expression of x, y, z), m
    [flow]        metric = "L2" | "H-1" | "wasserstein", mobility (number or expression of c),
                  flux = "auto" | "scharfetter-gummel" | "upwind"
    [scheme]      kind, dt, t1, adaptive = false | "energy" | "error", dt_min, dt_max, alpha,
                  rtol, atol, S, C0, L, M0, max_steps, check_energy, tol, max_iter
    [initial]     kind = "pfhub1a" | "expression" | "random" | "constant", expression, value,
                  mean, amplitude, seed
    [output]      every, n_save, field_every, checkpoint_every, checkpoint_seconds,
                  format = "zarr" | "netcdf", fields, plot, animation, dir

and a **transport** run (a ``[transport]`` table: ``conductivity``, ``diffusivity`` — numbers or
expressions of T and c —, ``heat_capacity``, ``k_B``, ``temperature``), whose ``[initial]``
gives ``T`` and ``c`` (numbers or expressions of x, y, z) and whose ``[scheme]`` gives ``t1``,
``rtol``, ``atol``, ``max_steps`` and ``method`` (``"dopri5"`` or ``"rkc"``).

Every key is checked: an unknown key, a wrong type or a bad value is a one-sentence error naming
the key. A gradient flow streams into ``DIR/fields.zarr`` with checkpoints
(:mod:`steepest.fields.run`), so ``steepest resume DIR`` continues a killed run. Expressions go
through the whitelist parser of :mod:`steepest.energy._expression`: a scenario never runs code.
"""

from __future__ import annotations

import copy
import json
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._core.errors import ConvergenceError, FlowDiverged, ScenarioError
from ..scenario.schema import _describe, _type_ok, check_keys, read, set_override

#: key → type (``"number|str"`` etc. accept either)
TABLES: dict[str, dict[str, str]] = {
    "": {
        "title": "str",
        "description": "str",
        "field": "table",
        "functional": "table",
        "flow": "table",
        "scheme": "table",
        "initial": "table",
        "output": "table",
        "transport": "table",
    },
    "field": {
        "discretisation": "str",
        "shape": "list[int]|int",
        "lengths": "list[float]|float",
        "origin": "list[float]|float",
        "boundary": "str|list[str]",
        "dirichlet": "float|matrix|list[float]",
    },
    "functional": {
        "kind": "str",
        "kappa": "float",
        "height": "float",
        "minima": "list[float]",
        "kT": "float",
        "potential": "str",
        "m": "float",
    },
    "flow": {"metric": "str", "mobility": "float|str", "flux": "str"},
    "scheme": {
        "kind": "str",
        "dt": "float",
        "t1": "float",
        "adaptive": "bool|str",
        "dt_min": "float",
        "dt_max": "float",
        "alpha": "float",
        "rtol": "float",
        "atol": "float",
        "S": "float",
        "C0": "float",
        "L": "float",
        "M0": "float",
        "max_steps": "int",
        "check_energy": "bool",
        "tol": "float",
        "max_iter": "int",
        "method": "str",
    },
    "initial": {
        "kind": "str",
        "expression": "str",
        "value": "float",
        "mean": "float",
        "amplitude": "float",
        "seed": "int",
        "T": "float|str",
        "c": "float|str",
        **{f"c{i}": "float|str" for i in range(1, 10)},
    },
    "output": {
        "every": "float",
        "n_save": "int",
        "field_every": "float",
        "checkpoint_every": "int",
        "checkpoint_seconds": "float",
        "format": "str",
        "fields": "bool",
        "plot": "bool",
        "animation": "bool",
        "dir": "str",
    },
    "transport": {
        "conductivity": "float|str",
        "diffusivity": "float|str|list[float]|list[str]",
        "heat_capacity": "float",
        "k_B": "float",
        "temperature": "float",
    },
}
TRANSPORT_SCHEME = ("t1", "rtol", "atol", "max_steps", "method")
PFHUB_F0 = (319.03, 319.25)  #: the published range of F(0) for PFHub 1a (pfhub-benchmark-1)


def _check(table: str, data: Any) -> None:
    """check_keys, with the keys that take one of several types checked here first."""
    allowed = TABLES[table]
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{table}: expected a table [{table}], got {data!r}.", key=table)
    simple = {k: v for k, v in allowed.items() if "|" not in v}
    multi = {k: v for k, v in allowed.items() if "|" in v}
    rest = {}
    for k, v in data.items():
        if k in multi:
            kinds = multi[k].split("|")
            if not any(_type_ok(kd, v) for kd in kinds):
                want = " or ".join(_describe(kd) for kd in kinds)
                key = f"{table}.{k}" if table else k
                raise ScenarioError(
                    f"{key}: expected {want}, got {type(v).__name__} {v!r}.", key=key
                )
        else:
            rest[k] = v
    check_keys(table, rest, {**simple, **{k: "str" for k in multi}})


def validate(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check the tables and keys of a field scenario; return it as plain dicts."""
    _check("", data)
    for t in TABLES:
        if t and t in data:
            _check(t, data[t])
    if "transport" in data:
        bad = [k for k in data.get("scheme", {}) if k not in TRANSPORT_SCHEME]
        if bad:
            raise ScenarioError(
                f"scheme.{bad[0]}: a transport run takes only {', '.join(TRANSPORT_SCHEME)} in "
                "[scheme] (its integrator is an adaptive Dormand–Prince pair).",
                key=f"scheme.{bad[0]}",
            )
        if "functional" in data or "flow" in data:
            raise ScenarioError(
                "transport: a scenario is either a transport run ([transport]) or a gradient flow "
                "([functional], [flow]); remove one.",
                key="transport",
            )
    elif "method" in data.get("scheme", {}):
        raise ScenarioError(
            "scheme.method: only a transport run takes a method (dopri5 or rkc); a gradient flow "
            "chooses its scheme with scheme.kind.",
            key="scheme.method",
        )
    elif "functional" not in data:
        raise ScenarioError(
            'functional: a [field] scenario needs a [functional] table (e.g. kind = "pfhub1") '
            "for a gradient flow, or a [transport] table for heat conduction and diffusion.",
            key="functional",
        )
    for t in ("field",):
        if t not in data:
            raise ScenarioError(f"{t}: the scenario needs a [{t}] table.", key=t)
    return {k: (copy.deepcopy(dict(v)) if isinstance(v, Mapping) else v) for k, v in data.items()}


def load_data(path: str | Path, set_: list[str] | None = None, t1: float | None = None) -> dict:
    data = read(path)
    for s in set_ or []:
        set_override(data, s)
    if t1 is not None:
        data.setdefault("scheme", {})["t1"] = float(t1)
    return validate(data)


# -- building --------------------------------------------------------------------------------------
def build_grid(data: dict[str, Any]):
    from .grids import make_grid

    f = data["field"]
    for k in ("shape", "lengths"):
        if k not in f:
            raise ScenarioError(
                f"field.{k}: missing; e.g. shape = [128, 128], lengths = [200, 200].",
                key=f"field.{k}",
            )
    return make_grid(
        f["shape"],
        f["lengths"],
        discretisation=f.get(
            "discretisation", "finite-volume" if "transport" in data else "spectral"
        ),
        boundary=f.get("boundary", "no-flux" if "transport" in data else "periodic"),
        origin=f.get("origin", 0.0),
        dirichlet=f.get("dirichlet", 0.0),
    )


def _field_expression(text: str, grid: Any, key: str) -> np.ndarray:
    import jax
    import jax.numpy as jnp

    from ..energy._expression import compile_expression

    names = ("x", "y", "z")[: grid.ndim]
    expr = compile_expression(text, names, key=key)
    pts = jnp.stack([jnp.ravel(jnp.asarray(a)) for a in grid.coordinates()], axis=-1)
    vals = np.asarray(jax.vmap(expr)(pts)).reshape(grid.shape)
    if not np.all(np.isfinite(vals)):
        raise ScenarioError(f"{key}: the expression {text!r} is not finite on the grid.", key=key)
    return vals


def _pointwise(text: str, names: tuple[str, ...], key: str):
    """An elementwise JAX function of fields from an expression of ``names``."""
    import jax
    import jax.numpy as jnp

    from ..energy._expression import compile_expression

    expr = compile_expression(text, names, key=key)

    def f(*fields):
        fields = [jnp.asarray(a) if a is not None else jnp.asarray(0.0) for a in fields]
        shape = jnp.broadcast_shapes(*(a.shape for a in fields))
        flat = jnp.stack([jnp.ravel(jnp.broadcast_to(a, shape)) for a in fields], axis=-1)
        return jax.vmap(expr)(flat).reshape(shape)

    f.text = text  # type: ignore[attr-defined]
    return f


def build_functional(data: dict[str, Any], grid: Any):
    from . import functionals as fn

    f = data["functional"]
    kind = str(f.get("kind", "")).strip().lower().replace("_", "-")
    allowed = {
        "pfhub1": set(),
        "ginzburg-landau": {"kappa", "height", "minima"},
        "dirichlet": {"kappa"},
        "entropy-potential": {"kT", "potential"},
        "porous-medium": {"m"},
    }
    aliases = {"pfhub-1": "pfhub1", "pfhub1a": "pfhub1", "double-well": "ginzburg-landau",
               "fokker-planck": "entropy-potential", "heat": "dirichlet"}  # fmt: skip
    kind = aliases.get(kind, kind)
    if kind not in allowed:
        raise ScenarioError(
            f"functional.kind: unknown functional {f.get('kind')!r}; choose from "
            f"{', '.join(allowed)}.",
            key="functional.kind",
        )
    extra = [k for k in f if k != "kind" and k not in allowed[kind]]
    if extra:
        takes = ", ".join(sorted(allowed[kind])) or "no parameters"
        raise ScenarioError(
            f"functional.{extra[0]}: the {kind} functional takes {takes}.",
            key=f"functional.{extra[0]}",
        )
    if kind == "pfhub1":
        return fn.pfhub1()
    if kind == "ginzburg-landau":
        kw: dict[str, Any] = {k: f[k] for k in ("kappa", "height") if k in f}
        if "minima" in f:
            if len(f["minima"]) != 2:
                raise ScenarioError(
                    f"functional.minima: expected two minima [a, b], got {f['minima']!r}.",
                    key="functional.minima",
                )
            kw["minima"] = tuple(f["minima"])
        return fn.ginzburg_landau(**kw)
    if kind == "dirichlet":
        return fn.dirichlet(f.get("kappa", 1.0))
    if kind == "porous-medium":
        return fn.porous_medium(f.get("m", 2.0))
    V = None
    if "potential" in f:
        names = ("x", "y", "z")[: grid.ndim]
        V = _pointwise(f["potential"], names, "functional.potential")
    return fn.entropy_potential(V, f.get("kT", 1.0))


def build_flow(data: dict[str, Any]):
    """The field flow a (validated) gradient-flow scenario describes."""
    from .flows import make_flow

    data = validate(data)
    grid = build_grid(data)
    functional = build_functional(data, grid)
    fl = data.get("flow", {})
    mob = fl.get("mobility", 1.0)
    if isinstance(mob, str):
        mob = _pointwise(mob, ("c",), "flow.mobility")
    kw = {"flux_scheme": fl["flux"]} if "flux" in fl else {}
    metric = fl.get("metric", "L2")
    if "flux" in fl and str(metric).lower() not in ("wasserstein", "w2", "fokker-planck"):
        raise ScenarioError(
            "flow.flux: only a Wasserstein flow takes a flux scheme; remove flow.flux.",
            key="flow.flux",
        )
    return make_flow(metric, grid, functional, mob, **kw)


def build_initial(data: dict[str, Any], grid: Any) -> np.ndarray:
    from .functionals import pfhub1_initial

    ini = data.get("initial", {})
    kind = str(ini.get("kind", "expression" if "expression" in ini else "")).strip().lower()
    takes = {
        "pfhub1a": set(),
        "expression": {"expression"},
        "constant": {"value"},
        "random": {"mean", "amplitude", "seed"},
    }
    kind = {"pfhub1": "pfhub1a", "pfhub": "pfhub1a", "uniform": "constant"}.get(kind, kind)
    if kind not in takes:
        raise ScenarioError(
            f"initial.kind: unknown initial condition {ini.get('kind')!r}; choose from "
            f"{', '.join(takes)}.",
            key="initial.kind",
        )
    extra = [k for k in ini if k != "kind" and k not in takes[kind]]
    if extra:
        raise ScenarioError(
            f"initial.{extra[0]}: the {kind} initial condition takes "
            f"{', '.join(sorted(takes[kind])) or 'no other keys'}.",
            key=f"initial.{extra[0]}",
        )
    if kind == "pfhub1a":
        return pfhub1_initial(grid)
    if kind == "expression":
        if "expression" not in ini:
            raise ScenarioError(
                'initial.expression: missing; e.g. expression = "tanh(x / sqrt(2))".',
                key="initial.expression",
            )
        return _field_expression(ini["expression"], grid, "initial.expression")
    if kind == "constant":
        return np.full(grid.shape, float(ini.get("value", 0.0)))
    rng = np.random.default_rng(ini.get("seed", 0))
    return float(ini.get("mean", 0.0)) + float(ini.get("amplitude", 0.01)) * rng.uniform(
        -1, 1, grid.shape
    )


def build_transport(data: dict[str, Any]):
    from .transport import Transport

    data = validate(data)
    grid = build_grid(data)
    tr = data["transport"]
    k = tr.get("conductivity")
    if isinstance(k, str):
        k = _pointwise(k, ("T", "c"), "transport.conductivity")
    D = tr.get("diffusivity")
    if isinstance(D, list):
        D = [_pointwise(d, ("c", "T"), f"transport.diffusivity[{i}]") if isinstance(d, str)
             else d for i, d in enumerate(D)]  # fmt: skip
    elif isinstance(D, str):
        D = _pointwise(D, ("c", "T"), "transport.diffusivity")
    model = Transport(
        grid, conductivity=k, diffusivity=D,
        **{key: tr[key] for key in ("heat_capacity", "k_B", "temperature") if key in tr},
    )  # fmt: skip
    ini = data.get("initial", {})
    y0 = {}
    for v in model.variables:
        if v not in ini:
            raise ScenarioError(
                f"initial.{v}: missing; this transport run needs the fields "
                f"{', '.join(model.variables)} (a number or an expression of x, y, z).",
                key=f"initial.{v}",
            )
        val = ini[v]
        y0[v] = (
            _field_expression(val, grid, f"initial.{v}")
            if isinstance(val, str)
            else np.full(grid.shape, float(val))
        )
    extra = [k for k in ini if k not in model.variables]
    if extra:
        raise ScenarioError(
            f"initial.{extra[0]}: this transport run has the fields {', '.join(model.variables)}.",
            key=f"initial.{extra[0]}",
        )
    return model, y0


# -- running ---------------------------------------------------------------------------------------
def _save_settings(data: dict[str, Any], t1: float) -> dict[str, Any]:
    o = data.get("output", {})
    every = o.get("every")
    kw: dict[str, Any] = {"save_every": every, "n_save": o.get("n_save")}
    if every is not None and "n_save" in o:
        raise ScenarioError(
            "output.n_save: give output.every or output.n_save, not both.", key="output.n_save"
        )
    stride = 1
    if "field_every" in o:
        if every is None:
            raise ScenarioError(
                "output.field_every: needs output.every (the fields are stored at multiples of "
                "it).",
                key="output.field_every",
            )
        ratio = o["field_every"] / every
        stride = int(round(ratio))
        if stride < 1 or abs(ratio - stride) > 1e-9 * ratio:
            raise ScenarioError(
                f"output.field_every: {o['field_every']:g} is not a multiple of output.every = "
                f"{every:g}.",
                key="output.field_every",
            )
    kw["field_stride"] = stride
    kw["save_fields"] = bool(o.get("fields", True))
    return kw


def run_flow(data: dict[str, Any], out: Path, *, progress: Any = False, overwrite: bool = False):
    """Build and stream a gradient-flow scenario into ``out``; return (flow, solution)."""
    from .run import stream

    flow = build_flow(data)
    grid = flow.grid
    sc = data.get("scheme", {})
    if "t1" not in sc or "dt" not in sc:
        missing = "t1" if "t1" not in sc else "dt"
        raise ScenarioError(
            f"scheme.{missing}: missing; e.g. t1 = 100, dt = 0.5.", key=f"scheme.{missing}"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c0 = build_initial(data, grid)
        o = data.get("output", {})
        opts = {k: sc[k] for k in ("tol", "max_iter") if k in sc}
        params = {k: sc[k] for k in ("S", "C0", "L", "M0") if k in sc}
        sol = stream(
            flow,
            c0,
            sc["t1"],
            out=out,
            dt=sc["dt"],
            scheme=sc.get("kind", "semi-implicit"),
            adaptive=sc.get("adaptive"),
            dt_min=sc.get("dt_min"),
            dt_max=sc.get("dt_max"),
            alpha=sc.get("alpha"),
            rtol=sc.get("rtol"),
            atol=sc.get("atol"),
            check_energy=sc.get("check_energy", True),
            max_steps=sc.get("max_steps", 100_000_000),
            checkpoint_every=o.get("checkpoint_every"),
            checkpoint_seconds=o.get("checkpoint_seconds", 300.0),
            progress=progress,
            scheme_options=opts or None,
            scenario=data,
            title=str(data.get("title", "")),
            **_save_settings(data, sc["t1"]),
            **params,
        )
    sol.stats["warnings"] = sorted({str(w.message) for w in caught})
    return flow, sol


def flow_checks(data: dict[str, Any], flow: Any, sol: Any) -> dict[str, bool]:
    """The invariants a gradient-flow run is checked on (computed from the run's records)."""
    checks = {"finite": bool(np.all(np.isfinite(sol.energy)) and np.all(np.isfinite(sol.final)))}
    if sol.stats.get("promise") in ("energy", "modified-energy") and data.get("scheme", {}).get(
        "check_energy", True
    ):
        checks["energy_non_increasing"] = sol.energy_monotone
    if flow.conserves_mass:
        m = sol.mass
        scale = max(abs(float(m[0])), flow.grid.volume * float(np.max(np.abs(sol.final))), 1e-300)
        checks["mass_conserved_1e-12"] = bool(np.max(np.abs(m - m[0])) <= 1e-12 * scale)
    if _is_pfhub1a(data, flow):
        lo, hi = PFHUB_F0
        checks[f"pfhub1a_F0_in_[{lo},{hi}]"] = bool(lo <= sol.energy[0] <= hi)
        checks["free_energy_decreasing"] = bool(np.all(np.diff(sol.energy) < 0))
    return checks


def _is_pfhub1a(data: dict[str, Any], flow: Any) -> bool:
    ini = data.get("initial", {}).get("kind", "")
    return (
        flow.functional.name == "pfhub-1"
        and str(ini).lower() in ("pfhub1a", "pfhub1", "pfhub")
        and tuple(flow.grid.lengths) == (200.0, 200.0)
        and all(b == "periodic" for b in flow.grid.boundary)
    )


def _console():
    from rich.console import Console

    return Console()


def _write_summary(out: Path, summary: dict[str, Any]) -> None:
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")


def _finish_flow(data, flow, sol, out: Path, code: int, plot: bool, t_start: float, console) -> int:
    from . import run as runmod

    files = [runmod.STORE, runmod.CSV]
    o = data.get("output", {})
    ds = runmod.open_run(out)
    if o.get("format", "zarr") == "netcdf":
        ds.load().to_netcdf(out / "solution.nc", engine="h5netcdf")
        files.append("solution.nc")
    checks = flow_checks(data, flow, sol) if code == 0 else {"finished": False}
    code = code if all(checks.values()) else 1
    if plot and o.get("plot", True):
        from ..plot import fields as pf

        files += pf.flow_figures(ds, flow, out, title=str(data.get("title", "")),
                                 animation=o.get("animation", True))  # fmt: skip
    summary = {
        "kind": "field",
        "model": "gradient-flow",
        "title": data.get("title", ""),
        "pde": flow.expression(),
        **sol.summary(),
        "checks": checks,
        "warnings": sol.stats.get("warnings", []),
        "exit_code": code,
        "files": files,
    }
    _write_summary(out, summary)
    for w in summary["warnings"]:
        console.print(f"[yellow]note:[/] {w}", highlight=False)
    console.print(
        f"F: {sol.energy[0]:.10g} → {sol.energy[-1]:.10g} at t = {sol.t[-1]:g} in "
        f"{sol.stats['steps']} steps; checks: "
        + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in checks.items()),
        highlight=False,
    )
    console.print(
        f"wrote {', '.join(files + ['summary.json'])} to {out}/ in "
        f"{time.perf_counter() - t_start:.2f} s (compile {sol.stats.get('compile_s', 0):.2f} s)",
        highlight=False,
    )
    return code


def _writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-probe"
        probe.write_bytes(b"steepest")
        probe.unlink()
    except OSError as err:
        raise ScenarioError(
            f"output.dir: cannot write to {str(out)!r} ({err.strerror or err}); choose a "
            "directory you can write to.",
            key="output.dir",
        ) from None


def _run_transport(data, out: Path, plot: bool, t_start: float, console) -> int:
    from .transport import solve_transport

    model, y0 = build_transport(data)
    sc = data.get("scheme", {})
    if "t1" not in sc:
        raise ScenarioError("scheme.t1: missing; e.g. t1 = 0.5.", key="scheme.t1")
    o = data.get("output", {})
    bad = [k for k in o if k not in ("every", "n_save", "plot", "dir", "format")]
    if bad:
        raise ScenarioError(
            f"output.{bad[0]}: a transport run takes every, n_save, plot, dir and format in "
            "[output] (it is short and not checkpointed).",
            key=f"output.{bad[0]}",
        )
    _writable(out)  # before the run, in one sentence
    console.print(
        f"[bold]{data.get('title', 'transport')}[/]: {model.expression()}", highlight=False
    )
    sol = solve_transport(
        model, y0, sc["t1"], n_save=o.get("n_save"), save_every=o.get("every"),
        **{k: sc[k] for k in ("rtol", "atol", "max_steps", "method") if k in sc},
    )  # fmt: skip
    ds = sol.to_xarray()
    name = "solution.zarr" if o.get("format") == "zarr" else "solution.nc"
    if name.endswith(".nc"):
        ds.to_netcdf(out / name, engine="h5netcdf")
    else:
        ds.to_zarr(out / name, mode="w", consolidated=False)
    files = [name]
    if plot and o.get("plot", True):
        from ..plot import fields as pf

        files += pf.transport_figures(sol, out, title=str(data.get("title", "")))
    checks = sol.checks()
    summary = {
        "kind": "field",
        "model": "transport",
        "title": data.get("title", ""),
        "pde": model.expression(),
        "t_final": float(sol.t[-1]),
        "entropy_initial": float(sol.entropy[0]),
        "entropy_final": float(sol.entropy[-1]),
        "entropy_produced": float(sol.produced[-1]),
        "sigma_min": float(np.min(sol.sigma_min)),
        **{f"content_{k}": float(v[-1]) for k, v in sol.content.items()},
        **sol.stats,
        "checks": checks,
        "exit_code": 0 if all(checks.values()) else 1,
        "files": files,
    }
    _write_summary(out, summary)
    console.print(
        f"S: {sol.entropy[0]:.10g} → {sol.entropy[-1]:.10g}, ∫σ dt = {sol.produced[-1]:.10g} "
        f"({sol.stats['steps']} steps); checks: "
        + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in checks.items()),
        highlight=False,
    )
    console.print(
        f"wrote {', '.join(files + ['summary.json'])} to {out}/ in "
        f"{time.perf_counter() - t_start:.2f} s",
        highlight=False,
    )
    return summary["exit_code"]


def run_cli(path: Path, *, out: Path | None, set_: list[str], t1: float | None, plot: bool) -> int:
    """``steepest run FILE.toml`` for a ``[field]`` scenario; the exit code."""
    from .._core.config import enable_compilation_cache
    from ..cli._console import fail

    t_start = time.perf_counter()
    enable_compilation_cache()
    console = _console()
    try:
        data = load_data(path, set_, t1)
        out_dir = Path(out or data.get("output", {}).get("dir") or Path("runs") / Path(path).stem)
        if "transport" in data:
            return _run_transport(data, out_dir, plot, t_start, console)
        flow = build_flow(data)
        console.print(
            f"[bold]{data.get('title', Path(path).stem)}[/]: {flow.expression()}; scheme "
            f"{data.get('scheme', {}).get('kind', 'semi-implicit')}, t1 = "
            f"{data.get('scheme', {}).get('t1', float('nan')):g}",
            highlight=False,
        )
        code = 0
        try:
            flow, sol = run_flow(data, out_dir, progress=True)
        except FlowDiverged as err:
            console.print(f"[bold red]diverged:[/] {err}", highlight=False)
            sol, code = err.solution, 1
        except ConvergenceError as err:
            console.print(f"[bold red]not converged:[/] {err}", highlight=False)
            if err.result is None:
                return 1
            sol, code = err.result, 1
        return _finish_flow(data, flow, sol, out_dir, code, plot, t_start, console)
    except ScenarioError as err:
        fail(str(err))


def resume_cli(directory: Path) -> int:
    """``steepest resume DIR`` for a field run; the exit code."""
    from .._core.config import enable_compilation_cache
    from ..cli._console import fail
    from . import run as runmod

    t_start = time.perf_counter()
    enable_compilation_cache()
    console = _console()
    try:
        spec = runmod.read_manifest(directory)
        data = spec.get("scenario")
        if not data:
            fail(
                f"resume: the run in {str(directory)!r} was started from Python; resume it there "
                "with steepest.fields.resume(directory, flow)."
            )
        flow = build_flow(data)
        console.print(
            f"[bold]resuming[/] {spec.get('title') or directory}: {flow.expression()}",
            highlight=False,
        )
        code = 0
        try:
            sol = runmod.resume(directory, flow, progress=True)
        except FlowDiverged as err:
            console.print(f"[bold red]diverged:[/] {err}", highlight=False)
            sol, code = err.solution, 1
        except ConvergenceError as err:
            console.print(f"[bold red]not converged:[/] {err}", highlight=False)
            return 1
        plot = bool(data.get("output", {}).get("plot", True))
        return _finish_flow(data, flow, sol, Path(directory), code, plot, t_start, console)
    except ScenarioError as err:
        fail(str(err))


# -- sweeps ----------------------------------------------------------------------------------------
class FieldSweepRunner:
    """One field scenario per grid point of ``steepest sweep``: the run in memory (no stream),
    its final values and final field stored. Flows are reused between points with the same
    [field], [functional] and [flow] tables, so their compiled loops are too."""

    kind = "field"

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def _model(self, data: dict[str, Any]) -> Any:
        data = validate(data)
        tables = (
            ("field", "transport", "initial")
            if "transport" in data
            else ("field", "functional", "flow")
        )
        key = json.dumps([data.get(t) for t in tables], sort_keys=True, default=str)
        if key not in self._cache:
            self._cache[key] = build_transport(data) if "transport" in data else build_flow(data)
            if len(self._cache) > 16:
                self._cache.pop(next(iter(self._cache)))
        return data, self._cache[key]

    def validate(self, data: dict[str, Any]) -> None:
        self._model(data)

    def n_samples(self, data: dict[str, Any]) -> None:
        return None

    def outputs(self, data: dict[str, Any]) -> dict[str, Any]:
        from ..parallel.runners import Output

        data, model = self._model(data)
        if "transport" in data:
            model, _ = model
            grid = model.grid
            out = {
                "entropy_final": Output((), (), "float64", "S at t1"),
                "entropy_produced": Output((), (), "float64", "∫σ dt from 0 to t1"),
                "sigma_min": Output((), (), "float64", "the smallest σ_total over every step"),
                "steps": Output((), (), "int64", "accepted steps"),
            }
            dims = tuple(("x", "y", "z")[: grid.ndim])
            for v in model.variables:
                out[f"{v}_final"] = Output(dims, grid.shape, "float64", f"{v} at t1")
            return out
        grid = model.grid
        dims = tuple(("x", "y", "z")[: grid.ndim])
        return {
            "free_energy_final": Output((), (), "float64", "F at t1"),
            "mass_final": Output((), (), "float64", "∫c dV at t1"),
            "steps": Output((), (), "int64", "accepted steps"),
            "c_final": Output(dims, grid.shape, "float64", "the field at t1"),
        }

    def run(self, data: dict[str, Any], samples: Any) -> dict[str, np.ndarray]:
        from .evolve import evolve
        from .transport import solve_transport

        data, model = self._model(data)
        sc = data.get("scheme", {})
        o = data.get("output", {})
        if "transport" in data:
            model, y0 = model
            s = solve_transport(
                model, y0, sc["t1"], n_save=o.get("n_save"), save_every=o.get("every"),
                **{k: sc[k] for k in ("rtol", "atol", "max_steps", "method") if k in sc},
            )  # fmt: skip
            res = {
                "entropy_final": np.asarray(s.entropy[-1]),
                "entropy_produced": np.asarray(s.produced[-1]),
                "sigma_min": np.asarray(np.min(s.sigma_min)),
                "steps": np.asarray(s.stats["steps"], dtype=np.int64),
            }
            return res | {f"{v}_final": a[-1] for v, a in s.fields.items()}
        flow = model
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c0 = build_initial(data, flow.grid)
            sol = evolve(
                flow, c0, sc["t1"], dt=sc["dt"], scheme=sc.get("kind", "semi-implicit"),
                adaptive=sc.get("adaptive"), dt_min=sc.get("dt_min"), dt_max=sc.get("dt_max"),
                alpha=sc.get("alpha"), rtol=sc.get("rtol"), atol=sc.get("atol"),
                save_every=o.get("every"),
                n_save=o.get("n_save", None if "every" in o else 2),  # only t1 is stored
                save_fields=False, check_energy=sc.get("check_energy", True),
                max_steps=sc.get("max_steps", 100_000_000),
                scheme_options={k: sc[k] for k in ("tol", "max_iter") if k in sc} or None,
                **{k: sc[k] for k in ("S", "C0", "L", "M0") if k in sc},
            )  # fmt: skip
        return {
            "free_energy_final": np.asarray(sol.energy[-1]),
            "mass_final": np.asarray(sol.mass[-1]),
            "steps": np.asarray(sol.stats["steps"], dtype=np.int64),
            "c_final": np.asarray(sol.final),
        }


def sweep_runner() -> FieldSweepRunner:
    """The runner ``steepest sweep`` uses for [field] scenarios."""
    return FieldSweepRunner()
