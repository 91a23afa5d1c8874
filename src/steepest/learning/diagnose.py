"""The curvature report: which step sizes a loss landscape allows, and which scheme to use.

Gradient descent is explicit Euler on dθ/dt = −∇L, so along the eigenvector of λ_max(∇²L) an
error is multiplied by 1 − hλ_max per step: stable for h < 2/λ_max, oscillating with growth
|1 − hλ_max| > 1 beyond. The report compares h·λ_max with 2:

* ``stable``: h·λ_max ≤ 2(1 − tol); GD contracts by ρ(h) = max|1 − hλ| on a convex loss;
* ``edge``: within ``tol`` of 2; on a quadratic GD crawls (below 2) or diverges slowly (above
  2); on a neural network this is where GD trains, at the edge of stability (Cohen et al. 2021),
  its sharpness held at 2/h;
* ``diverging``: h·λ_max > 2(1 + tol): the error grows by |1 − hλ_max| per step along the
  sharpest direction until the curvature there drops, or the loss blows up.

A landscape is stiff when κ = λ_max/λ_min is large: GD's best rate (κ − 1)/(κ + 1) needs about
κ·ln(10)/2 steps per decade of error. The report then names the remedies in order of cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from ..metric.metrics import Metric
from .checks import check_step
from .curvature import Curvature, curvature

#: κ above this: the landscape is called stiff
STIFF_KAPPA = 1e3
VERDICTS = ("stable", "edge", "diverging")


def _per_decade(rate: float | None) -> float | None:
    if rate is None or not 0 < rate < 1:
        return None
    return math.log(10.0) / -math.log(rate)


@dataclass
class Diagnosis:
    """The curvature of a loss at a point and what it implies; ``str()`` is the report."""

    name: str
    dim: int
    curvature: Curvature
    h: float | None = None
    tol: float = 0.05
    metric: str = "euclidean"
    advice: list[str] = field(default_factory=list)

    @property
    def h_lam(self) -> float | None:
        """h·λ_max, to be compared with 2."""
        return None if self.h is None else self.h * self.curvature.lam_max

    @property
    def verdict(self) -> str | None:
        """``stable``, ``edge`` or ``diverging`` for the step h (None without one)."""
        r = self.h_lam
        if r is None:
            return None
        if r <= 2.0 * (1.0 - self.tol):
            return "stable"
        if r <= 2.0 * (1.0 + self.tol):
            return "edge"
        return "diverging"

    @property
    def growth(self) -> float | None:
        """|1 − hλ_max|: the factor by which GD multiplies the error along the sharpest
        direction each step."""
        return None if self.h is None else abs(1.0 - self.h * self.curvature.lam_max)

    @property
    def rate(self) -> float | None:
        """The predicted linear rate ρ(h) = max(|1 − hλ_min|, |1 − hλ_max|) (convex only)."""
        c = self.curvature
        return c.gd_rate(self.h) if self.h is not None and c.lam_min > 0 else None

    @property
    def stiff(self) -> bool:
        """κ > 10³ (convex), or |λ_max/λ_min| > 10³ with negative curvature. A convex loss with
        flat directions (λ_min = 0 to round-off, e.g. softmax logits) is not called stiff."""
        c = self.curvature
        if c.lam_min > 0 and c.convex:
            return c.condition_number > STIFF_KAPPA
        if c.convex or c.lam_max <= 0:
            return False
        return abs(c.lam_max / c.lam_min) > STIFF_KAPPA

    def to_dict(self) -> dict[str, Any]:
        c = self.curvature
        hb = c.heavy_ball()
        return {
            "name": self.name,
            "dim": self.dim,
            "metric": self.metric,
            **c.to_dict(),
            "convex_here": c.convex,
            "stiff": self.stiff,
            "h": self.h,
            "h_lam_max": self.h_lam,
            "verdict": self.verdict,
            "growth_along_top": self.growth,
            "gd_rate": self.rate,
            "gd_steps_per_decade": _per_decade(self.rate),
            "optimal_steps_per_decade": _per_decade(c.optimal_rate),
            "heavy_ball": None if hb is None else {"h": hb[0], "beta": hb[1], "rate": hb[2]},
            "heavy_ball_steps_per_decade": None if hb is None else _per_decade(hb[2]),
            "advice": list(self.advice),
        }

    def __str__(self) -> str:
        return report(self)


def report(d: Diagnosis) -> str:
    """The diagnosis as a few lines of text."""
    c = d.curvature
    f = lambda v: "—" if v is None or not math.isfinite(v) else f"{v:.6g}"  # noqa: E731
    lines = [
        f"{d.name}: {d.dim} parameters, metric {d.metric}",
        f"  λ_max = {f(c.lam_max)} (±{c.residual_max:.1g}), λ_min = {f(c.lam_min)} "
        f"(±{c.residual_min:.1g}) by {c.method} ({c.iters} steps)",
        f"  condition number κ = {f(c.condition_number)}; "
        f"{'convex' if c.convex else 'not convex'} here; {'stiff' if d.stiff else 'not stiff'}",
        f"  stability limit of gradient descent 2/λ_max = {f(c.stability_limit)}",
    ]
    if c.optimal_step is not None:
        lines.append(
            f"  best fixed step 2/(λ_max + λ_min) = {f(c.optimal_step)}: rate (κ−1)/(κ+1) = "
            f"{f(c.optimal_rate)} per step ({f(_per_decade(c.optimal_rate))} steps per decade)"
        )
    hb = c.heavy_ball()
    if hb is not None:
        lines.append(
            f"  heavy ball h = {f(hb[0])}, β = {f(hb[1])}: rate (√κ−1)/(√κ+1) = {f(hb[2])} "
            f"({f(_per_decade(hb[2]))} steps per decade)"
        )
    if d.h is not None:
        lines.append(
            f"  step h = {f(d.h)}: h·λ_max = {f(d.h_lam)} → {str(d.verdict).upper()}; growth along "
            f"the sharpest direction |1 − hλ_max| = {f(d.growth)} per step"
            + (f"; predicted rate {f(d.rate)}" if d.rate is not None and d.rate < 1 else "")
        )
    lines += [f"  • {a}" for a in d.advice]
    return "\n".join(lines)


def _advice(d: Diagnosis) -> list[str]:
    c = d.curvature
    out = []
    v = d.verdict
    lim = c.stability_limit
    h = d.h if d.h is not None else math.nan
    h_lam = d.h_lam if d.h_lam is not None else math.nan
    growth = d.growth if d.growth is not None else math.nan
    if v == "stable":
        out.append(
            f"h = {h:.4g} is stable: below the limit {lim:.4g}; on a convex loss every step "
            "lowers it."
        )
    elif v == "edge":
        if h_lam <= 2.0:
            out.append(
                f"h = {h:.4g} is at the edge, just below the limit {lim:.4g}: the error along "
                f"the sharpest direction flips sign and shrinks only by {growth:.4g} per step."
            )
        else:
            out.append(
                f"h = {h:.4g} is at the edge, just above the limit {lim:.4g}: on a quadratic "
                f"GD diverges by {growth:.4g} per step; a network typically self-stabilises at "
                "the edge of stability, its sharpness held near 2/h (Cohen et al. 2021)."
            )
    elif v == "diverging":
        out.append(
            f"h = {h:.4g} exceeds the limit {lim:.4g} by {h_lam / 2.0:.3g}×: the error along "
            f"the sharpest direction grows by {growth:.4g} per step. Use h < {lim:.4g}, or the "
            "proximal point (method='implicit-euler'), stable for any h on a convex loss."
        )
    if not c.convex and v is not None:
        out.append(
            f"the verdict holds at this θ only: on a network the sharpness typically rises during "
            f"training (progressive sharpening) until it reaches 2/h = {2.0 / h:.4g}, and "
            "gradient descent then stays at that edge of stability (Cohen et al. 2021)."
        )
    if not c.convex:
        out.append(
            f"negative curvature λ_min = {c.lam_min:.4g}: gradient descent leaves along it by "
            f"1 + h|λ_min| per step; the proximal step needs h < 1/|λ_min| = "
            f"{1.0 / abs(c.lam_min):.4g}."
        )
    hb = c.heavy_ball()
    if d.stiff and hb is not None:
        n_gd = _per_decade(c.optimal_rate) or math.inf
        n_hb = _per_decade(hb[2]) or math.inf
        out.append(
            f"stiff (κ = {c.condition_number:.3g}): GD needs ~{n_gd:.3g} steps per decade; "
            f"heavy ball (h = {hb[0]:.3g}, β = {hb[1]:.4g}) ~{n_hb:.3g}; a preconditioner "
            "close to ∇²L (metric=Preconditioned, or "
            "the Fisher metric: natural gradient) removes the stiffness; for the exact flow use "
            "flow_method='kvaerno5' (stiff, dense Newton) or large implicit-euler steps."
        )
    elif d.stiff:
        out.append(
            f"stiff (|λ_max/λ_min| = {abs(c.lam_max / c.lam_min):.3g}): for the exact flow use "
            "flow_method='kvaerno5'; explicit steps are bounded by 2/λ_max."
        )
    elif c.convex and c.lam_min <= 0:
        out.append(
            "flat directions (λ_min = 0 to round-off): the loss does not change along them, so "
            "GD and the flow never move there; κ is infinite but nothing is stiff."
        )
    else:
        out.append(
            "not stiff: explicit steps are efficient; the exact flow takes flow_method='tsit5'."
        )
    return out


def diagnose(
    loss: Potential,
    h: float | None = None,
    theta: Any = None,
    *,
    method: str = "auto",
    iters: int | None = None,
    metric: Metric | None = None,
    tol: float = 0.05,
) -> Diagnosis:
    """The curvature report of ``loss`` at ``theta`` (default its initial parameters) for the
    step ``h``: λ_max, λ_min (Lanczos on Hessian-vector products unless the model is tiny), κ,
    the stability limit 2/λ_max, the predicted rates, the verdict ``stable`` / ``edge`` /
    ``diverging``, and advice for a stiff landscape. ``print(diagnosis)`` shows it.

    Examples:
        >>> import steepest as st
        >>> V = st.potentials.get("quadratic", A=[[1.0, 0, 0], [0, 10.0, 0], [0, 0, 100.0]])
        >>> d = st.learning.diagnose(V, h=0.0202, theta=[1.0, 1.0, 1.0])
        >>> d.verdict, round(d.curvature.stability_limit, 6)
        ('edge', 0.02)
    """
    if h is not None:
        h = check_step(h)
    try:
        tol = float(tol)
    except (TypeError, ValueError):
        tol = math.nan
    if not 0.0 <= tol < 1.0:
        raise ScenarioError(f"tol: expected a number in [0, 1), got {tol!r}.", key="tol")
    c = curvature(loss, theta, method=method, iters=iters, metric=metric)
    name = "euclidean"
    if metric is not None:
        desc = metric.describe()
        name = desc.get("name") or desc.get("kind", "metric")
    d = Diagnosis(str(loss.name), loss.dim, c, h, tol, str(name))
    d.advice = _advice(d)
    return d
