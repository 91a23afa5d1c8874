"""``[geometry]`` scenarios: one geometric flow from a TOML file, for ``steepest run``.

::

    title = "Grayson: a peanut becomes round"
    [geometry]
    flow = "curve-shortening"      # mean-curvature, conformal-mean-curvature, harmonic-map,
                                   # corotational, ricci, normalized-ricci, discrete-ricci,
                                   # ricci-s3
    n_save = 40                    # + the flow's own settings (t1, step, tol, …)
    [geometry.shape]
    kind = "peanut"                # the shape, map or profile the flow starts from
    n = 160
    amplitude = 0.6
    [output]
    dir = "runs/peanut"
    animate = false

Every key is checked (unknown keys and wrong types are one-sentence errors naming the key).
The run writes ``solution.nc``, ``summary.json`` (``kind = "geometry"``, the invariants checked
in ``checks``, ``exit_code``) and ``geometry.png`` (and ``geometry.gif`` with ``animate``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._core.errors import ScenarioError
from ..scenario.schema import check_keys, read, set_override

_COMMON = {"flow": "str", "t1": "float", "step": "float", "n_save": "int", "shape": "table"}
FLOWS: dict[str, dict[str, str]] = {
    "curve-shortening": {"stop_area": "float", "step_fraction": "float"},
    "mean-curvature": {"mass": "str", "solver": "str", "stop_area": "float"},
    "conformal-mean-curvature": {"mass": "str", "solver": "str"},
    "harmonic-map": {"theta": "float", "tol": "float"},
    "corotational": {"b": "float", "n": "int", "radius": "float", "tol": "float"},
    "ricci": {"tol": "float", "stop_area": "float"},
    "normalized-ricci": {"tol": "float"},
    "discrete-ricci": {"boundary": "str", "tol": "float", "max_iter": "int"},
    "ricci-s3": {
        "n": "int",
        "pinch_ratio": "float",
        "shrink_ratio": "float",
        "step_fraction": "float",
    },
}
SHAPES: dict[str, dict[str, dict[str, str]]] = {
    "curve": {
        "circle": {"n": "int", "radius": "float"},
        "ellipse": {"n": "int", "a": "float", "b": "float"},
        "flower": {"n": "int", "petals": "int", "amplitude": "float"},
        "peanut": {"n": "int", "amplitude": "float"},
        "points": {"points": "matrix"},
    },
    "mesh": {
        "icosphere": {"subdivisions": "int", "radius": "float"},
        "ellipsoid": {"subdivisions": "int", "axes": "list[float]"},
        "bumpy-sphere": {"subdivisions": "int", "amplitude": "float", "k": "int"},
        "dumbbell": {"subdivisions": "int", "neck": "float", "length": "float"},
        "torus": {"n_major": "int", "n_minor": "int", "R": "float", "r": "float"},
        "spherical-cap": {"subdivisions": "int", "height": "float"},
    },
    "map": {
        "degree-one": {"n": "int", "size": "float", "scale": "float", "perturbation": "float"},
        "periodic": {"n": "int", "size": "float", "waves": "int"},
        "equivariant-disk": {"rings": "int", "b": "float"},
    },
    "profile": {"round": {}, "dumbbell": {}, "near-round": {}},
}
_SHAPE_OF = {
    "curve-shortening": "curve",
    "mean-curvature": "mesh",
    "conformal-mean-curvature": "mesh",
    "harmonic-map": "map",
    "corotational": None,
    "ricci": "mesh",
    "normalized-ricci": "mesh",
    "discrete-ricci": "mesh",
    "ricci-s3": "profile",
}
_DEFAULT_SHAPE = {"curve": "peanut", "mesh": "icosphere", "map": "degree-one", "profile": "round"}
_EXTRA_SHAPE_KEYS = {"ricci": {"u0": "str"}, "normalized-ricci": {"u0": "str"}}


def load_scenario(path: str | Path, set_: list[str] | None = None) -> dict[str, Any]:
    data = read(path)
    for a in set_ or []:
        set_override(data, a)
    check_keys(
        "", data, {"title": "str", "description": "str", "geometry": "table", "output": "table"}
    )
    check_keys("output", data.get("output", {}), {"dir": "str", "plot": "bool", "animate": "bool"})
    g = data["geometry"]
    flow = g.get("flow")
    if flow not in FLOWS:
        raise ScenarioError(
            f"geometry.flow: expected one of {', '.join(FLOWS)}, got {flow!r}.", key="geometry.flow"
        )
    check_keys("geometry", g, {**_COMMON, **FLOWS[flow]})
    family = _SHAPE_OF[flow]
    shape = dict(g.get("shape", {}))
    if family is None:
        if shape:
            raise ScenarioError(
                "geometry.shape: the corotational flow takes no shape; set geometry.b and "
                "geometry.n.",
                key="geometry.shape",
            )
    else:
        kind = shape.get("kind", _DEFAULT_SHAPE[family])
        if kind not in SHAPES[family]:
            raise ScenarioError(
                f"geometry.shape.kind: for {flow} expected one of {', '.join(SHAPES[family])}, "
                f"got {kind!r}.",
                key="geometry.shape.kind",
            )
        allowed = {"kind": "str", **SHAPES[family][kind], **_EXTRA_SHAPE_KEYS.get(flow, {})}
        check_keys("geometry.shape", shape, allowed)
        shape["kind"] = kind
    return {
        "title": data.get("title", Path(path).stem),
        "geometry": dict(g),
        "shape": shape,
        "output": dict(data.get("output", {})),
    }


def _build_shape(flow: str, shape: dict[str, Any]):
    from . import curves, meshes
    from . import sphere_maps as sm

    kind = str(shape.get("kind"))
    p = {k: v for k, v in shape.items() if k not in ("kind", "u0")}
    if flow == "curve-shortening":
        return (
            curves.check_curve(p["points"], key="geometry.shape.points")
            if kind == "points"
            else getattr(curves, kind)(**p)
        )
    if _SHAPE_OF[flow] == "mesh":
        name = kind.replace("-", "_")
        if "axes" in p:
            p["axes"] = tuple(p["axes"])
        return getattr(meshes, name)(**p)
    if flow == "harmonic-map":
        from .map_domains import MapGrid

        if kind == "degree-one":
            n, size = p.get("n", 65), p.get("size", 16.0)
            g = MapGrid.square(n, size)
            X, Y = g.coordinates()
            u = sm.stereographic(X, Y, p.get("scale", 1.0))
            bump = np.exp(-(X**2 + Y**2) / 4)[..., None] * np.array([1.0, 0.0, 0.3])
            u = u + p.get("perturbation", 0.8) * bump
            return u / np.linalg.norm(u, axis=-1, keepdims=True), g
        if kind == "periodic":
            n, size, k = p.get("n", 64), p.get("size", 2 * np.pi), p.get("waves", 1)
            g = MapGrid.square(n, size, periodic=True)
            X, Y = g.coordinates()
            w = 2 * np.pi * k / size
            u = np.stack(
                [
                    np.cos(w * X + np.sin(w * Y)),
                    0.7 * np.sin(2 * w * Y),
                    1 + np.cos(w * X) * np.sin(w * Y),
                ],
                -1,
            )
            return u / np.linalg.norm(u, axis=-1, keepdims=True), g
        m = meshes.disk(p.get("rings", 12))
        b = p.get("b", np.pi / 2)
        return sm.equivariant(m.vertices[:, 0], m.vertices[:, 1], lambda r: b * r), m
    return kind  # ricci-s3: a named profile


def _conformal_factor(mesh, text: str | None):
    if text is None:
        return None
    import jax

    from ..energy._expression import compile_expression

    expr = compile_expression(text, ("x", "y", "z"), key="geometry.shape.u0")
    return np.asarray(jax.vmap(expr)(mesh.vertices))


def run(sc: dict[str, Any], *, t1: float | None = None):
    from . import (
        corotational_flow,
        curve_shortening,
        discrete_ricci_flow,
        harmonic_map_flow,
        mean_curvature_flow,
        ricci_flow_s3,
        ricci_flow_surface,
    )

    g = {k: v for k, v in sc["geometry"].items() if k not in ("flow", "shape")}
    if t1 is not None:
        g["t1"] = t1
    flow = sc["geometry"]["flow"]
    shape = _build_shape(flow, sc["shape"])
    if flow == "curve-shortening":
        return curve_shortening(shape, **g)
    if flow in ("mean-curvature", "conformal-mean-curvature"):
        return mean_curvature_flow(shape, conformal=flow.startswith("conformal"), **g)
    if flow == "harmonic-map":
        u0, domain = shape
        return harmonic_map_flow(u0, domain, **{"t1": 10.0, **g})
    if flow == "corotational":
        return corotational_flow(g.pop("b", 0.5 * np.pi), **g)
    if flow in ("ricci", "normalized-ricci"):
        u0 = _conformal_factor(shape, sc["shape"].get("u0"))
        return ricci_flow_surface(shape, u0, normalized=flow == "normalized-ricci", **g)
    if flow == "discrete-ricci":
        g.pop("t1", None)
        g.pop("n_save", None)
        return discrete_ricci_flow(shape, **g)
    return ricci_flow_s3(shape, **g)


def run_cli(path, *, out=None, set_=None, t1=None, plot=True) -> int:
    """``steepest run`` for a ``[geometry]`` scenario; returns the exit code."""
    from rich.console import Console

    from .._core.errors import ConvergenceError, FlowDiverged, SteepestError
    from ..cli._console import fail

    t_start = time.perf_counter()
    console = Console()
    code = 0
    try:
        sc = load_scenario(path, set_)
        out_dir = Path(out or sc["output"].get("dir") or Path("runs") / Path(path).stem)
        out_dir.mkdir(parents=True, exist_ok=True)
        console.print(f"[bold]{sc['title']}[/]: {sc['geometry']['flow']}", highlight=False)
        try:
            sol = run(sc, t1=t1)
        except FlowDiverged as err:
            sol, code = err.solution, 1
            console.print(f"[bold red]diverged:[/] {err}", highlight=False)
        except ConvergenceError as err:
            sol, code = err.result, 1
            console.print(f"[bold red]not converged:[/] {err}", highlight=False)
    except OSError as err:
        fail(f"--out: cannot create the output directory: {err.strerror}.")
    except SteepestError as err:
        fail(str(err))
    if not sol.checks or not all(sol.checks.values()):
        code = 1
    files = [sol.save(out_dir / "solution.nc").name]
    summary = {"title": sc["title"], "kind": "geometry", **sol.summary(), "exit_code": code}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    files.append("summary.json")
    if plot and sc["output"].get("plot", True):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ..plot.geometry import animate, geometry_figure

        fig = geometry_figure(sol, title=sc["title"])
        fig.savefig(out_dir / "geometry.png", dpi=100)
        plt.close(fig)
        files.append("geometry.png")
        if sc["output"].get("animate", False):
            animate(sol, out_dir / "geometry.gif")
            files.append("geometry.gif")
    bad = [k for k, v in sol.checks.items() if not v]
    console.print(
        f"{sol.energy_name}: {sol.energy[0]:.6g} → {sol.energy[-1]:.6g} over t ∈ [0, "
        f"{sol.t[-1]:.4g}] ({sol.status}: {sol.message})",
        highlight=False,
    )
    console.print(
        ("checks: all hold" if not bad else f"[bold red]checks failed:[/] {', '.join(bad)}")
        + f"; wrote {', '.join(files)} to {out_dir}/ in {time.perf_counter() - t_start:.1f} s",
        highlight=False,
    )
    return code
