"""``steepest learn SCENARIO.toml`` and ``steepest diagnose``: training beside its flow, and the
curvature report of a loss (which step sizes it allows, which scheme to use)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._console import fail


def learn(
    scenario: Annotated[Path, typer.Argument(help="a scenario TOML with a [learning] table")],
    out: Annotated[Path | None, typer.Option("--out", help="output directory")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="override a key: --set train.step=0.3 (repeatable)"),
    ] = None,
    t1: Annotated[
        float | None, typer.Option("--t1", help="train to flow time t1 = steps·h (sets steps)")
    ] = None,
    plot: Annotated[bool, typer.Option("--plot/--no-plot", help="write the figures")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Train a model with an optimiser, beside its exact flow; write the runs, figures and
    summary.json (exit 1 if an invariant check fails)."""
    import tomllib

    try:
        data = tomllib.loads(scenario.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        fail(f"scenario: cannot read {str(scenario)!r} as TOML ({err}).")
    if "learning" not in data:
        fail(
            f"scenario: {scenario.name} has no [learning] table; steepest learn runs learning "
            "scenarios (use steepest run for the others)."
        )
    import steepest as st
    from steepest.learning.scenario import run_cli

    st.enable_compilation_cache()
    raise typer.Exit(run_cli(scenario, out=out, set_=set_ or [], t1=t1, plot=plot, as_json=as_json))


def diagnose(
    target: Annotated[
        str, typer.Argument(help="a [learning] scenario .toml, or a dataset: digits, iris, …")
    ],
    step: Annotated[
        float | None, typer.Option("--step", help="the step size (learning rate) to judge")
    ] = None,
    model: Annotated[str, typer.Option(help="with a dataset: mlp, logistic, least-squares")] = (
        "logistic"
    ),
    hidden: Annotated[str, typer.Option(help="with --model mlp: hidden widths, e.g. 32,32")] = (
        "32"
    ),
    n: Annotated[int | None, typer.Option(help="with a dataset: keep the first n examples")] = None,
    method: Annotated[str, typer.Option(help="auto, lanczos, power or dense")] = "auto",
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a scenario key")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """The curvature report at the initial parameters: λ_max, λ_min, κ, the stability limit
    2/λ_max, predicted rates, and whether --step is stable, at the edge, or diverging."""
    import steepest as st
    from steepest.learning.diagnose import diagnose as run_diagnose
    from steepest.learning.scenario import build_loss, load_scenario

    st.enable_compilation_cache()
    h: float | None = None
    try:
        if target.endswith(".toml"):
            sc = load_scenario(Path(target), set_ or [])
            loss = build_loss(sc["learning"])
            h = step if step is not None else float(sc["train"]["step"][0])
        else:
            spec: dict = {"data": target, "model": model}
            if n is not None:
                spec["n"] = n
            if model == "mlp":
                try:
                    spec["hidden"] = [int(v) for v in hidden.split(",")]
                except ValueError:
                    fail(
                        f"--hidden: expected comma-separated widths such as 32,32, got {hidden!r}."
                    )
                spec["scaling"] = "center"
            loss = build_loss(spec)
            h = step
        d = run_diagnose(loss, h=h, method=method)
    except st.SteepestError as err:
        fail(str(err))
    if as_json:
        typer.echo(json.dumps(d.to_dict(), default=str))
    else:
        typer.echo(str(d))


def register(app: typer.Typer) -> None:
    app.command("learn")(learn)
    app.command("diagnose")(diagnose)
