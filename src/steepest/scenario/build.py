"""Turn a validated scenario into objects: a Potential, a Metric, starts and solve settings."""

from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from .._core.errors import ScenarioError
from ..energy import potentials
from ..energy._expression import compile_expression
from ..energy.potential import Potential
from ..flow import GradientFlow
from ..integrate.methods import get_method
from ..metric import Euclidean, Metric, Preconditioned, Riemannian
from . import schema

DEFAULTS = {"method": "rk4", "step": 1e-3, "t1": 5.0}


@dataclass
class Scenario:
    """A resolved scenario: ready to :meth:`run`."""

    flow: GradientFlow
    x0: np.ndarray
    solve_kwargs: dict[str, Any]
    output: dict[str, Any]
    title: str
    resolved: dict[str, Any] = field(default_factory=dict)

    def run(self, progress: bool = False, errors: str = "raise"):
        from ..integrate.solve import solve

        sol = solve(self.flow, self.x0, progress=progress, errors=errors, **self.solve_kwargs)
        sol.settings["scenario"] = self.resolved
        return sol


def load(
    path: str | Path,
    overrides: list[str] | None = None,
    *,
    t1: float | None = None,
    allow_import: bool = False,
) -> Scenario:
    """Read, override (``section.key=value``), validate and build a scenario file."""
    data = schema.read(path)
    return build(data, overrides, t1=t1, allow_import=allow_import, default_title=Path(path).stem)


def build(
    data: dict[str, Any],
    overrides: list[str] | None = None,
    *,
    t1: float | None = None,
    allow_import: bool = False,
    default_title: str = "scenario",
) -> Scenario:
    data = copy.deepcopy(data)
    for o in overrides or []:
        schema.set_override(data, o)
    if t1 is not None:
        data.setdefault("integrate", {})["t1"] = t1
    data = schema.validate(data)
    V = _energy(data["energy"], allow_import)
    metric = _metric(data.get("metric", {}), V)
    flow = GradientFlow(V, metric)
    integ = {**DEFAULTS, **data.get("integrate", {})}
    m = get_method(integ["method"])
    kw: dict[str, Any] = {"t1": float(integ["t1"]), "method": m.name}
    if m.kind == "fixed":
        kw["h"] = float(integ["step"])
    else:
        for k in ("rtol", "atol", "max_steps"):
            if k in integ:
                kw[k] = integ[k]
    for k in ("grad_tol", "n_save", "save_state", "check_energy"):
        if k in integ:
            kw[k] = integ[k]
    for k in ("t1", "step", "rtol", "atol", "grad_tol"):
        v = integ.get(k)
        if v is not None and (v < 0 or (v == 0 and k != "grad_tol")):
            raise ScenarioError(
                f"integrate.{k}: expected a positive number, got {v}.", key=f"integrate.{k}"
            )
    if "n_save" in integ and integ["n_save"] < 2:
        raise ScenarioError(
            "integrate.n_save: expected an integer ≥ 2 (t = 0 and t1).", key="integrate.n_save"
        )
    x0 = _starts(data.get("initial", {}), V)
    out = {"dir": None, "format": "netcdf", "plot": True, **data.get("output", {})}
    if out["format"] not in ("netcdf", "zarr"):
        raise ScenarioError(
            f'output.format: expected "netcdf" or "zarr", got {out["format"]!r}.',
            key="output.format",
        )
    resolved = {**data, "integrate": {**integ, "method": m.name}}
    return Scenario(flow, x0, kw, out, str(data.get("title", default_title)), resolved)


# --------------------------------------------------------------------------------------------
def _exactly_one(table: str, data: dict[str, Any], keys: tuple[str, ...]) -> None:
    given = [k for k in keys if k in data]
    if len(given) != 1:
        options = ", ".join(f"{table}.{k}" for k in keys[:-1]) + f" or {table}.{keys[-1]}"
        raise ScenarioError(
            f"{table}: give exactly one of {options} (found {', '.join(given) or 'none'}); "
            f"e.g. {schema.EXAMPLE_HINT[table]}.",
            key=table,
        )


def _energy(e: dict[str, Any], allow_import: bool) -> Potential:
    _exactly_one("energy", e, ("name", "expression", "function"))
    params = dict(e.get("params", {}))
    bounds = e.get("bounds")
    if "name" in e:
        for k in ("variables", "dim"):
            if k in e:
                raise ScenarioError(
                    f"energy.{k}: only used with energy.expression or energy.function; remove it.",
                    key=f"energy.{k}",
                )
        V = potentials.get(e["name"], **params)
        if bounds is not None:
            V = Potential(
                V.fn, V.dim, bounds=bounds, name=V.name, formula=V.formula, params=V.params
            )
        return V
    if "expression" in e:
        for k, v in params.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ScenarioError(
                    f"energy.params.{k}: expression parameters must be numbers, got {v!r}.",
                    key=f"energy.params.{k}",
                )
        return Potential.from_expression(
            e["expression"],
            e.get("variables"),
            params=params,
            bounds=bounds,
            key="energy.expression",
        )
    # energy.function = "module:attr": runs the user's own installed code, so it is opt-in
    if not allow_import:
        raise ScenarioError(
            "energy.function: importing Python code from a scenario is off by default; pass "
            "--allow-import (CLI) or allow_import=True if you trust this file.",
            key="energy.function",
        )
    ref = e["function"]
    if ":" not in ref or "dim" not in e:
        raise ScenarioError(
            'energy.function: write "package.module:function" and give energy.dim.',
            key="energy.function",
        )
    mod, _, attr = ref.partition(":")
    try:
        fn = getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError) as err:
        raise ScenarioError(
            f"energy.function: cannot import {ref!r}: {err}.", key="energy.function"
        ) from None
    return Potential(fn, e["dim"], bounds=bounds, name=ref, params=params or None)


def _metric(mt: dict[str, Any], V: Potential) -> Metric:
    kind = mt.get("kind", "euclidean")
    extra = {"euclidean": (), "preconditioned": ("matrix",), "riemannian": ("G", "diagonal")}
    if kind not in extra:
        raise ScenarioError(
            f"metric.kind: unknown metric {kind!r}; choose euclidean, preconditioned or "
            "riemannian.",
            key="metric.kind",
        )
    for k in mt:
        if k != "kind" and k not in extra[kind]:
            raise ScenarioError(
                f"metric.{k}: not used by a {kind} metric; remove it.", key=f"metric.{k}"
            )
    if kind == "euclidean":
        return Euclidean()
    if kind == "preconditioned":
        if "matrix" not in mt:
            raise ScenarioError(
                "metric.matrix: a preconditioned metric needs its SPD matrix, "
                "e.g. matrix = [[2, 0], [0, 1]].",
                key="metric.matrix",
            )
        return Preconditioned(mt["matrix"], key="metric.matrix")
    variables = V.variables
    if ("G" in mt) == ("diagonal" in mt):
        raise ScenarioError(
            "metric: a riemannian metric needs exactly one of metric.G (a matrix "
            "of expressions) or metric.diagonal (a list of expressions).",
            key="metric.G",
        )
    if "diagonal" in mt:
        entries = mt["diagonal"]
        if len(entries) != V.dim:
            raise ScenarioError(
                f"metric.diagonal: expected {V.dim} expressions, got {len(entries)}.",
                key="metric.diagonal",
            )
        diag = [
            compile_expression(s, variables, key=f"metric.diagonal[{i}]")
            for i, s in enumerate(entries)
        ]
        return Riemannian(
            lambda x: jnp.stack([f(x) for f in diag]), diagonal=True, name="G(x)", formula=entries
        )
    rows = mt["G"]
    if len(rows) != V.dim or any(len(r) != V.dim for r in rows):
        raise ScenarioError(
            f"metric.G: expected a {V.dim}×{V.dim} matrix of expressions.", key="metric.G"
        )
    fs: list[list[Any]] = [
        [compile_expression(s, variables, key=f"metric.G[{i}][{j}]") for j, s in enumerate(r)]
        for i, r in enumerate(rows)
    ]
    return Riemannian(
        lambda x: jnp.stack([jnp.stack([f(x) for f in r]) for r in fs]), name="G(x)", formula=rows
    )


def _starts(ini: dict[str, Any], V: Potential) -> np.ndarray:
    _exactly_one("initial", ini, ("points", "grid", "random"))
    if "points" in ini:
        pts = ini["points"]
        if not pts or any(len(p) != V.dim for p in pts):
            raise ScenarioError(
                f"initial.points: every point needs {V.dim} coordinates for this energy; got "
                f"{pts!r}.",
                key="initial.points",
            )
        return np.asarray(pts, dtype=float)
    if "grid" in ini:
        g = ini["grid"]
        names = V.variables
        unknown = set(g) - set(names)
        if unknown or len(g) != V.dim:
            raise ScenarioError(
                f"initial.grid: give one entry [low, high, count] for each of "
                f"{', '.join(names)}; got keys {', '.join(g) or 'none'}.",
                key="initial.grid",
            )
        axes = []
        for n in names:
            spec = g[n]
            key = f"initial.grid.{n}"
            if (
                not isinstance(spec, list)
                or len(spec) != 3
                or not all(isinstance(u, (int, float)) and not isinstance(u, bool) for u in spec)
                or not isinstance(spec[2], int)
                or spec[2] < 1
                or not spec[0] <= spec[1]
            ):
                raise ScenarioError(
                    f"{key}: expected [low, high, count] with low ≤ high and an "
                    f"integer count ≥ 1, got {spec!r}.",
                    key=key,
                )
            axes.append(np.linspace(spec[0], spec[1], spec[2]))
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([a.ravel() for a in mesh], axis=1)
    r = ini["random"]
    unknown = set(r) - {"n", "seed"}
    if unknown:
        raise ScenarioError(
            f"initial.random.{sorted(unknown)[0]}: unknown key; use n and seed.",
            key=f"initial.random.{sorted(unknown)[0]}",
        )
    n, seed = r.get("n", 100), r.get("seed", 0)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ScenarioError(
            f"initial.random.n: expected a positive integer, got {n!r}.", key="initial.random.n"
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ScenarioError(
            f"initial.random.seed: expected an integer, got {seed!r}.", key="initial.random.seed"
        )
    b = np.asarray(V.plot_bounds)
    return np.random.default_rng(seed).uniform(b[:, 0], b[:, 1], size=(n, V.dim))
