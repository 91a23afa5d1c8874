"""Turn a failed trajectory into one or two sentences that say what happened and what to do."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._core import status as S
from ..flow import GradientFlow
from .methods import Method


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _point(x: np.ndarray) -> str:
    return (
        "(" + ", ".join(f"{v:.4g}" for v in np.ravel(x)[:6]) + (", …)" if np.size(x) > 6 else ")")
    )


def stability_limit(
    flow: GradientFlow, method: Method, x: np.ndarray, h: float | None = None
) -> tuple[float | None, float]:
    """(the largest stable step of an explicit method near x, λ_max of G⁻¹∇²V there).

    λ_max is taken at x and, when h is given, also at the explicit Euler trial point
    x − hG⁻¹∇V(x): a step that overshoots from a concave region lands where the curvature is.
    """
    points = [np.asarray(x, dtype=float)]
    if h is not None:
        try:
            trial = np.asarray(x + h * np.asarray(flow.velocity(jnp.asarray(x))))
            if np.all(np.isfinite(trial)):
                points.append(trial)
        except Exception:
            pass
    lams = []
    for pt in points:
        try:
            lam = flow.curvature(pt)
        except Exception:  # a metric that is not SPD here, a non-finite Hessian, …
            continue
        if np.all(np.isfinite(lam)):
            lams.append(float(np.max(lam)))
    lam_max = max(lams) if lams else float("nan")
    if method.stability is None or not np.isfinite(lam_max) or lam_max <= 0:
        return None, lam_max
    return method.stability / lam_max, lam_max


def explain(
    flow: GradientFlow,
    method: Method,
    code: int,
    x: np.ndarray,
    t: float,
    step: int,
    h: float | None,
    sample: int,
    batched: bool,
) -> tuple[str, float | None]:
    """The message for a failed trajectory, and the stability limit (explicit schemes)."""
    where = f"at t = {_fmt(t)} (step {step}, x = {_point(x)})"
    if batched:
        where = f"for sample {sample} " + where
    what = "produced a non-finite value" if code == S.NONFINITE else "raised the energy"
    limit, lam_max = (None, float("nan"))
    big = np.max(np.abs(x)) if np.all(np.isfinite(x)) else np.inf
    if code == S.NONFINITE and big > 1e30:
        return (
            f"{method.name}: the flow {what} {where}: the state grew without bound, so the energy "
            "is unbounded below along this trajectory. Shorten t1 or start elsewhere."
        ), limit
    if method.kind == "fixed" and method.explicit:
        limit, lam_max = stability_limit(flow, method, x, h)
    if code in (S.NONFINITE, S.ENERGY_INCREASE) and limit is not None and h is not None:
        stab = "2" if method.name == "euler" else f"{method.stability:.4f}"
        if h > limit:
            return (
                f"{method.name}: step {_fmt(h)} exceeds the stability limit {_fmt(limit)} of this "
                f"landscape here ({stab}/λ_max with λ_max = {_fmt(lam_max)}); the flow {what} "
                f"{where}. Use a step below {_fmt(limit)}, or method='implicit-euler' or "
                "'discrete-gradient', which are stable for any step."
            ), limit
        return (
            f"{method.name}: the flow {what} {where} although step {_fmt(h)} is within the "
            f"stability limit {_fmt(limit)} at that point; the landscape is steeper just ahead. "
            "Reduce the step or use method='discrete-gradient'."
        ), limit
    if code == S.NONFINITE and flow.metric.state_dependent:
        try:
            G = np.asarray(flow.metric.matrix(jnp.asarray(x)))
            ok = np.all(np.isfinite(G)) and np.linalg.eigvalsh(0.5 * (G + G.T)).min() > 0
        except Exception:
            ok = False
        if not ok:
            return (
                f"{method.name}: the metric G(x) is not symmetric positive definite {where}, so "
                "G⁻¹∇V is undefined there. Fix the metric so that G(x) is SPD on the whole path."
            ), limit
    if code == S.SOLVER_FAILED and method.name == "implicit-euler" and h is not None:
        try:
            lam_min = float(np.min(flow.curvature(x)))
        except Exception:
            lam_min = float("nan")
        if lam_min < 0 and h * lam_min <= -1.0:
            return (
                f"implicit-euler: the proximal step has no minimiser {where}: the energy curves "
                f"down with λ_min = {_fmt(lam_min)}, so V(y) + |y − x|²/(2h) is bounded below "
                f"only for h < 1/|λ_min| = {_fmt(-1.0 / lam_min)}. Use a smaller step, or "
                "method='discrete-gradient'."
            ), limit
    if code == S.SOLVER_FAILED:
        return (
            f"{method.name}: the Newton solve of the implicit step did not converge even after "
            f"30 step halvings {where}. Check that the energy is smooth there, or use a smaller "
            "step."
        ), limit
    if method.kind == "fixed":
        return (
            f"{method.name}: the flow {what} {where}. Reduce the step, or use "
            "method='discrete-gradient', whose energy decreases for any step."
        ), limit
    return (
        f"{method.name}: the flow {what} {where}. Tighten rtol/atol, or use "
        "method='kvaerno5' for a stiff landscape."
    ), limit


def max_steps_message(
    flow: GradientFlow, method: Method, x: np.ndarray, t: float, t1: float, max_steps: int
) -> str:
    try:
        lam = np.abs(flow.curvature(x))
        ratio = float(lam.max() / max(lam.min(), 1e-300))
        stiff = f" (stiffness ratio |λ|max/|λ|min = {_fmt(ratio)} at x = {_point(x)})"
    except Exception:
        stiff = ""
    hint = "use method='kvaerno5' for stiff landscapes or raise max_steps"
    if method.name == "kvaerno5":
        hint = "raise max_steps or loosen rtol/atol"
    return (
        f"{method.name} used all max_steps = {max_steps} steps and reached only t = {_fmt(t)} of "
        f"t1 = {_fmt(t1)}{stiff}; {hint}."
    )
