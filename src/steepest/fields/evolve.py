"""`evolve`: run a field flow from c₀ to t₁, saving at fixed times, in compiled segments.

The Python loop only walks the save times (and, for progress or checkpoints, splits a long
interval into chunks of steps); every step runs inside the compiled segment of
:mod:`steepest.fields.stepping`. :func:`drive` is that loop, shared with the streamed,
checkpointed runs of :mod:`steepest.fields.run`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .._core.errors import ConvergenceError, FlowDiverged, ScenarioError
from .flows import FieldFlow
from .progress import FieldProgress
from .solution import FieldSolution
from .stepping import (
    ENERGY_INCREASE,
    NON_FINITE,
    OK,
    SOLVER_FAILED,
    STATUS,
    Integrator,
    StepControl,
)

#: a chunk of steps per compiled call aims at this much wall time (progress, checkpoints)
CHUNK_SECONDS = 0.25


def save_times(t1: Any, every: Any = None, n: Any = None) -> np.ndarray:
    """0 = t₀ < t₁ < … = t1: every ``every`` (the last interval may be shorter), or ``n`` times
    equally spaced (default 101)."""
    try:
        t1f = float(t1)
    except (TypeError, ValueError):
        t1f = float("nan")
    if not math.isfinite(t1f) or t1f <= 0:
        raise ScenarioError(f"scheme.t1: the end time must be > 0, got {t1!r}.", key="scheme.t1")
    if every is not None:
        try:
            e = float(every)
        except (TypeError, ValueError):
            e = float("nan")
        if not math.isfinite(e) or e <= 0:
            raise ScenarioError(
                f"output.every: the save interval must be > 0, got {every!r}.", key="output.every"
            )
        k = int(math.floor(t1f / e * (1 + 1e-12)))
        if k > 10_000_000:
            raise ScenarioError(
                f"output.every: {k} saves is too many; raise the interval.", key="output.every"
            )
        ts = e * np.arange(k + 1)
        if t1f - ts[-1] > 1e-9 * e:
            ts = np.append(ts, t1f)
        ts[-1] = t1f
        return ts
    n = 101 if n is None else n
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ScenarioError(
            f"n_save: expected a whole number ≥ 2 of save times, got {n!r}.", key="n_save"
        )
    return np.linspace(0.0, t1f, int(n))


def stop_error(integ: Integrator, carry: dict[str, Any], solution: Any = None) -> Exception:
    """The FlowDiverged (or ConvergenceError) that a failed segment stands for."""
    status = int(carry["status"])
    t = float(carry["t"])
    n = int(carry["n"])
    h = float(carry["h"])
    c = np.asarray(carry["state"]["c"])
    name = integ.scheme
    where = f"in the step after t = {t:.6g} (step {n + 1}, h ≈ {h:.3g})"
    limit = integ.flow.explicit_limit(c) if name == "explicit" else None
    if status in (NON_FINITE, ENERGY_INCREASE):
        what = (
            "became non-finite"
            if status == NON_FINITE
            else ("rose (the energy this scheme promises not to increase)")
        )
        subject = "the field" if status == NON_FINITE else "the free energy"
        if name == "explicit" and limit is not None:
            hint = (
                f"explicit steps are stable only below h = {limit:.3g} at this state (2/λ_max); "
                "lower scheme.dt or use a semi-implicit scheme"
            )
        elif name == "explicit":
            hint = "lower scheme.dt"
        elif name in ("semi-implicit", "etd1", "etdrk2", "etdrk4"):
            hint = "raise the stabilisation scheme.S or lower scheme.dt"
        else:
            hint = "lower scheme.dt"
        return FlowDiverged(
            f"{name}: {subject} {what} {where}; {hint}.",
            x=c,
            t=t,
            step=n + 1,
            reason=STATUS[status],
            stability_limit=limit,
            solution=solution,
        )
    if status == SOLVER_FAILED:
        return ConvergenceError(
            f"{name}: the implicit equation did not converge {where}; lower scheme.dt.",
            result=solution,
        )
    return ConvergenceError(
        f"{name}: the error controller needed a step below dt_min = "
        f"{integ.control.dt_min:.3g} {where}; lower scheme.dt_min or raise scheme.rtol.",
        result=solution,
    )


class _Stop(Exception):
    def __init__(self, carry: dict[str, Any]):
        self.carry = carry


def drive(
    integ: Integrator,
    carry: dict[str, Any],
    p: dict[str, Any],
    times: np.ndarray,
    first: int,
    on_save: Callable[[int, dict[str, Any]], None],
    *,
    max_steps: int,
    chunked: bool = False,
    on_segment: Callable[[dict[str, Any]], None] | None = None,
    step_limit: Callable[[int], int] | None = None,
) -> dict[str, Any]:
    """Advance ``carry`` through ``times[first:]``, calling ``on_save(k, carry)`` at each.

    ``step_limit(n)``, when given, is the step count the segment starting at step ``n`` may not
    pass (a checkpoint every N steps ends its segments on multiples of N).

    Raises ``_Stop`` with the failed carry, or ConvergenceError at ``max_steps``.
    """
    chunk = 64
    for k in range(first, len(times)):
        tk = float(times[k])
        while True:
            n_now = int(carry["n"])
            n_limit = min(n_now + chunk, max_steps) if chunked else max_steps
            if step_limit is not None:
                n_limit = min(n_limit, max(int(step_limit(n_now)), n_now + 1))
            w0 = time.perf_counter()
            carry = integ.advance(carry, p, tk, n_limit)
            status = int(carry["status"])
            wall = time.perf_counter() - w0
            if chunked and int(carry["n"]) - n_now >= chunk and wall > 0:
                chunk = int(min(max(chunk * CHUNK_SECONDS / wall, 8), 1_000_000))
            if status != OK:
                raise _Stop(carry)
            if on_segment is not None:
                on_segment(carry)
            if float(carry["t"]) >= tk:
                break
            if int(carry["n"]) >= max_steps:
                raise ConvergenceError(
                    f"max_steps: the run took {max_steps} steps and reached only t = "
                    f"{float(carry['t']):.6g} of {times[-1]:g}; raise max_steps or the step.",
                    result=None,
                )
        on_save(k, carry)
    return carry


def evolve(
    flow: FieldFlow,
    c0: Any,
    t1: float,
    *,
    dt: float,
    scheme: str = "semi-implicit",
    adaptive: Any = None,
    dt_min: float | None = None,
    dt_max: float | None = None,
    alpha: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    save_every: float | None = None,
    n_save: int | None = None,
    save_fields: bool = True,
    check_energy: bool = True,
    max_steps: int = 100_000_000,
    progress: Any = False,
    scheme_options: dict[str, Any] | None = None,
    **params: Any,
) -> FieldSolution:
    """Integrate ``flow`` from ``c0`` to ``t1``; return a :class:`FieldSolution`.

    Args:
        flow: an :class:`~steepest.fields.L2Flow`, :class:`~steepest.fields.HMinus1Flow` or
            :class:`~steepest.fields.WassersteinFlow`.
        c0: the initial field, of the grid's shape.
        t1: the end time.
        dt: the step (fixed), or the first and largest step (``adaptive``).
        scheme: ``"explicit"``, ``"semi-implicit"``, ``"etd1"``, ``"etdrk2"``, ``"etdrk4"``,
            ``"eyre"``, ``"sav"``.
        adaptive: None (fixed step), ``"energy"`` or ``"error"``.
        dt_min, dt_max, alpha, rtol, atol: the controller's settings.
        save_every, n_save: the save times (every ``save_every``, or ``n_save`` equally spaced).
        save_fields: keep the field at every save time (else only the last).
        check_energy: stop with FlowDiverged when a promised energy decrease fails.
        max_steps: the cap on steps.
        progress: True for a rich bar, or a callable receiving a dict per segment.
        scheme_options: static options of a scheme (Eyre: ``tol``, ``max_iter``).
        **params: the scheme's run-time numbers: ``S`` (stabilisation), ``C0`` (SAV), ``L``
            (Eyre's linear split), ``M0`` (variable mobility), ``cfl`` (Wasserstein).

    Raises:
        ScenarioError: bad input (names the argument).
        FlowDiverged: non-finite values or a broken energy promise; carries the last good
            field and the solution so far.
        ConvergenceError: an inner solve or the error controller failed, or ``max_steps``.

    Examples:
        >>> import steepest as st
        >>> g = st.fields.SpectralGrid((64,), (2 * 3.141592653589793,))
        >>> flow = st.fields.L2Flow(g, st.fields.dirichlet())
        >>> sol = st.fields.evolve(flow, np.sin(g.coordinates()[0]), 1.0, dt=0.1, scheme="etd1")
        >>> round(float(sol.final.max()), 6)  # e^{-1}
        0.367879
    """
    times = save_times(t1, save_every, n_save)
    control = StepControl.make(
        dt, adaptive, dt_min=dt_min, dt_max=dt_max, alpha=alpha, rtol=rtol, atol=atol
    )
    c0 = flow.check_initial(c0, "c0")
    integ = Integrator(
        flow, scheme, control, check_energy=check_energy, params=params,
        scheme_options=scheme_options,
    )  # fmt: skip
    wall0 = time.perf_counter()
    carry, p = integ.start(c0)
    rec: dict[str, list] = {k: [] for k in ("t", "F", "E", "mass", "n", "h", "c")}

    def on_save(k: int, cr: dict[str, Any]) -> None:
        s = cr["state"]
        rec["t"].append(float(times[k]))
        rec["F"].append(float(s["F"]))
        rec["E"].append(float(s["E"]))
        c = np.asarray(s["c"])
        rec["mass"].append(float(np.sum(c) * flow.grid.cell_volume))
        rec["n"].append(int(cr["n"]))
        rec["h"].append(float(cr["h"]))
        if save_fields or k == len(times) - 1:
            rec["c"].append(c)

    bar = FieldProgress(progress, float(times[-1]))

    def on_segment(cr: dict[str, Any]) -> None:
        bar.update(float(cr["t"]), int(cr["n"]), float(cr["state"]["F"]))

    def solution(cr: dict[str, Any], status: str) -> FieldSolution:
        fields = np.stack(rec["c"]) if save_fields and rec["c"] else None
        final = rec["c"][-1] if rec["c"] else c0
        return FieldSolution(
            t=np.asarray(rec["t"]),
            energy=np.asarray(rec["F"]),
            modified_energy=np.asarray(rec["E"]),
            mass=np.asarray(rec["mass"]),
            steps=np.asarray(rec["n"], dtype=np.int64),
            dt=np.asarray(rec["h"]),
            fields=fields,
            final=final,
            flow=flow,
            stats={
                "scheme": integ.scheme,
                "order": integ.stepper.order,
                "promise": integ.stepper.promise,
                "controller": control.kind,
                "steps": int(cr["n"]),
                "rejected": int(cr["rejected"]),
                "wall_s": time.perf_counter() - wall0,
                "compile_s": integ.compile_s,
                "status": status,
                **{f"param_{k}": float(v) for k, v in p.items() if k in ("S", "C0", "L", "M0")},
            },
        )

    on_save(0, carry)
    try:
        carry = drive(
            integ, carry, p, times, 1, on_save, max_steps=int(max_steps),
            chunked=bool(progress), on_segment=on_segment if progress else None,
        )  # fmt: skip
    except _Stop as stop:
        bar.close()
        raise stop_error(integ, stop.carry, solution(stop.carry, "failed")) from None
    finally:
        bar.close()
    return solution(carry, "done")
