"""Mirror descent with the entropy, and the replicator flow it discretises, on the simplex.

On Δ = {p ∈ Rⁿ: pᵢ > 0, Σpᵢ = 1}, mirror descent with the negative entropy Σ pᵢ log pᵢ as
mirror map is the exponentiated-gradient step

    p_{k+1,i} = p_{k,i} exp(−h ∂ᵢf(p_k)) / Σⱼ p_{k,j} exp(−h ∂ⱼf(p_k)),

which stays on the simplex for any h. As h → 0 (t = kh) its iterates follow, with error O(h),
the replicator flow

    dpᵢ/dt = −pᵢ (∂ᵢf(p) − Σⱼ pⱼ ∂ⱼf(p)),

which is the gradient flow of f on Δ in the Shahshahani metric ⟨u, v⟩_p = Σ uᵢvᵢ/pᵢ (the
Hessian metric of the entropy; Fisher–Rao on the simplex). steepest solves it as an ordinary
gradient flow: in the chart q = (p₁, …, p_{n−1}), p_n = 1 − Σq, the metric is
G(q) = diag(1/q) + 11ᵀ/p_n, and G⁻¹ = diag(q) − qqᵀ turns ∇_q f into the replicator field.
For a linear f = ⟨c, p⟩ both are exact: p(t)ᵢ ∝ pᵢ(0)e^{−cᵢt}, and mirror descent lands on it
at every t = kh.

References:
    Nemirovski & Yudin, *Problem Complexity and Method Efficiency in Optimization* (1983).
    Beck & Teboulle, Oper. Res. Lett. 31, 167 (2003) — mirror descent as a proximal method.
    Shahshahani, Mem. Amer. Math. Soc. 211 (1979); Hofbauer & Sigmund, *Evolutionary Games and
    Population Dynamics* (1998), §7 — the replicator equation as a Shahshahani gradient flow.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from ..flow import GradientFlow
from ..metric.metrics import Riemannian
from ..solution import Solution
from ._loop import iterate
from .checks import check_step


def _check_simplex(p0: Any, n: int | None = None, key: str = "p0") -> np.ndarray:
    try:
        p = np.asarray(p0, dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError(f"{key}: expected a probability vector, got {p0!r}.", key=key) from None
    if p.ndim != 1 or p.size < 2 or (n is not None and p.size != n):
        want = f"{n} " if n is not None else "two or more "
        raise ScenarioError(
            f"{key}: expected a vector of {want}probabilities, got shape {p.shape}.", key=key
        )
    if not np.all(np.isfinite(p)) or np.any(p <= 0) or abs(p.sum() - 1.0) > 1e-12:
        raise ScenarioError(
            f"{key}: a point of the open simplex has entries > 0 that sum to 1 (got sum "
            f"{p.sum():.17g}, min {p.min():.3g}); normalise it, e.g. p0 = p / p.sum().",
            key=key,
        )
    return p


# one potential (and metric) per function f and dimension: compiled loops are cached per
# potential, so a second run with the same f must not rebuild it and recompile
_CHARTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_METRICS: dict[int, Riemannian] = {}


def _cached(f: Callable, kind: str, n: int, build: Callable[[], Any]) -> Any:
    try:
        per = _CHARTS.setdefault(f, {})
    except TypeError:  # not weak-referenceable: build afresh
        return build()
    if (kind, n) not in per:
        per[kind, n] = build()
    return per[kind, n]


def simplex_energy(f: Callable[[jax.Array], jax.Array], n: int, *, name: str | None = None):
    """f(p) on Δⁿ as a potential of the chart q = (p₁, …, p_{n−1}) (p_n = 1 − Σq)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ScenarioError(f"n: the simplex needs n ≥ 2 coordinates, got {n!r}.", key="n")

    def V(q):
        return f(jnp.concatenate([q, 1.0 - jnp.sum(q, keepdims=True)]))

    return Potential(V, dim=int(n) - 1, name=name or getattr(f, "__name__", "f on the simplex"))


def shahshahani_metric(n: int) -> Riemannian:
    """The Shahshahani metric of Δⁿ in the chart q: G(q) = diag(1/q) + 11ᵀ/(1 − Σq)."""

    def G(q):
        pn = 1.0 - jnp.sum(q)
        return jnp.diag(1.0 / q) + jnp.ones((n - 1, n - 1), q.dtype) / pn

    return Riemannian(G, name="Shahshahani", formula="diag(1/q) + 11ᵀ/p_n")


def replicator_flow(
    f: Callable[[jax.Array], jax.Array],
    p0: Any,
    t1: float,
    *,
    method: str = "rk45",
    h: float | None = None,
    n_save: int = 201,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> Solution:
    """The replicator flow dpᵢ/dt = −pᵢ(∂ᵢf − ⟨p, ∇f⟩) from ``p0`` to ``t1``: ``st.solve`` on
    the gradient flow of f in the Shahshahani metric. ``solution.x`` holds the full points p
    (n coordinates, summing to 1)."""
    from ..integrate.solve import solve

    p = _check_simplex(p0)
    n = p.size
    if n not in _METRICS:
        _METRICS[n] = shahshahani_metric(n)
    flow = GradientFlow(_cached(f, "chart", n, lambda: simplex_energy(f, n)), _METRICS[n])
    kw: dict[str, Any] = {"n_save": n_save, "errors": "record"}
    if method in ("rk45", "tsit5", "kvaerno5"):
        kw.update(rtol=rtol, atol=atol)
    else:
        kw.update(h=h)
    sol = solve(flow, p[:-1], t1=check_step(t1, "t1", "the end time"), method=method, **kw)

    def full(q):
        q = np.asarray(q)
        return np.concatenate([q, 1.0 - q.sum(axis=-1, keepdims=True)], axis=-1)

    sol.x = full(sol.x)
    sol.x_final = full(sol.x_final)
    sol.components = tuple(f"p{i + 1}" for i in range(n))
    sol.settings["simplex"] = n
    return sol


def mirror_descent(
    f: Callable[[jax.Array], jax.Array],
    p0: Any,
    h: float,
    steps: int,
    *,
    every: int | None = None,
) -> Solution:
    """Entropic mirror descent (exponentiated gradient) on f: Δⁿ → R from ``p0`` with step h,
    one compiled loop; ``solution.t`` = k·h, the time of the replicator flow it discretises.
    The normalisation is done in log space, so the iterates stay on the simplex to round-off."""
    p = _check_simplex(p0)
    n = p.size
    V = _cached(f, "ambient", n, lambda: Potential(f, dim=n, name=getattr(f, "__name__", "f on Δ")))
    grad = jax.grad(lambda x: jnp.reshape(f(x), ()))

    def build():
        def init(p0, hyper):
            return p0

        def step(p, k, hyper):
            w = jnp.log(p) - hyper["h"] * grad(p)
            return jnp.exp(w - jax.nn.logsumexp(w))

        return init, step, lambda p: p

    sol = iterate(
        V,
        ("mirror-descent",),
        build,
        p,
        steps,
        every,
        {"h": check_step(h)},
        dt=float(h),
        name="mirror-descent",
        settings={"mirror_map": "negative entropy", "simplex": n},
        theta_key="p0",
    )
    sol.components = tuple(f"p{i + 1}" for i in range(n))
    # the loop records |∇f| in Rⁿ; on the simplex the gradient that matters is the replicator
    # field's, so keep the ambient one but say which it is
    sol.settings["grad_norm"] = "ambient |∇f(p)|"
    return sol
