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
from ..metric.metrics import Metric
from ..solution import Solution
from .checks import check_step, check_steps, save_every, start_of
from .sharpness import sharpness_along

#: the flow falls back from tsit5 to kvaerno5 (dense Newton) when tsit5 runs out of steps, up to
#: this many parameters; beyond it a dense P × P Jacobian per implicit stage costs too much
STIFF_DENSE_MAX = 2048
FLOW_METHODS = ("auto", "tsit5", "rk45", "kvaerno5", "rk4")


def _flow(loss: Potential, metric: Metric | None) -> GradientFlow:
    return GradientFlow(loss, metric) if metric is not None else GradientFlow(loss)


def gradient_descent(
    loss: Potential,
    h: float,
    steps: int,
    *,
    theta0: Any = None,
    every: int | None = None,
    metric: Metric | None = None,
) -> Solution:
    """Full-batch gradient descent θ ← θ − h G⁻¹∇L(θ) (G = I unless a ``metric`` is given:
    preconditioned or natural gradient descent): ``st.solve(method="euler")`` for ``steps``
    steps, saved every ``every`` steps (default: at most 200 saves).

    The loss may rise (at the edge of stability it does), so only a non-finite value stops the
    run; nothing raises, ``solution.status`` says what happened.
    """
    from ..integrate.solve import solve

    h = check_step(h)
    steps = check_steps(steps)
    x0 = start_of(loss, theta0)
    k = save_every(steps, every)
    return solve(
        _flow(loss, metric),
        x0,
        t1=steps * h,
        method="euler",
        h=h,
        n_save=steps // k + 1,
        check_energy=False,
        errors="record",
    )


def proximal_point(
    loss: Potential,
    h: float,
    steps: int,
    *,
    theta0: Any = None,
    every: int | None = None,
    metric: Metric | None = None,
) -> Solution:
    """The proximal point method θ ← argmin_y L(y) + |y − θ|²/(2h): implicit Euler on the flow
    (``st.solve(method="implicit-euler")``). On a convex loss every step lowers the loss, for
    every h > 0 (Rockafellar 1976); on a non-convex one the step needs h < 1/|λ_min|. Each step
    is a damped Newton solve with dense Hessians: for models up to a few thousand parameters."""
    from ..integrate.solve import solve

    h = check_step(h)
    steps = check_steps(steps)
    x0 = start_of(loss, theta0)
    k = save_every(steps, every)
    if loss.dim > STIFF_DENSE_MAX:
        raise ScenarioError(
            f"proximal_point: each step solves a dense {loss.dim} × {loss.dim} Newton system; "
            f"use a model with at most {STIFF_DENSE_MAX} parameters.",
            key="optimizer",
        )
    return solve(
        _flow(loss, metric),
        x0,
        t1=steps * h,
        method="implicit-euler",
        h=h,
        n_save=steps // k + 1,
        errors="record",
    )


def check_flow_method(method: Any) -> str:
    if method not in FLOW_METHODS:
        raise ScenarioError(
            f"flow_method: expected one of {', '.join(FLOW_METHODS)}, got {method!r}.",
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
    metric: Metric | None = None,
    h: float | None = None,
) -> Solution:
    """The exact gradient flow dθ/dt = −G⁻¹∇L(θ) to time ``t1``, saved at ``n_save`` equally
    spaced times; the loss must fall along it (``st.solve``'s dissipation guard checks it).

    ``method="auto"`` takes ``tsit5`` (explicit, adaptive) and, if it runs out of steps because
    the landscape is stiff, reruns with the stiff ``kvaerno5`` (up to ``STIFF_DENSE_MAX``
    parameters). Explicit is the right first choice beside gradient descent: a stable GD step
    h keeps λ_max ≲ 2/h, so the explicit solver needs no more steps than GD itself; only a flow
    that sharpens far beyond 2/h (the edge of stability) or a long horizon on an ill-conditioned
    loss makes it stiff. ``method="rk4"`` with a small fixed ``h`` is the cheap-to-compile
    alternative (fourth order: its error is O(h⁴)).
    """
    from ..integrate.solve import solve

    x0 = start_of(loss, theta0)
    t1 = check_step(t1, "t1", "the end time")
    method = check_flow_method(method)
    first = "tsit5" if method == "auto" else method
    if first == "rk4":
        if h is None:
            raise ScenarioError(
                "h: flow_method='rk4' takes a fixed step; pass h (e.g. a tenth of the GD step).",
                key="h",
            )
        r = t1 / check_step(h)
        if abs(r - round(r)) > 1e-9 * max(r, 1.0) or round(r) % (n_save - 1):
            raise ScenarioError(
                f"h: the rk4 step must divide the save interval t1/(n_save − 1) = "
                f"{t1 / (n_save - 1):g}; got h = {h:g}.",
                key="h",
            )
    kw: dict[str, Any] = dict(
        n_save=n_save, errors="record", rtol=rtol, atol=atol, max_steps=int(max_steps)
    )
    if first == "rk4":
        kw = dict(n_save=n_save, errors="record", h=h)
    sol = solve(_flow(loss, metric), x0, t1=t1, method=first, **kw)
    if method == "auto" and str(sol.status) == "max-steps" and loss.dim <= STIFF_DENSE_MAX:
        sol = solve(_flow(loss, metric), x0, t1=t1, method="kvaerno5", **kw)
    return sol


@dataclass
class Trajectories:
    """A discrete method (gradient descent with step ``h`` unless said otherwise) and the exact
    flow from the same start, saved at the same flow times ``t``."""

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
        """|θ_k − θ_flow(t_k)| at each saved time."""
        return np.linalg.norm(np.asarray(self.gd.x) - np.asarray(self.flow.x), axis=-1)

    @property
    def loss_gd(self) -> np.ndarray:
        return self.gd.energy

    @property
    def loss_flow(self) -> np.ndarray:
        return self.flow.energy

    def edge_of_stability(self, reach: float = 0.95, settle: float = 0.5) -> dict[str, Any]:
        """The edge of stability in numbers (Cohen et al. 2021).

        ``rose``: GD started below ``reach``·2/h and its sharpness climbed there (progressive
        sharpening), first at ``t_reach``. The plateau is the saves in the last ``settle``
        fraction of the run after ``t_reach``; ``plateau_rel_dev`` = max |λ_max/(2/h) − 1| over
        it and ``mean_rel_dev`` the same for its mean. ``flow_final`` is the flow's sharpness
        at the end and ``flow_over`` its ratio to 2/h (> 1: the flow sharpened past 2/h).
        """
        if self.sharpness_gd is None or self.sharpness_flow is None:
            raise ScenarioError(
                "sharpness: these trajectories were run with sharpness=False; rerun with "
                "sharpness=True.",
                key="sharpness",
            )
        target = 2.0 / self.h
        s = self.sharpness_gd
        hit = np.flatnonzero(s >= reach * target)
        out: dict[str, Any] = {
            "two_over_h": target,
            "initial": float(s[0]),
            "reached": bool(hit.size),
            "rose": bool(hit.size) and bool(s[0] < reach * target),
            "flow_final": float(self.sharpness_flow[-1]),
            "flow_max": float(np.nanmax(self.sharpness_flow)),
            "flow_over": float(self.sharpness_flow[-1] / target),
        }
        if not hit.size:
            return out
        i0 = int(hit[0])
        start = min(i0 + int(math.ceil((len(s) - i0) * (1 - settle))), len(s) - 1)
        plateau = s[start:]
        out.update(
            t_reach=float(self.t[i0]),
            plateau_t0=float(self.t[start]),
            plateau_saves=int(plateau.size),
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
            coords={"time": self.t, "step": ("time", np.arange(len(self.t)) * self.every)},
            attrs={
                "title": "a discrete method beside its gradient flow",
                "method": str(self.gd.settings.get("method")),
                "h": self.h,
                "two_over_h": 2.0 / self.h,
                "gd_status": str(self.gd.status),
                "flow_status": str(self.flow.status),
                "flow_method": str(self.flow.settings.get("method")),
            },
        )
        ds["loss_gd"].attrs["long_name"] = "L(θ_k), the discrete method"
        ds["loss_flow"].attrs["long_name"] = "L(θ(t)), the gradient flow"
        ds["distance"].attrs["long_name"] = "|θ_k − θ_flow(t_k)|"
        return ds


def beside_flow(
    loss: Potential,
    discrete: Solution,
    *,
    h: float | None = None,
    flow_method: str = "auto",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 200_000,
    metric: Metric | None = None,
    sharpness: bool = True,
    lanczos_iters: int = 20,
) -> Trajectories:
    """Put any discrete run (a :class:`~steepest.Solution` of saved iterates: gradient descent,
    an optax optimiser, heavy ball, …) beside the exact flow from its start, saved at its times
    ``discrete.t`` (step k at t = k·h for a learning rate h), with the sharpness along both."""
    if not isinstance(discrete, Solution) or discrete.x is None or discrete.batched:
        raise ScenarioError(
            "discrete: expected the Solution of one run with its iterates saved (save_state).",
            key="discrete",
        )
    t = np.asarray(discrete.t, dtype=float)
    if t.size < 2 or not np.allclose(np.diff(t), t[1] - t[0], rtol=1e-9, atol=0):
        raise ScenarioError(
            "discrete: its saves must be equally spaced in time to be compared with the flow.",
            key="discrete",
        )
    every = int(discrete.settings.get("every") or 1)
    h = float(h if h is not None else discrete.settings.get("h") or (t[1] - t[0]) / every)
    fl = gradient_flow(
        loss,
        float(t[-1]),
        theta0=discrete.x[0],
        n_save=t.size,
        method=flow_method,
        rtol=rtol,
        atol=atol,
        max_steps=max_steps,
        metric=metric,
    )
    s_gd = s_fl = r_gd = r_fl = None
    if sharpness:
        s_gd, r_gd = sharpness_along(loss, discrete.x, lanczos_iters, metric=metric)
        s_fl, r_fl = sharpness_along(loss, fl.x, lanczos_iters, metric=metric)
    steps = int(np.asarray(discrete.steps))
    return Trajectories(h, steps, every, discrete, fl, s_gd, s_fl, r_gd, r_fl)


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
    metric: Metric | None = None,
    sharpness: bool = True,
    lanczos_iters: int = 20,
) -> Trajectories:
    """Run gradient descent (step ``h``, ``steps`` steps) and the exact flow to t = steps·h
    from the same start, saved every ``every`` steps, with the sharpness λ_max(G⁻¹∇²L) along
    both (Lanczos, ``lanczos_iters`` warm-started steps per save).

    Examples:
        >>> import steepest as st
        >>> L = st.learning.logistic_regression(st.learning.load("iris"))
        >>> tr = st.learning.gd_and_flow(L, h=0.1, steps=100, every=10, sharpness=False)
        >>> bool(tr.distance[-1] < 0.05)
        True
    """
    gd = gradient_descent(loss, h, steps, theta0=theta0, every=every, metric=metric)
    gd.settings["every"] = save_every(steps, every)
    return beside_flow(
        loss,
        gd,
        h=h,
        flow_method=flow_method,
        rtol=rtol,
        atol=atol,
        max_steps=max_steps,
        metric=metric,
        sharpness=sharpness,
        lanczos_iters=lanczos_iters,
    )
