"""``steepest run SCENARIO.toml``, ``steepest info``, ``steepest potentials``, ``steepest resume``.

Other commands live beside this file, one module each (``COMMAND_MODULES``).

Errors in user input print one sentence (exit code 2); a flow that diverges prints the diagnosis,
keeps what was computed (exit code 1).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ._console import fail as _fail

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="steepest — gradient flows: the steepest descent of an energy, dx/dt = −G(x)⁻¹∇V(x).",
    pretty_exceptions_enable=False,
)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="the scenario TOML file")],
    out: Annotated[Path | None, typer.Option("--out", help="output directory")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="override a key: --set integrate.step=0.01 (repeatable)"),
    ] = None,
    t1: Annotated[float | None, typer.Option("--t1", help="override the end time")] = None,
    allow_import: Annotated[
        bool,
        typer.Option(
            "--allow-import", help="allow energy.function = 'module:function' (runs that code)"
        ),
    ] = False,
    plot: Annotated[bool, typer.Option("--plot/--no-plot", help="write landscape.png")] = True,
) -> None:
    """Run a scenario; write the dataset, summary.json and a landscape plot."""
    t_start = time.perf_counter()
    runner = _runner_for(scenario)
    if runner is not None:
        raise typer.Exit(runner.run_cli(scenario, out=out, set_=set_ or [], t1=t1, plot=plot))
    import steepest as st
    from steepest.scenario import load

    st.enable_compilation_cache()
    try:
        sc = load(scenario, set_ or [], t1=t1, allow_import=allow_import)
    except st.ScenarioError as err:
        _fail(str(err))
    out_dir = out or Path(sc.output.get("dir") or Path("runs") / scenario.stem)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        _fail(f"--out: cannot create the output directory {str(out_dir)!r}: {err.strerror}.")

    from rich.console import Console

    console = Console()
    formula = str(sc.flow.energy.formula or sc.flow.energy.name)
    if not formula.startswith("V"):
        formula = f"V = {formula}"
    console.print(
        f"[bold]{sc.title}[/]: {sc.flow.expression()} with {formula}; method "
        f"{sc.solve_kwargs['method']}, {len(sc.x0)} start(s), t1 = "
        f"{sc.solve_kwargs['t1']:g}",
        highlight=False,
    )
    code = 0
    try:
        sol = sc.run(progress=True)
    except st.FlowDiverged as err:
        sol = err.solution
        console.print(f"[bold red]diverged:[/] {err}", highlight=False)
        code = 1
    except st.ConvergenceError as err:
        sol = err.result
        console.print(f"[bold red]not converged:[/] {err}", highlight=False)
        code = 1
    except st.ScenarioError as err:
        _fail(str(err))
    ext = ".zarr" if sc.output.get("format") == "zarr" else ".nc"
    data_path = sol.save(out_dir / f"solution{ext}")
    summary = {"title": sc.title, **sol.summary(), "exit_code": code}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    files = [data_path.name, "summary.json"]
    if plot and sc.output.get("plot", True):
        from steepest.plot import landscape_figure

        fig = landscape_figure(sc.flow.energy, sol, title=sc.title)
        fig.savefig(out_dir / "landscape.png", dpi=110)
        files.append("landscape.png")
    _print_table(console, sol)
    console.print(
        f"wrote {', '.join(files)} to {out_dir}/ in "
        f"{time.perf_counter() - t_start:.2f} s (compile "
        f"{sol.stats['compile_time_s']:.2f} s)",
        highlight=False,
    )
    raise typer.Exit(code)


def _print_table(console, sol) -> None:
    import numpy as np
    from rich.table import Table

    xf = np.atleast_2d(sol.x_final)
    Ef = np.atleast_1d(sol.energy_final)
    st_ = np.atleast_1d(sol.status)
    steps = np.atleast_1d(sol.steps)
    table = Table(title=None, show_edge=False)
    for col in ("start", "final point", "energy", "steps", "status"):
        table.add_column(col, justify="right" if col in ("energy", "steps") else "left")
    idx = list(range(len(xf)))
    if len(idx) > 12:
        idx = idx[:6] + [-1] + idx[-5:]
    for i in idx:
        if i == -1:
            table.add_row("…", "…", "…", "…", "…")
            continue
        table.add_row(
            str(i),
            "(" + ", ".join(f"{v:.6g}" for v in xf[i]) + ")",
            f"{Ef[i]:.10g}",
            str(int(steps[i])),
            str(st_[i]),
        )
    console.print(table)


@app.command()
def landscape(
    target: Annotated[str, typer.Argument(help="a built-in potential name or a scenario .toml")],
    out: Annotated[Path | None, typer.Option("--out", help="output directory")] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="print the critical points as JSON (files only with --out)"),
    ] = False,
    resolution: Annotated[int, typer.Option(help="basin-map cells per axis (2-D)")] = 200,
    scheduler: Annotated[
        str | None,
        typer.Option(help="a Dask scheduler address: run the search and basin map there"),
    ] = None,
    allow_import: Annotated[bool, typer.Option("--allow-import")] = False,
) -> None:
    """The landscape atlas: critical points, manifolds of saddles, basins, disconnectivity."""
    import steepest as st

    st.enable_compilation_cache()
    try:
        if target.endswith(".toml"):
            from steepest.scenario import load

            V = load(Path(target), allow_import=allow_import).flow.energy
        else:
            V = st.potentials.get(target)
        from steepest.landscape.critical import critical_points
        from steepest.parallel import resolve_client

        client = resolve_client(scheduler)  # closed when the process exits
        cps = critical_points(V, client=client)
    except st.SteepestError as err:
        _fail(str(err))
    rows = [{k: v for k, v in cp.to_dict().items() if k != "residual"} for cp in cps]
    if as_json:
        typer.echo(json.dumps(rows))
        if out is None:
            return
    out_dir = out or Path("runs") / f"landscape-{Path(target).stem}"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "critical_points.json").write_text(
        json.dumps(
            {"points": [cp.to_dict() for cp in cps], "morse_check": cps.morse_check},
            indent=2,
            default=str,
        )
        + "\n"
    )
    files = ["critical_points.json"]
    if V.dim == 2:
        from steepest.landscape.basins import basins
        from steepest.landscape.disconnectivity import disconnectivity
        from steepest.landscape.manifolds import manifolds
        from steepest.plot.atlas import atlas_figure

        saddles = [cp for cp in cps if cp.kind == "saddle" and cp.index == 1]
        mfs = [manifolds(V, s) for s in saddles]
        (out_dir / "manifolds.json").write_text(
            json.dumps(
                [
                    {
                        "saddle": m.saddle.to_dict(),
                        "branches": [
                            {
                                "direction": b.direction,
                                "sign": b.sign,
                                "end": b.end,
                                "end_point": np.asarray(b.end_point).tolist(),
                                "points": np.asarray(b.points).tolist(),
                            }
                            for b in m.unstable + m.stable
                        ],
                    }
                    for m in mfs
                ]
            )
            + "\n"
        )
        bm = basins(V, resolution=resolution, client=client)
        bm.to_xarray().to_netcdf(out_dir / "basins.nc", engine="h5netcdf")
        fig = atlas_figure(V, cps, mfs, bm)
        fig.savefig(out_dir / "atlas.png", dpi=110)
        files += ["manifolds.json", "basins.nc", "atlas.png"]
        if cps.minima:
            import matplotlib.pyplot as plt

            d = disconnectivity(V, cps)
            fig, ax = plt.subplots(figsize=(5, 5))
            d.plot(ax, title=f"{V.name}: disconnectivity")
            fig.tight_layout()
            fig.savefig(out_dir / "disconnectivity.png", dpi=110)
            files.append("disconnectivity.png")
    if not as_json:
        from rich.console import Console
        from rich.table import Table

        table = Table(show_edge=False)
        for col in ("kind", "index", "x", "energy", "eigenvalues"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                r["kind"],
                str(r["index"]),
                "(" + ", ".join(f"{v:.6g}" for v in r["x"]) + ")",
                f"{r['energy']:.10g}",
                ", ".join(f"{v:.4g}" for v in r["eigenvalues"]),
            )
        console = Console()
        console.print(table)
        mc = cps.morse_check
        console.print(
            f"Morse check {mc['formula']} = {mc['value']} ({mc['note']}); wrote "
            f"{', '.join(files)} to {out_dir}/",
            highlight=False,
        )


@app.command()
def info() -> None:
    """Print versions, devices, the float64 state and the compilation cache."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    import jax

    import steepest as st
    from steepest._core.config import cache_dir, x64_enabled

    lines = [
        f"steepest {st.__version__}",
        f"python {platform.python_version()} ({platform.machine()}, {platform.system()})",
    ]
    for pkg in (
        "jax",
        "jaxlib",
        "diffrax",
        "optimistix",
        "equinox",
        "numpy",
        "scipy",
        "xarray",
        "h5netcdf",
        "zarr",
        "matplotlib",
        "typer",
        "rich",
    ):
        try:
            lines.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            lines.append(f"{pkg} (not installed)")
    devs = jax.devices()
    lines.append(f"devices: {', '.join(str(d) for d in devs)} (backend {jax.default_backend()})")
    lines.append(
        f"float64: {'on' if x64_enabled() else 'off'} "
        f"(STEEPEST_X64={os.environ.get('STEEPEST_X64', 'unset')})"
    )
    lines.append(f"compilation cache: {cache_dir()}")
    lines.append(f"methods: {', '.join(st.METHODS)}")
    lines.append(f"potentials: {', '.join(st.potentials.names())}")
    typer.echo("\n".join(lines))


@app.command("potentials")
def list_potentials() -> None:
    """List the built-in potentials with their formulas and parameters."""
    import steepest as st

    for name in st.potentials.names():
        d = st.potentials.defaults(name)
        params = ", ".join(f"{k}={v}" for k, v in d.items()) or "no parameters"
        typer.echo(f"{name:16s} {st.potentials.summary(name)}  [{params}]")


#: ``steepest run`` hands a scenario whose file has one of these top-level tables to the module
#: named, which provides ``run_cli(path, *, out, set_, t1, plot) -> exit code``. A scenario with
#: none of them is a flow on Rⁿ (``[energy]``, ``[metric]``, ``[integrate]``, ``[initial]``).
RUNNERS = {
    "field": "steepest.fields.scenario",
    "geometry": "steepest.geometry.scenario",
    "learning": "steepest.learning.scenario",
}

#: Modules that add commands to ``steepest`` (each has ``register(app)``); they must import only
#: typer at module level, so that ``steepest --help`` and cold starts stay fast.
COMMAND_MODULES = (
    "steepest.cli.path",
    "steepest.cli.learn",
    "steepest.cli.sweep",
    "steepest.cli.tour",
)

#: ``steepest resume DIR`` reads ``DIR/steepest-run.json`` and hands DIR to the module named by
#: its ``"kind"`` (each provides ``resume_cli(directory) -> exit code``).
RESUMERS = {
    "field": "steepest.fields.scenario",
    "sweep": "steepest.parallel.sweeps",
}


def _runner_for(scenario: Path):
    """The module that runs this scenario file, or None for a flow on Rⁿ (read errors later)."""
    import importlib
    import tomllib

    try:
        with scenario.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return None  # the Rⁿ loader reports a missing or malformed file with its own message
    for table, module in RUNNERS.items():
        if table in data:
            return importlib.import_module(module)
    return None


@app.command()
def resume(
    directory: Annotated[Path, typer.Argument(help="the output directory of a killed run")],
) -> None:
    """Continue a killed run (a field run or a sweep) from its last checkpoint."""
    import importlib

    manifest = directory / "steepest-run.json"
    if not manifest.is_file():
        _fail(
            f"resume: {str(directory)!r} holds no steepest-run.json, so it is not the output "
            "directory of a resumable run; give the --out directory of a field run or a sweep."
        )
    try:
        kind = json.loads(manifest.read_text()).get("kind")
    except (OSError, ValueError) as err:
        _fail(f"resume: {manifest} cannot be read ({err}); the run cannot be resumed from it.")
    if kind not in RESUMERS:
        _fail(
            f"resume: {manifest} names the run kind {kind!r}; steepest resumes "
            f"{', '.join(sorted(RESUMERS))} runs."
        )
    raise typer.Exit(importlib.import_module(RESUMERS[kind]).resume_cli(directory))


def _register_commands() -> None:
    import importlib

    # field and geometry scenarios need no command of their own: `steepest run` dispatches on a
    # scenario's top-level table (_runner_for)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
