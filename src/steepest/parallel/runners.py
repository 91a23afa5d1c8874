"""What one run of a sweep computes and stores, for each kind of scenario.

A runner turns one scenario (a plain dict, already overridden with one grid point's values)
into a fixed set of named arrays. It says beforehand what it will return (:meth:`outputs`), so
the sweep can lay out its Zarr store before any run; its starts, where it has a batch of them,
can be split between chunks (:meth:`run` gets a slice) and are integrated as one compiled,
vmapped solve.

Flows on Rⁿ are run here. Another kind of scenario (a top-level ``[field]`` table, …) is run by
the object its module's ``sweep_runner()`` returns, with the same three methods.
"""

from __future__ import annotations

import importlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core import status as S
from .._core.errors import FlowDiverged, ScenarioError, SteepestError


@dataclass(frozen=True)
class Output:
    """One stored quantity of a run: its dimensions after the grid's, their sizes, its dtype.

    A leading ``"sample"`` dimension marks a quantity per start (split between chunks)."""

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str
    description: str = ""

    @property
    def fill(self) -> Any:
        return np.nan if np.dtype(self.dtype).kind == "f" else -1


#: flows built in this process, by their [energy] and [metric] tables: a sweep over steps,
#: methods or starts reuses one flow, hence its compiled kernels (kept per flow)
_FLOWS: OrderedDict[str, Any] = OrderedDict()
_FLOWS_MAX = 16


class RnRunner:
    """Gradient flows on Rⁿ: a batch of starts through ``st.solve``; final states stored."""

    kind = None

    def _build(self, data: dict[str, Any]):
        from ..scenario.build import build

        sc = build(data)
        key = json.dumps([data.get("energy"), data.get("metric")], sort_keys=True, default=str)
        if key in _FLOWS:
            _FLOWS.move_to_end(key)
            sc.flow = _FLOWS[key]
        else:
            _FLOWS[key] = sc.flow
            if len(_FLOWS) > _FLOWS_MAX:
                _FLOWS.popitem(last=False)
        return sc

    def validate(self, data: dict[str, Any]) -> None:
        self._build(data)

    def n_samples(self, data: dict[str, Any]) -> int:
        return int(len(self._build(data).x0))

    def outputs(self, data: dict[str, Any]) -> dict[str, Output]:
        sc = self._build(data)
        n, dim = sc.x0.shape
        return {
            "x_final": Output(("sample", "coordinate"), (n, dim), "float64", "final point"),
            "energy_final": Output(("sample",), (n,), "float64", "V at the final point"),
            "grad_norm_final": Output(("sample",), (n,), "float64", "|∇V| at the final point"),
            "t_final": Output(("sample",), (n,), "float64", "when the trajectory stopped"),
            "steps": Output(("sample",), (n,), "int64", "accepted steps"),
            "status": Output(("sample",), (n,), "int8", "status code (steepest._core.status)"),
        }

    def run(
        self, data: dict[str, Any], samples: slice | None, pad_to: int | None = None
    ) -> dict[str, np.ndarray]:
        """The final states of the starts ``samples``; a shorter batch is padded with copies of
        its last start up to ``pad_to`` (and cut back), so that it reuses the compiled kernel of
        the full chunks."""
        from ..integrate.solve import solve

        sc = self._build(data)
        x0 = sc.x0 if samples is None else sc.x0[samples]
        n = len(x0)
        if pad_to is not None and n < pad_to:
            x0 = np.concatenate([x0, np.repeat(x0[-1:], pad_to - n, axis=0)])
        kw = {**sc.solve_kwargs, "save_state": False}
        try:
            sol = solve(sc.flow, x0, **kw)
        except FlowDiverged as err:
            if err.solution is not None:
                full = _rn_arrays(err.solution, len(x0))
                err.partial = {k: v[:n] for k, v in full.items()}  # type: ignore[attr-defined]
            raise
        return {k: v[:n] for k, v in _rn_arrays(sol, len(x0)).items()}


def _rn_arrays(sol: Any, n: int) -> dict[str, np.ndarray]:
    codes = {name: code for code, name in S.NAMES.items()}
    status = np.array([codes.get(str(s), -1) for s in np.atleast_1d(sol.status)], dtype=np.int8)
    gn = np.asarray(sol.grad_norm)
    return {
        "x_final": np.asarray(sol.x_final, dtype=float).reshape(n, -1),
        "energy_final": np.asarray(sol.energy_final, dtype=float).reshape(n),
        "grad_norm_final": (gn[..., -1] if gn.size else np.full(n, np.nan)).reshape(n),
        "t_final": np.asarray(sol.t_final, dtype=float).reshape(n),
        "steps": np.asarray(sol.steps).astype(np.int64).reshape(n),
        "status": status.reshape(n),
    }


def runner_for(data: dict[str, Any]) -> Any:
    """The runner of a scenario: by its top-level table, as ``steepest run`` dispatches."""
    from ..cli.app import RUNNERS

    for table, module in RUNNERS.items():
        if table in data:
            mod = importlib.import_module(module)
            make = getattr(mod, "sweep_runner", None)
            if make is None:
                raise ScenarioError(
                    f"sweep: scenarios with a [{table}] table cannot be swept yet; sweep a flow "
                    "on Rⁿ or a field run.",
                    key=table,
                )
            return make()
    return RnRunner()


def failure_message(err: BaseException) -> str:
    """One line for the record of a failed run."""
    if isinstance(err, SteepestError):
        return f"{type(err).__name__}: {err}"
    return f"{type(err).__name__}: {err} (an unexpected error; please report it)"
