"""``steepest sweep SCENARIO.toml --grid key=v1,v2,…``: a parameter sweep into one Zarr store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._console import fail


def sweep(
    scenario: Annotated[Path, typer.Argument(help="the scenario TOML file")],
    grid: Annotated[
        list[str],
        typer.Option(
            "--grid",
            help="a swept key and its values: --grid integrate.step=1e-3,2e-3 or "
            "--grid energy.params.a=0.5:2:7 (7 values from 0.5 to 2); repeat for more keys",
        ),
    ],
    out: Annotated[Path | None, typer.Option("--out", help="the sweep directory")] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="a Dask scheduler address (tcp://host:8786) to run the chunks on"),
    ] = None,
    in_process: Annotated[
        bool, typer.Option("--in-process", help="run every chunk here, without Dask")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(help="LocalCluster workers (default: one per core)")
    ] = None,
    chunk_runs: Annotated[int | None, typer.Option(help="grid points per chunk")] = None,
    chunk_samples: Annotated[int | None, typer.Option(help="starts per chunk")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="replace a different sweep found in --out")
    ] = False,
) -> None:
    """Run a scenario over the Cartesian product of --grid values, chunk by chunk, on Dask."""
    import steepest as st
    from steepest.parallel import sweeps as sweep_mod

    st.enable_compilation_cache()
    if scheduler and in_process:
        fail("--scheduler and --in-process: give one of them.")
    out_dir = out or Path("runs") / f"sweep-{scenario.stem}"
    try:
        client: object = scheduler
        if client is None and not in_process:
            client = _auto(scenario, grid, chunk_runs, chunk_samples, workers)
        ds = sweep_mod.sweep(
            scenario,
            grid,
            out=out_dir,
            client=client,
            chunk_runs=chunk_runs,
            chunk_samples=chunk_samples,
            overwrite=overwrite,
            progress=True,
        )
    except st.SteepestError as err:
        fail(str(err))
    typer.echo(sweep_mod.summary_line(out_dir, ds))
    raise typer.Exit(0 if ds.attrs["chunks_with_failures"] == 0 else 1)


def _auto(scenario, grid, chunk_runs, chunk_samples, workers):
    """A LocalCluster sized to the machine, unless the sweep is small (fewer than 4 chunks)."""
    from steepest.parallel.grid import check_grid, layout
    from steepest.parallel.runners import runner_for
    from steepest.parallel.sweeps import _first_valid, _scenario_data

    base, _ = _scenario_data(scenario)
    g = check_grid(grid)
    shape = tuple(len(v) for v in g.values())
    runner = runner_for(base)
    _, n_samples = _first_valid(runner, base, g, shape)
    lay = layout(shape, n_samples, chunk_runs=chunk_runs, chunk_samples=chunk_samples)
    if lay.n_chunks < 4:
        return None
    return f"local:{workers}" if workers else "local"


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
