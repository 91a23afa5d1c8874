"""The compiled time loop of a field flow: whole segments of steps in one ``lax.while_loop``.

A segment runs from the current time to a target time (a save time) or until a step count, with
one of three step controllers, and checks every step:

* ``"fixed"`` — the step ``dt`` (the last step of a segment is shortened to land on the target);
* ``"energy"`` — h = max(dt_min, dt_max / √(1 + α |dE/dt|²)): small steps while the energy
  falls fast, large ones on plateaus (Qiao, Zhang & Tang 2011);
* ``"error"`` — step doubling: one step of h against two of h/2, the difference over 2^p − 1 as
  the local error of the order-p scheme, accepted when ≤ atol + rtol·max|c| and the next step
  scaled by 0.9·err^{−1/(p+1)} (Hairer, Nørsett & Wanner, *Solving ODEs I*, §II.4).

Every accepted step must keep the field finite and, for a scheme that promises it, not raise its
energy beyond round-off (rtol·(|Eⁿ| + |E⁰|)); otherwise the segment stops with a status code and
the last good state, which :mod:`steepest.fields.evolve` turns into ``FlowDiverged``.

The jitted segment is cached per flow, scheme and controller, so a second run with the same
shapes does not compile again (JAX's own compile events are counted to check it); every number
that may change between runs (S, C₀, dt, tolerances) is a run-time argument.

Reference: Z. Qiao, Z. Zhang & T. Tang, SIAM J. Sci. Comput. 33 (2011) 1395.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypedDict

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._core.errors import ScenarioError
from .flows import FieldFlow
from .schemes import Stepper, canonical, make_stepper

CONTROLLERS = ("fixed", "energy", "error")
OK, NON_FINITE, ENERGY_INCREASE, SOLVER_FAILED, STEP_UNDERFLOW = 0, 1, 2, 3, 4
STATUS = {
    OK: "ok",
    NON_FINITE: "non-finite",
    ENERGY_INCREASE: "energy-increase",
    SOLVER_FAILED: "solver-failed",
    STEP_UNDERFLOW: "step-underflow",
}
#: an energy rise above ENERGY_RTOL·(|Eⁿ| + |E⁰|) is not round-off
ENERGY_RTOL = 1e-10
COMPILE_COUNT = {"n": 0}


def _pos(name: str, v: Any, key: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ScenarioError(f"{key}: expected a number, got {v!r}.", key=key) from None
    if isinstance(v, bool) or not math.isfinite(f) or f <= 0:
        raise ScenarioError(f"{key}: {name} must be a finite number > 0, got {v!r}.", key=key)
    return f


@dataclass(frozen=True)
class StepControl:
    """How steps are chosen: ``kind`` in ``fixed``, ``energy``, ``error``.

    Args:
        dt: the fixed step, or the first step of an adaptive run.
        dt_min, dt_max: bounds of adaptive steps. Defaults: the energy controller keeps to
            [dt/10⁴, dt]; the error controller to [dt/10⁸, 10⁴·dt], since the fast decay of
            rough initial data (white noise) can need steps far below the first one.
        alpha: α of the energy controller.
        rtol, atol: tolerances of the error controller (on max|c|).
    """

    kind: str
    dt: float
    dt_min: float
    dt_max: float
    alpha: float = 1.0
    rtol: float = 1e-3
    atol: float = 1e-6

    @classmethod
    def make(
        cls,
        dt: Any,
        adaptive: Any = None,
        *,
        dt_min: Any = None,
        dt_max: Any = None,
        alpha: Any = None,
        rtol: Any = None,
        atol: Any = None,
    ) -> StepControl:
        dt = _pos("the time step", dt, "scheme.dt")
        kind = "fixed" if adaptive in (None, False, "fixed", "none") else str(adaptive).lower()
        if adaptive is True:
            kind = "error"
        if kind not in CONTROLLERS:
            raise ScenarioError(
                f"scheme.adaptive: unknown step control {adaptive!r}; choose false (fixed dt), "
                '"energy" (steps from the energy decay rate) or "error" (step doubling).',
                key="scheme.adaptive",
            )
        lo_default = dt * (1e-8 if kind == "error" else 1e-4)
        lo = _pos("dt_min", dt_min, "scheme.dt_min") if dt_min is not None else lo_default
        hi = _pos("dt_max", dt_max, "scheme.dt_max") if dt_max is not None else dt
        if kind == "error" and dt_max is None:
            hi = dt * 1e4
        if lo > hi:
            raise ScenarioError(
                f"scheme.dt_min: dt_min = {lo:g} is larger than dt_max = {hi:g}.",
                key="scheme.dt_min",
            )
        return cls(
            kind=kind,
            dt=dt,
            dt_min=lo,
            dt_max=hi,
            alpha=_pos("alpha", alpha, "scheme.alpha") if alpha is not None else 1.0,
            rtol=_pos("rtol", rtol, "scheme.rtol") if rtol is not None else 1e-3,
            atol=_pos("atol", atol, "scheme.atol") if atol is not None else 1e-6,
        )


def _where(ok: Any, a: Any, b: Any) -> Any:
    return jax.tree.map(lambda x, y: jnp.where(ok, x, y), a, b)


def _finite(s: dict[str, Any]) -> Any:
    return jnp.all(jnp.isfinite(s["c"])) & jnp.isfinite(s["F"]) & jnp.isfinite(s["E"])


def build_segment(stepper: Stepper, kind: str, check_energy: bool):
    """``segment(carry, p, t_target, n_limit) -> carry``: steps until t = t_target, n = n_limit,
    or a failed check (carry["status"] ≠ 0, carry["state"] the last good state)."""
    promise = check_energy and stepper.promise in ("energy", "modified-energy")
    order = stepper.order

    def segment(carry, p, t_target, n_limit):
        def cond(c):
            return (c["status"] == OK) & (c["t"] < t_target) & (c["n"] < n_limit)

        def body(c):
            s, t, hp = c["state"], c["t"], c["h"]
            hc = hp if stepper.max_step is None else jnp.minimum(hp, stepper.max_step(s, p))
            last = t + hc * (1.0 + 1e-9) >= t_target
            h = jnp.where(last, t_target - t, hc)
            tol = p["energy_rtol"] * (jnp.abs(s["E"]) + jnp.abs(c["E0"])) + 1e-300

            if kind == "error" and stepper.embedded:
                new = stepper.step(s, h, p)
                fin = _finite(new)
                rise = promise & (new["E"] > s["E"] + tol)
                failed = new["fail"] != 0
                scale = p["atol"] + p["rtol"] * jnp.max(jnp.abs(new["c"]))
                err = new["err"] / scale
                expo = 1.0 / stepper.error_order  # the estimate is O(h^q)
            elif kind == "error":
                big = stepper.step(s, h, p)
                mid = stepper.step(s, 0.5 * h, p)
                new = stepper.step(mid, 0.5 * h, p)
                fin = _finite(new) & _finite(big)
                rise = promise & ((new["E"] > s["E"] + tol) | (mid["E"] > s["E"] + tol))
                failed = (new["fail"] != 0) | (big["fail"] != 0)
                scale = p["atol"] + p["rtol"] * jnp.max(jnp.abs(new["c"]))
                err = jnp.max(jnp.abs(new["c"] - big["c"])) / scale / (2.0**order - 1.0)
                expo = 1.0 / (order + 1)
            if kind == "error":
                err = jnp.where(fin & ~rise & ~failed, err, jnp.inf)
                accept = err <= 1.0
                factor = jnp.clip(0.9 * err ** (-expo), 0.2, 5.0)
                factor = jnp.where(err == 0, 5.0, factor)
                h_new = jnp.clip(h * factor, p["dt_min"], p["dt_max"])
                h_next = jnp.where(accept & last, jnp.maximum(h_new, hp), h_new)
                stuck = ~accept & (h <= p["dt_min"] * (1.0 + 1e-12))
                code = jnp.where(
                    ~fin,
                    NON_FINITE,
                    jnp.where(
                        rise, ENERGY_INCREASE, jnp.where(failed, SOLVER_FAILED, STEP_UNDERFLOW)
                    ),
                )
                status = jnp.where(stuck, code, OK)
                ok = accept
            else:
                new = stepper.step(s, h, p)
                fin = _finite(new)
                rise = promise & (new["E"] > s["E"] + tol)
                status = jnp.where(
                    ~fin,
                    NON_FINITE,
                    jnp.where(
                        rise, ENERGY_INCREASE, jnp.where(new["fail"] != 0, SOLVER_FAILED, OK)
                    ),
                )
                ok = status == OK
                if kind == "energy":
                    rate = (new["E"] - s["E"]) / h
                    h_new = p["dt_max"] / jnp.sqrt(1.0 + p["alpha"] * rate * rate)
                    h_next = jnp.where(ok, jnp.clip(h_new, p["dt_min"], p["dt_max"]), hp)
                else:
                    h_next = hp
            return {
                "state": _where(ok, new, s),
                "t": jnp.where(ok, jnp.where(last, t_target, t + h), t),
                "h": h_next,
                "n": c["n"] + ok.astype(c["n"].dtype),
                "rejected": c["rejected"] + (~ok & (status == OK)).astype(c["n"].dtype),
                "status": status.astype(jnp.int32),
                "E0": c["E0"],
            }

        return lax.while_loop(cond, body, carry)

    return segment


class Integrator:
    """A flow, a scheme and a step controller, with the compiled segment loop.

    ``start(c0)`` gives the loop's carry (a dict of arrays: state, t, h, n, rejected, status,
    E0) and the run-time numbers ``p``; ``advance(carry, p, t_target, n_limit)`` runs one
    compiled segment. Both are plain arrays, so a carry can be checkpointed and resumed.
    """

    def __init__(
        self,
        flow: FieldFlow,
        scheme: str = "semi-implicit",
        control: StepControl | None = None,
        *,
        check_energy: bool = True,
        energy_rtol: float = ENERGY_RTOL,
        params: dict[str, Any] | None = None,
        scheme_options: dict[str, Any] | None = None,
    ):
        if not isinstance(flow, FieldFlow):
            raise ScenarioError(
                f"flow: expected a field flow (L2Flow, HMinus1Flow, WassersteinFlow), got "
                f"{type(flow).__name__}.",
                key="flow",
            )
        self.flow = flow
        self.scheme = canonical(scheme)
        self.control = control or StepControl.make(1e-3)
        self.check_energy = bool(check_energy)
        self.energy_rtol = float(energy_rtol)
        self.params = dict(params or {})
        opts = dict(scheme_options or {})
        key = (self.scheme, tuple(sorted(opts.items())), self.control.kind, self.check_energy)
        kern = flow._kernels.get(key)
        if kern is None:
            stepper = make_stepper(flow, self.scheme, **opts)
            kern = {
                "stepper": stepper,
                "jit": jax.jit(build_segment(stepper, self.control.kind, self.check_energy)),
                "init": jax.jit(stepper.init),
            }
            flow._kernels[key] = kern
        self._kern = kern
        self.stepper: Stepper = kern["stepper"]
        self.compile_s = 0.0

    def run_params(self, c0: np.ndarray) -> dict[str, Any]:
        """The run-time numbers: the scheme's defaults from c0, overridden by ``params``."""
        p = {k: float(v) for k, v in self.stepper.defaults(c0).items()}
        for k, v in self.params.items():
            if v is None:
                continue
            if k not in p:
                raise ScenarioError(
                    f"scheme.{k}: the {self.scheme} scheme has no parameter {k!r}"
                    + (f"; it takes {', '.join(p)}." if p else "."),
                    key=f"scheme.{k}",
                )
            if k in ("S", "L", "M0") and (not math.isfinite(float(v)) or float(v) < 0):
                raise ScenarioError(
                    f"scheme.{k}: expected a number ≥ 0, got {v!r}.", key=f"scheme.{k}"
                )
            p[k] = float(v)
        c = self.control
        p |= {
            "dt_min": c.dt_min,
            "dt_max": c.dt_max,
            "alpha": c.alpha,
            "rtol": c.rtol,
            "atol": c.atol,
            "energy_rtol": self.energy_rtol,
        }
        return p

    def start(self, c0: np.ndarray, t0: float = 0.0) -> tuple[dict[str, Any], dict[str, Any]]:
        p = self.run_params(c0)
        pj = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in p.items()}
        state = self._kern["init"](jnp.asarray(c0), pj)
        F0 = float(state["E"])
        if not math.isfinite(F0):
            raise ScenarioError(
                f"initial: the free energy of the initial field is {F0}; for an entropy or a "
                "power of ρ the density must be ≥ 0 (and finite).",
                key="initial",
            )
        carry = {
            "state": state,
            "t": jnp.asarray(t0, jnp.float64),
            "h": jnp.asarray(self.control.dt, jnp.float64),
            "n": jnp.asarray(0, jnp.int64),
            "rejected": jnp.asarray(0, jnp.int64),
            "status": jnp.asarray(OK, jnp.int32),
            "E0": jnp.asarray(F0, jnp.float64),
        }
        return carry, pj

    def advance(self, carry: dict[str, Any], p: dict[str, Any], t_target: float, n_limit: int):
        """One compiled segment; a new shape compiles once (counted in COMPILE_COUNT, its time
        in ``compile_s``), equal shapes reuse the executable."""
        # NumPy scalars go straight into the call (jnp.asarray would cost ~100 µs each, eager,
        # per segment: a third of a run's overhead when it saves often)
        args = (carry, p, np.float64(t_target), np.int64(n_limit))
        n0, s0 = _COMPILES["n"], _COMPILES["s"]
        out = self._kern["jit"](*args)
        if _COMPILES["n"] != n0:
            COMPILE_COUNT["n"] += _COMPILES["n"] - n0
            self.compile_s += _COMPILES["s"] - s0
        return out


# Backend compilations as JAX reports them (its monitoring events): counted rather than
# inferred from our own cache keys, so a silent recompilation would show. (Ahead-of-time
# ``lower().compile()`` is avoided: with hoisted closure constants its executables reject
# their own arguments in this JAX.)
class _CompileLog(TypedDict):
    n: int  # backend compilations seen
    s: float  # their total duration, seconds


_COMPILES: _CompileLog = {"n": 0, "s": 0.0}


def _on_compile(event: str, duration_secs: float, **_: str | int) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES["n"] += 1
        _COMPILES["s"] += duration_secs


jax.monitoring.register_event_duration_secs_listener(_on_compile)
