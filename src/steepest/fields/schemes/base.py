"""What a time-stepping scheme for a field flow is: ``init``, ``step`` and what it promises.

A :class:`Stepper` is built once per flow and scheme; its functions are pure JAX, so the time
loop (:mod:`steepest.fields.stepping`) compiles whole segments of steps. Everything that depends
on the initial state or the run (the stabilisation S, the SAV constant C₀, the step) is passed in
``p`` at run time, never baked into the compiled code: a second run with new numbers does not
recompile.

State: a dict of arrays with at least ``c`` (the field), ``F`` (the free energy at c) and ``E``
(the energy the scheme promises not to increase: F itself, or SAV's modified energy), and
``fail`` (0, or a scheme's own failure code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..._core.errors import ScenarioError
from ..flows import FieldFlow, HMinus1Flow, L2Flow
from ..functionals import GradientFunctional

#: a scheme's own failure codes (state["fail"])
FAIL_SOLVER = 3  # an inner (nonlinear) solve did not converge


@dataclass
class Stepper:
    """A time-stepping scheme bound to a flow.

    Attributes:
        name: the scheme's name (``"semi-implicit"``, …).
        order: its order of accuracy in time.
        promise: ``"energy"`` (F never increases) or ``"modified-energy"`` (SAV's Ẽ never
            increases); the loop checks it at every step.
        init: ``(c0, p) -> state``.
        step: ``(state, h, p) -> state``.
        max_step: ``(state, p) -> h`` the largest step the scheme may take from a state (the
            positivity bound of a Wasserstein flow), or None.
        defaults: ``(c0) -> dict``: the run-time numbers p it needs, computed from the start.
        info: what the scheme is, in words, for reports.
        embedded: the step also returns ``err``, the size of c − ĉ against an embedded
            lower-order solution, so the error controller uses it instead of step doubling (a
            third of the work).
        error_order: q, the local error of that estimate is O(h^q) (the controller scales
            steps by err^(−1/q)); set by every embedded scheme, 0 otherwise.
    """

    name: str
    order: int
    promise: str
    init: Callable[[Any, dict[str, Any]], dict[str, Any]]
    step: Callable[[dict[str, Any], Any, dict[str, Any]], dict[str, Any]]
    max_step: Callable[[dict[str, Any], dict[str, Any]], Any] | None = None
    defaults: Callable[[np.ndarray], dict[str, Any]] = field(default=lambda c0: {})
    info: str = ""
    embedded: bool = False
    error_order: int = 0


def linear_parts(flow: FieldFlow, scheme: str) -> tuple[GradientFunctional, np.ndarray, Any]:
    """(functional, a(k), λ(k)) for the schemes that invert the linear part in the grid's
    transform: f = f₀ + ½κ|∇c|² and a constant mobility, so ∂ĉ/∂t = −a(k)(f₀′ − κλ(k)ĉ)^."""
    f = flow.functional
    if not isinstance(f, GradientFunctional):
        raise ScenarioError(
            f"scheme.kind: the {scheme} scheme needs a free energy f₀(c) + (κ/2)|∇c|² (its stiff "
            "part is linear); a general density f(c, ∇c) runs with the explicit scheme.",
            key="scheme.kind",
        )
    if not isinstance(flow, L2Flow | HMinus1Flow):
        raise ScenarioError(
            f"scheme.kind: the {scheme} scheme is for the L² and H⁻¹ flows; a Wasserstein flow "
            'runs with the positivity-preserving explicit scheme (scheme.kind = "explicit").',
            key="scheme.kind",
        )
    return f, flow._a_symbol(1.0), flow.grid.laplacian_symbol


def constant_mobility(flow: FieldFlow, scheme: str) -> float:
    M = flow.mobility_const  # None exactly when the flow has a mobility function M(c)
    if M is None:
        raise ScenarioError(
            f"scheme.kind: the {scheme} scheme needs a constant mobility; a mobility M(c) runs "
            'with "semi-implicit" (its variable part is explicit) or "explicit".',
            key="scheme.kind",
        )
    return float(M)


def offset_term(flow: FieldFlow) -> Any:
    """κ·Δ0, the constant the Dirichlet data add to −μ (0 without Dirichlet data)."""
    off = flow.grid.laplacian_offset
    k = flow.functional.kappa or 0.0
    return 0.0 if off is None or not k else k * jnp.asarray(off)


def stabilisation_default(flow: FieldFlow, c0: np.ndarray, margin: float = 0.1) -> float:
    """S = L = max|f₀″| on the range of c₀ and the wells: the Lipschitz constant of f₀′.

    Energy stability of the stabilised semi-implicit scheme is proved for S ≥ L/2 for
    Allen–Cahn (Shen & Yang 2010); for Cahn–Hilliard the proved bounds are larger, and S = L is
    the usual practical choice.
    """
    f = flow.functional
    if not isinstance(f, GradientFunctional):
        return 0.0
    return f.curvature_bound(flow.grid, c0, margin=margin)


def finite_all(tree: dict[str, Any]) -> Any:
    ok = jnp.all(jnp.isfinite(tree["c"])) & jnp.isfinite(tree["F"]) & jnp.isfinite(tree["E"])
    return ok
