"""Gradient descent beside the gradient flow it discretises, from the same start.

θ_{k+1} = θ_k − h∇L(θ_k) is explicit Euler on dθ/dt = −∇L(θ) with time t = kh. Both run
through :func:`steepest.solve` (``method="euler"`` and an adaptive solver) on the same time grid;
along both we record L, |∇L|, the sharpness λ_max(∇²L) (Lanczos) and the distance
|θ_GD(t) − θ_flow(t)|. While h·λ_max ≪ 2 the two agree to O(h); at the edge of stability
(h·λ_max ≈ 2) gradient descent leaves the flow: its sharpness stops at 2/h while the flow's keeps
rising (Cohen et al. 2021).

References:
    Cohen, Kaur, Li, Kolter & Talwalkar, ICLR 2021 — the edge of stability.
    Hairer, Nørsett & Wanner, *Solving ODEs I*, §II.3 — the global error of Euler, O(h).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from ..flow import GradientFlow
from ..solution import Solution
from .curvature import sharpness_along

#: above this many parameters the exact flow uses an explicit adaptive solver (tsit5): a dense
#: Jacobian of P² entries per implicit step costs more than the extra explicit steps
STIFF_DENSE_MAX = 512


def check_step(h: Any, key: str = "h") -> float:
    """A learning rate / time step: a finite number > 0, else a one-sentence ScenarioError."""
    try:
        v = float(h)
    except (TypeError, ValueError):
        raise ScenarioError(f"{key}: expected a positive step size, got {h!r}.", key=key) from None
    if isinstance(h, bool) or not math.isfinite(v) or v <= 0:
        raise ScenarioError(
            f"{key}: the step size must be a finite number > 0, got {h!r}; a learning rate of "
            "e.g. 0.1 (see the curvature report, st.learning.diagnose, for the stable range).",
            key=key,
        )
    return v


def check_steps(n: Any, key: str = "steps") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ScenarioError(f"{key}: expected a positive integer, got {n!r}.", key=key)
    return int(n)


def start_of(loss: Potential, theta0: Any, key: str = "theta0") -> np.ndarray:
    """The start: ``theta0`` or the loss's initial parameters, checked finite and of the right
    shape."""
    if theta0 is None:
        theta0 = getattr(loss, "theta0", None)
        if theta0 is None:
            raise ScenarioError(f"{key}: give the starting parameters.", key=key)
    try:
        x = np.asarray(theta0, dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError(f"{key}: expected an array of numbers, got {theta0!r}.", key=key) from None
    if x.shape != (loss.dim,):
        raise ScenarioError(
            f"{key}: expected {loss.dim} parameters (shape ({loss.dim},)), got shape {x.shape}.",
            key=key,
        )
    bad = int(np.sum(~np.isfinite(x)))
    if bad:
        raise ScenarioError(
            f"{key}: {bad} of the {x.size} parameters are NaN or infinite; start from finite "
            "values (e.g. the model's initialisation, loss.theta0).",
            key=key,
        )
    return x


def save_every(steps: int, every: int | None, max_saves: int = 200) -> int:
    """Save every ``every`` steps (it must divide ``steps``, so that the flow is saved at the
    same times); default the smallest divisor giving at most ``max_saves`` saves."""
    if every is None:
        return next(d for d in range(1, steps + 1) if steps % d == 0 and steps // d <= max_saves)
    every = check_steps(every, "every")
    if steps % every:
        raise ScenarioError(
            f"every: {every} does not divide steps = {steps}; GD and the flow are saved at the "
            "same times t = k·every·h, so pick a divisor.",
            key="every",
        )
    return every


def gradient_descent(
    loss: Potential,
    h: float,
    steps: int,
    *,
    theta0: Any = None,
    every: int | None = None,
    flow: GradientFlow | None = None,
) -> Solution:
    """Full-batch gradient descent θ ← θ − h∇L(θ): ``st.solve(method="euler")`` for ``steps``
    steps, saved every ``every`` steps. The loss may rise (the edge of stability does that), so
    only non-finite values stop it; nothing raises, the status says what happened."""
    from ..integrate.solve import solve

    h = check_step(h)
    steps = check_steps(steps)
    x0 = start_of(loss, theta0)
    k = save_every(steps, every)
    return solve(
        flow or loss,
        x0,
        t1=steps * h,
        method="euler",
        h=h,
        n_save=steps // k + 1,
        check_energy=False,
        errors="record",
    )


def proximal_point(
    loss: Potential, h: float, steps: int, *, theta0: Any = None, every: int | None = None
) -> Solution:
    """The proximal point method θ ← argmin_y L(y) + |y − θ|²/(2h): implicit Euler on the flow
    (``st.solve(method="implicit-euler")``), stable and loss-decreasing for every h on a convex
    loss (Rockafellar 1976). Uses dense Hessians inside its Newton solves (small models)."""
    from ..integrate.solve import solve

    h = check_step(h)
    steps = check_steps(steps)
    x0 = start_of(loss, theta0)
    k = save_every(steps, every)
    return solve(
        loss, x0, t1=steps * h, method="implicit-euler", h=h, n_save=steps // k + 1, errors="record"
    )


def flow_method(dim: int, method: str = "auto") -> str:
    """The adaptive solver for the exact flow: ``kvaerno5`` (stiff, dense Newton) up to
    ``STIFF_DENSE_MAX`` parameters, ``tsit5`` beyond; or the one named."""
    if method == "auto":
        return "kvaerno5" if dim <= STIFF_DENSE_MAX else "tsit5"
    if method not in ("kvaerno5", "tsit5", "rk45"):
        raise ScenarioError(
            f"flow_method: expected auto, kvaerno5, tsit5 or rk45, got {method!r}.",
            key="flow_method",
        )
    return method


def gradient_flow(
    loss: Potential,
    t1: float,
    *,
    theta0: Any = None,
    n_save: int = 201,
    method: str = "auto",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 200_000,
    flow: GradientFlow | None = None,
) -> Solution:
    """The exact gradient flow dθ/dt = −∇L(θ) to time ``t1`` by an adaptive solver
    (:func:`flow_method`), saved at ``n_save`` equally spaced times; the loss must fall along it
    (the dissipation guard of ``st.solve`` checks every save)."""
    from ..integrate.solve import solve

    x0 = start_of(loss, theta0)
    return solve(
        flow or loss,
        x0,
        t1=check_step(t1, "t1"),
        method=flow_method(loss.dim, method),
        n_save=n_save,
        rtol=rtol,
        atol=atol,
        max_steps=int(max_steps),
        errors="record",
    )


@dataclass
class Trajectories:
    """Gradient descent with step ``h`` and the exact flow, saved at the same times ``t``."""

    h: float
    steps: int
    every: int
    gd: Solution
    flow: Solution
    sharpness_gd: np.ndarray | None
    sharpness_flow: np.ndarray | None
    residual_gd: np.ndarray | None = None
    residual_flow: np.ndarray | None = None

    @property
    def t(self) -> np.ndarray:
        return self.gd.t

    @property
    def distance(self) -> np.ndarray:
        """|θ_GD(t) − θ_flow(t)| at each saved time."""
        return np.linalg.norm(self.gd.x - self.flow.x, axis=-1)

    @property
    def loss_gd(self) -> np.ndarray:
        return self.gd.energy

    @property
    def loss_flow(self) -> np.ndarray:
        return self.flow.energy

    def edge_of_stability(self, reach: float = 0.95, settle: float = 0.5) -> dict[str, Any]:
        """Summary of the edge of stability: when GD's sharpness first reaches ``reach``·2/h,
        its plateau (saves in the last ``settle`` fraction of the time after that), how far the
        plateau strays from 2/h, and the flow's sharpness at the end."""
        if self.sharpness_gd is None or self.sharpness_flow is None:
            raise ScenarioError(
                "sharpness: these trajectories were run with sharpness=False.", key="sharpness"
            )
        target = 2.0 / self.h
        s = self.sharpness_gd
        hit = np.flatnonzero(s >= reach * target)
        out: dict[str, Any] = {"two_over_h": target, "reached": bool(hit.size)}
        out["flow_final"] = float(self.sharpness_flow[-1])
        out["flow_max"] = float(np.nanmax(self.sharpness_flow))
        if not hit.size:
            return out
        i0 = int(hit[0])
        start = i0 + int(math.ceil((len(s) - i0) * (1 - settle)))
        plateau = s[start:]
        out.update(
            t_reach=float(self.t[i0]),
            plateau_t0=float(self.t[min(start, len(s) - 1)]),
            plateau_mean=float(np.mean(plateau)),
            plateau_min=float(np.min(plateau)),
            plateau_max=float(np.max(plateau)),
            plateau_rel_dev=float(np.max(np.abs(plateau / target - 1.0))),
            mean_rel_dev=float(abs(np.mean(plateau) / target - 1.0)),
        )
        return out

    def to_xarray(self):
        """An ``xarray.Dataset`` over ``time`` with both trajectories' loss, |∇L|, sharpness,
        the distance between them, and θ (dims ``time``, ``param``)."""
        import xarray as xr

        data = {
            "loss_gd": ("time", self.gd.energy),
            "loss_flow": ("time", self.flow.energy),
            "grad_norm_gd": ("time", self.gd.grad_norm),
            "grad_norm_flow": ("time", self.flow.grad_norm),
            "distance": ("time", self.distance),
            "theta_gd": (("time", "param"), self.gd.x),
            "theta_flow": (("time", "param"), self.flow.x),
        }
        if self.sharpness_gd is not None:
            data["sharpness_gd"] = ("time", self.sharpness_gd)
            data["sharpness_flow"] = ("time", self.sharpness_flow)
        ds = xr.Dataset(
            data,
            coords={"time": self.t, "step": ("time", np.rint(self.t / self.h).astype(np.int64))},
            attrs={
                "title": "gradient descent beside its gradient flow",
                "h": self.h,
                "two_over_h": 2.0 / self.h,
                "gd_status": str(self.gd.status),
                "flow_status": str(self.flow.status),
                "flow_method": str(self.flow.settings.get("method")),
            },
        )
        ds["loss_gd"].attrs["long_name"] = "L(θ_k), gradient descent"
        ds["loss_flow"].attrs["long_name"] = "L(θ(t)), gradient flow"
        ds["distance"].attrs["long_name"] = "|θ_GD(t) − θ_flow(t)|"
        return ds


def gd_and_flow(
    loss: Potential,
    h: float,
    steps: int,
    *,
    theta0: Any = None,
    every: int | None = None,
    flow_method: str = "auto",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 200_000,
    sharpness: bool = True,
    lanczos_iters: int = 20,
) -> Trajectories:
    """Run gradient descent (step ``h``, ``steps`` steps) and the exact flow to t = steps·h
    from the same start, saved every ``every`` steps, with the sharpness along both.

    Examples:
        >>> import steepest as st
        >>> L = st.learning.logistic_regression(st.learning.load("iris"))
        >>> tr = st.learning.gd_and_flow(L, h=0.1, steps=100, every=10, sharpness=False)
        >>> bool(tr.distance[-1] < 0.05)
        True
    """
    h = check_step(h)
    steps = check_steps(steps)
    x0 = start_of(loss, theta0)
    k = save_every(steps, every)
    gd = gradient_descent(loss, h, steps, theta0=x0, every=k)
    fl = gradient_flow(
        loss,
        steps * h,
        theta0=x0,
        n_save=steps // k + 1,
        method=flow_method,
        rtol=rtol,
        atol=atol,
        max_steps=max_steps,
    )
    s_gd = s_fl = r_gd = r_fl = None
    if sharpness:
        s_gd, r_gd = sharpness_along(loss, gd.x, lanczos_iters)
        s_fl, r_fl = sharpness_along(loss, fl.x, lanczos_iters)
    return Trajectories(h, steps, k, gd, fl, s_gd, s_fl, r_gd, r_fl)
