"""``steepest tour [--out DIR] [--quick]``: every idea of gradient flows, run and explained, into
one HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def tour(
        out: Annotated[Path, typer.Option("--out", help="where to write index.html")] = Path(
            "runs/tour"
        ),
        quick: Annotated[
            bool, typer.Option("--quick", help="smaller runs: about 3 minutes on 2 cores")
        ] = False,
        section: Annotated[
            list[str] | None,
            typer.Option("--section", help="run only this section (repeatable)"),
        ] = None,
    ) -> None:
        """Run the tour of gradient flows: each section a real computation, checked, plotted."""
        import time

        from rich.console import Console

        import steepest as st
        from steepest.tour import tour as run_tour

        from ._console import fail

        st.enable_compilation_cache()
        console = Console()
        status = {"t0": time.perf_counter(), "live": None}

        def on_section(i, n, title, res):
            if res is None:
                status["live"] = console.status(f"[{i}/{n}] {title} …")
                status["live"].start()
                return
            status["live"].stop()
            n_ok = sum(c.passed for c in res.checks)
            mark = "[green]✓[/]" if res.ok else "[red]✗[/]"
            why = "" if res.error is None else f" — failed: {res.error.splitlines()[0]}"
            console.print(
                f"{mark} [{i}/{n}] {res.title}: {n_ok}/{len(res.checks)} checks, "
                f"{res.seconds:.1f} s{why}",
                highlight=False,
            )

        try:
            report = run_tour(out, quick=quick, sections=section, on_section=on_section)
        except st.ScenarioError as err:
            fail(str(err))
        console.print(
            f"[bold]{'All sections passed' if report.ok else 'Some sections failed'}[/] in "
            f"{report.seconds:.0f} s; open {report.page}",
            highlight=False,
        )
        raise typer.Exit(0 if report.ok else 1)
