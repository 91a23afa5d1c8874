"""``steepest path NAME --from x,y --to x,y``: the minimum energy path and its transition state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._console import fail


def _point(text: str, key: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        fail(
            f"{key}: {text!r} is not a comma-separated list of numbers; write e.g. "
            f"{key} -0.558,1.442."
        )


def path(
    target: Annotated[str, typer.Argument(help="a built-in potential name or a scenario .toml")],
    start: Annotated[str, typer.Option("--from", help="the start, near a minimum: x,y,…")],
    end: Annotated[str, typer.Option("--to", help="the end, near another minimum: x,y,…")],
    method: Annotated[str, typer.Option(help="neb (climbing-image NEB) or string")] = "neb",
    images: Annotated[int, typer.Option(help="images, both ends included (≥ 3)")] = 9,
    optimizer: Annotated[str, typer.Option(help="NEB optimiser: ode, fire or lbfgs")] = "ode",
    fmax: Annotated[float, typer.Option(help="converged when every image's force ≤ fmax")] = 0.01,
    climb: Annotated[bool, typer.Option("--climb/--no-climb", help="climbing image")] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the result as JSON (files only with --out)")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="output directory")] = None,
    allow_import: Annotated[bool, typer.Option("--allow-import")] = False,
) -> None:
    """The minimum energy path between two minima: saddle, barriers, force calls."""
    if method not in ("neb", "string"):
        fail(f"--method: expected neb or string, got {method!r}.")
    a, b = _point(start, "--from"), _point(end, "--to")
    import steepest as st

    st.enable_compilation_cache()
    try:
        if target.endswith(".toml"):
            from steepest.scenario import load

            V = load(Path(target), allow_import=allow_import).flow.energy
        else:
            V = st.potentials.get(target)
        for point, key in ((a, "--from"), (b, "--to")):
            if len(point) != V.dim:
                fail(f"{key}: {V.name!r} has {V.dim} coordinates, got {len(point)}; give {V.dim}.")
        if method == "neb":
            p = st.paths.neb(V, a, b, n_images=images, climb=climb, optimizer=optimizer, fmax=fmax)
        else:
            p = st.paths.string(V, a, b, n_images=images, fmax=fmax)
    except st.SteepestError as err:
        fail(str(err))
    d = p.to_dict()
    result = {
        "saddle": d["saddle"],
        "barrier_forward": d["barrier_forward"],
        "barrier_backward": d["barrier_backward"],
        "force_calls": d["force_calls"],
        "converged": d["converged"],
        "method": d["method"],
        "iterations": d["iterations"],
        "max_force": d["max_force"],
        "endpoint_shift": d["endpoint_shift"],
        "connects": d["connects"],
    }
    if as_json:
        typer.echo(json.dumps(result))
    if out is not None or not as_json:
        out_dir = out or Path("runs") / f"path-{Path(target).stem}"
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "path.json").write_text(json.dumps(d, indent=2) + "\n")
        fig = p.plot(V if V.dim == 2 else None)
        fig.tight_layout()
        fig.savefig(out_dir / "path.png", dpi=110)
    if not as_json:
        s = p.saddle
        where = (
            "none found"
            if s is None
            else ("(" + ", ".join(f"{v:.8g}" for v in s.x) + f"), V = {s.energy:.10g}")
        )
        lines = [
            f"{V.name}: {method}{' (climbing image)' if method == 'neb' and climb else ''}, "
            f"{images} images; {'converged' if p.converged else 'NOT converged'} "
            f"(max force {p.max_force:.3g} vs fmax {fmax:g}) after {p.iterations} iterations, "
            f"{p.force_calls} force calls",
            f"saddle: {where}",
            f"barrier forward {p.barrier_forward:.10g}, backward {p.barrier_backward:.10g}",
        ]
        if max(p.endpoint_shift) > 0:
            lines.append(
                "ends polished to the minima (moved by "
                f"{p.endpoint_shift[0]:.2g} and {p.endpoint_shift[1]:.2g})"
            )
        if p.connects is not None:
            lines.append(
                "the saddle's unstable manifold reaches "
                + " and ".join("(" + ", ".join(f"{v:.6g}" for v in c.x) + ")" for c in p.connects)
            )
        lines.append(f"wrote path.json and path.png to {out_dir}/")
        typer.echo("\n".join(lines))
    if not p.converged:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("path")(path)
