"""All critical points of a potential in a box, and their Morse classification.

Method (one compiled, vmapped kernel, called once per round):

1. Multistart Newton on ∇V = 0 from a scrambled Sobol set of starts filling the box. A step is
   the Newton step when it fits in a trust region, else the Levenberg–Marquardt step (the
   trust-region step of the Gauss–Newton model of |∇V|²), accepted when it lowers the merit
   log|∇V|; so iterates neither fly away nor break down where the Hessian is singular. Points
   that leave the (enlarged) box, stall or never converge are dropped.
2. Deflation (Farrell, Birkisson & Funke, SIAM J. Sci. Comput. 37 (2015) A2026): later rounds
   solve M(x)∇V(x) = 0, M(x) = Πᵢ (1/|x − rᵢ|ᵖ + σ) over known roots rᵢ, which repels Newton
   from them; rounds repeat until one finds nothing new. Each start is deflated by the few
   known roots nearest to it (a far root's factor is ≈ 1), which keeps the cost of a round
   independent of how many roots are known (729 in the 6-D tests).
3. Every candidate is polished by plain Newton to |∇V| ≤ tol, then deduplicated with a tolerance
   scaled by the box size and by each point's Newton error estimate.
4. Each point is classified from the eigenvalues of its Hessian (of G⁻¹∇²V with a metric). A
   point is *degenerate* when an eigenvalue is zero to round-off, or when Newton never reached its
   quadratic (Kantorovich) regime there, h = L·|H⁻¹∇V| / min|λ| not small: there it converges
   only linearly and the computed eigenvalue is an artefact of where the polishing stopped.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from scipy.linalg import eigh
from scipy.spatial import cKDTree
from scipy.stats import qmc

from .._core.errors import ConvergenceError, ScenarioError
from ..energy.potential import Potential, _check_bounds
from ..parallel import client_for
from .critical_point import CriticalPoint

#: compiled kernels per potential (weakly), then per (name, shapes); tests read COMPILE_COUNT
_KERNELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
COMPILE_COUNT = {"n": 0}

MARGIN = 0.25  # iterates may roam this fraction of the box width outside it before being dropped
MAX_ROUNDS = 8  # deflated rounds after the first, at most
DEFLATE_K = 8  # each start is deflated by this many known roots, the nearest to it
BLOCK = 64  # starts per vmapped while loop (measured fastest on CPU: 64 ≈ 32 < 256 < 2048)
DEFLATION_P, DEFLATION_SIGMA, DEFLATION_LENGTH = 2.0, 1.0, 0.1  # length: fraction of box width
DEGENERATE_RTOL, KANTOROVICH_H = 1e-8, 0.05
_EPS = float(np.finfo(np.float64).eps)


def require_potential(V: Any, where: str) -> None:
    """Refuse anything but a :class:`Potential` with one sentence (a bare function would
    otherwise fail deep inside, on an attribute it lacks)."""
    if not isinstance(V, Potential):
        raise ScenarioError(
            f"{where}: V must be a steepest.Potential, got {type(V).__name__}; wrap a function "
            "as st.Potential(f, dim=n, bounds=...) or use st.potentials.get(name).",
            key="V",
        )


def _gn_step(g: jax.Array, H: jax.Array, radius: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The trust-region Gauss–Newton step for ∇V = 0: s = −(H² + μ)⁻¹Hg, |s| ≤ radius.

    μ = 0 (the Newton step, pseudo-inverse where H is singular) when that fits in the trust
    region, else μ found by bisection in log μ (as in Levenberg–Marquardt / Moré–Sorensen). A
    flat direction of H then gets no step instead of an unbounded one. Also returns
    a = −gᵀHs/|g|², the rate at which the step lowers log|∇V| (1 for Newton).
    """
    lam, Q = jnp.linalg.eigh(0.5 * (H + H.T))
    c = Q.T @ g

    def s_of(mu):  # in the eigenbasis
        den = lam**2 + mu
        return -jnp.where(den > 0, lam * c / jnp.where(den > 0, den, 1.0), 0.0)

    log_hi = jnp.log(jnp.maximum(jnp.linalg.norm(lam * c) / radius, 1e-300))  # |s| ≤ radius

    def bisect(_, b):
        mid = 0.5 * (b[0] + b[1])
        fits = jnp.linalg.norm(s_of(jnp.exp(mid))) <= radius
        return jnp.where(fits, b[0], mid), jnp.where(fits, mid, b[1])

    log_mu = lax.fori_loop(0, 40, bisect, (log_hi - 75.0, log_hi))[1]  # 32 decades, to 1e-10
    s = s_of(jnp.where(jnp.linalg.norm(s_of(0.0)) <= radius, 0.0, jnp.exp(log_mu)))
    cc = c @ c
    return Q @ s, jnp.where(cc > 0, -(c @ (lam * s)) / jnp.where(cc > 0, cc, 1.0), 1.0)


def _build_search(V: Potential):
    """The per-round kernel ``(starts, roots, mask, lo, hi, tol, maxit) -> results``, vmapped."""
    grad_hess = jax.jacfwd(lambda x: (V._grad(x), V._grad(x)), has_aux=True)  # (H, g), one pass
    p, sigma = DEFLATION_P, DEFLATION_SIGMA

    def solve_one(x0, roots, mask, lo, hi, tol, maxit):
        width = hi - lo
        diam = jnp.linalg.norm(width)
        ell = DEFLATION_LENGTH * width
        lo_e, hi_e = lo - MARGIN * width, hi + MARGIN * width

        def log_m(x):  # log M(x), distances in units of ell so that deflation is scale-free
            d2 = jnp.sum(((x - roots) / ell) ** 2, axis=-1)
            return jnp.sum(jnp.where(mask, jnp.log(d2 ** (-p / 2) + sigma), 0.0))

        def small(x, g, H):
            # |∇V| ≤ tol, or at the round-off floor of ∇V (≈ ε‖H‖‖x‖) when tol is below it
            floor = 64 * _EPS * jnp.linalg.norm(H) * (jnp.linalg.norm(x) + 1e-3 * diam)
            return jnp.linalg.norm(g) <= jnp.maximum(tol, floor)

        # phase 0: deflated Newton search; phase 1: plain Newton polish, two steps past tol, so a
        # non-degenerate point lands on round-off and a degenerate one shows its linear rate.
        # status: 0 running, 1 converged, 2 failed (not finite, stalled), 3 left the box
        def body(s):
            x, g, H, merit, radius, it, extra, status, phase = s
            defl = (phase == 0).astype(x.dtype)
            step, a = _gn_step(g, H, radius)
            # deflated Newton is the plain step scaled by τ = 1/(1 − ∇log M·δ) (Farrell et al.
            # 2015, §3), so the Jacobian of M∇V is never formed; 1/(1 − ∇log M·δ / a) for a
            # damped step keeps it a descent direction of the merit log|M∇V|
            tau = 1.0 / (1.0 - defl * (jax.grad(log_m)(x) @ step) / a)
            step = tau * step
            n = jnp.linalg.norm(step)
            step = step * jnp.minimum(1.0, radius / jnp.maximum(n, 1e-300))
            Hn, gn = grad_hess(x + step)
            mn = jnp.log(jnp.linalg.norm(gn)) + defl * log_m(x + step)
            # merit log|M∇V|: the (deflated) Newton step is a descent direction for it
            accept = jnp.all(jnp.isfinite(gn)) & jnp.all(jnp.isfinite(Hn)) & (mn < merit)
            x, g, H, merit = jax.tree.map(
                lambda new, old: jnp.where(accept, new, old),
                (x + step, gn, Hn, mn),
                (x, g, H, merit),
            )
            # trust region: grow after a clipped accepted step, shrink on rejection
            radius = jnp.where(
                accept,
                jnp.where(n > radius, jnp.minimum(2 * radius, 0.5 * diam), radius),
                0.25 * jnp.minimum(radius, n),
            )
            done = small(x, g, H)
            extra = extra + done.astype(int)
            # the search gives up early where the deflated Jacobian is singular (|τ| huge): a
            # local minimum of |M∇V| that is no root; the polish then takes over from there
            stalled = jnp.where(
                phase == 0,
                (radius < 1e-8 * diam) | (~accept & (jnp.abs(tau) > 1e8)) | (it + 1 >= maxit),
                radius < 1e-15 * diam,
            )
            outside = jnp.any((x < lo_e) | (x > hi_e))
            switch = (phase == 0) & (done | stalled) & ~outside
            polished = jnp.where(done & (extra > 2), 1, jnp.where(stalled, 2 - done, 0))
            status = jnp.where(outside, 3, jnp.where(phase == 0, 0, polished))
            # at the switch: drop the deflation from the merit, reset the trust region
            merit = jnp.where(switch, jnp.log(jnp.linalg.norm(g)), merit)
            radius = jnp.where(switch, 0.1 * diam, radius)
            it = jnp.where(switch, 0, it + 1)
            extra = jnp.where(switch, 0, extra)
            return (x, g, H, merit, radius, it, extra, status, jnp.maximum(phase, switch))

        H, g = grad_hess(x0)
        ok0 = jnp.isfinite(V._scalar(x0)) & jnp.all(jnp.isfinite(g)) & jnp.all(jnp.isfinite(H))
        merit = jnp.log(jnp.linalg.norm(g)) + log_m(x0)
        state = (x0, g, H, merit, 0.1 * diam, 0, 0, jnp.where(ok0, 0, 2), 0)
        x, g, H, *_, status, _ = lax.while_loop(lambda s: (s[7] == 0) & (s[5] < maxit), body, state)
        gnorm = jnp.linalg.norm(g)
        converged = ok0 & (status != 3) & small(x, g, H)
        # the Newton step −H⁺g left: the error estimate of the point (for deduplication)
        return x, gnorm, jnp.linalg.norm(_gn_step(g, H, jnp.inf)[0]), converged, ok0

    batched = jax.vmap(solve_one, in_axes=(0, 0, 0, None, None, None, None))

    def blocked(starts, roots, mask, *shared):
        # blocks of BLOCK starts, one after the other: a vmapped while loop runs until its
        # slowest lane is done, so a few slow starts then hold up only their own block
        size = min(BLOCK, starts.shape[0])
        nb = starts.shape[0] // size
        split = jax.tree.map(lambda a: a.reshape((nb, size) + a.shape[1:]), (starts, roots, mask))
        out = lax.map(lambda b: batched(*b, *shared), split)
        return jax.tree.map(lambda a: a.reshape((nb * size,) + a.shape[2:]), out)

    return blocked


def _build_point_data(V: Potential):
    """``xs -> (V, ∇V, ∇²V, ∇³V[u])`` per point, u the unit Newton step (for Kantorovich)."""

    def one(x):
        g, H = V._grad(x), V._hessian(x)
        s = _gn_step(g, H, jnp.inf)[0]
        ns = jnp.linalg.norm(s)
        u = jnp.where(ns > 0, s / jnp.where(ns > 0, ns, 1.0), 0.0)
        T = jax.jvp(V._hessian, (x,), (u,))[1]
        return V._scalar(x), g, H, T, ns

    return jax.vmap(one)


def _kernel(V: Potential, name: str, build, args: tuple):
    per = _KERNELS.setdefault(V, {})
    key = (name,) + tuple((np.shape(a), str(np.asarray(a).dtype)) for a in args)
    if key not in per:
        per[key] = jax.jit(build(V)).lower(*args).compile()
        COMPILE_COUNT["n"] += 1
    return per[key]


def _nearest_roots(roots: np.ndarray, starts: np.ndarray, width: np.ndarray):
    """The DEFLATE_K known roots nearest each start (scaled by the box), padded, and a mask.

    Each start is deflated by its nearest roots only: a far root's factor is ≈ 1 (σ = 1 and the
    length scale is a tenth of the box), and a fixed count keeps one compiled kernel for every
    round and its cost independent of how many roots are known.
    """
    n, dim = starts.shape
    near = np.zeros((n, DEFLATE_K, dim))
    mask = np.zeros((n, DEFLATE_K), bool)
    if len(roots):
        k = min(DEFLATE_K, len(roots))
        _, idx = cKDTree(roots / width).query(starts / width, k=k)
        near[:, :k] = roots[np.asarray(idx).reshape(n, k)]
        mask[:, :k] = True
    return near, mask


def _search(V, starts, near, mask, lo, hi, tol, max_iter, client=None):
    """Run the search kernel on a batch padded to whole blocks; numpy results.

    With a Dask client the batch is cut into pieces of whole blocks, one task each (a start's
    result does not depend on the other starts of its block, so the result is the same).
    """
    if client is not None:
        from ..parallel import map_chunks

        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        size = max(BLOCK, math.ceil(len(starts) / (2 * n_workers) / BLOCK) * BLOCK)
        pieces = [
            (starts[i : i + size], near[i : i + size], mask[i : i + size])
            for i in range(0, len(starts), size)
        ]
        job = (lo, hi, tol, max_iter)
        outs = [r for _, r in map_chunks(_search_piece, (V, job), pieces, client)]
        return [np.concatenate(parts) for parts in zip(*outs, strict=True)]
    n = len(starts)
    pad = -n % BLOCK if n > BLOCK else 0
    starts, near, mask = (
        np.concatenate([a, np.repeat(a[:1], pad, axis=0)]) for a in (starts, near, mask)
    )
    args = (starts, near, mask, lo, hi, np.float64(tol), np.int64(max_iter))
    out = _kernel(V, "search", _build_search, args)(*args)
    return [np.asarray(a)[:n] for a in out]


def _search_piece(shared, piece):
    """One Dask task of the multistart search."""
    V, (lo, hi, tol, max_iter) = shared
    return _search(V, *piece, lo, hi, tol, max_iter)


class CriticalPointSet(list):
    """The critical points found, sorted by energy, with their Morse bookkeeping.

    Attributes:
        dim: the dimension of the space.
        bounds: the box searched.
        info: how the search went (starts per round, new points per round, compiles).
    """

    def __init__(self, points: list[CriticalPoint], dim: int, bounds: Any, info: dict):
        super().__init__(points)
        self.dim, self.bounds, self.info = dim, bounds, info

    minima = property(lambda self: [p for p in self if p.kind == "minimum"])
    saddles = property(lambda self: [p for p in self if p.kind == "saddle" and p.index == 1])
    maxima = property(lambda self: [p for p in self if p.kind == "maximum"])
    degenerate = property(lambda self: [p for p in self if p.kind == "degenerate"])

    @property
    def counts(self) -> dict[str, int]:
        """Number of points of each kind (minimum, saddle, maximum, degenerate)."""
        kinds = ("minimum", "saddle", "maximum", "degenerate")
        return {k: sum(p.kind == k for p in self) for k in kinds}

    @property
    def morse_check(self) -> dict[str, Any]:
        """Σ(−1)^index over the points, which is 1 (the Euler characteristic of Rⁿ) when V → ∞
        at infinity, every critical point lies in the box and none is degenerate."""
        value = sum((-1) ** p.index for p in self if p.kind != "degenerate")
        formula = "#min − #saddle + #max" if self.dim == 2 else "Σ (−1)^index"
        holds = value == 1 and not self.degenerate
        note = "holds" if holds else "fails: V may not grow at infinity, or points lie outside"
        if self.degenerate:
            note = "degenerate points present: the Morse relation does not apply"
        return {"formula": formula, "value": value, "expected": 1, "holds": holds, "note": note}

    def __repr__(self) -> str:
        return f"CriticalPointSet({self.counts}, morse={self.morse_check['value']})"


def _classify_batch(V: Potential, xs: np.ndarray, metric: Any) -> list[CriticalPoint]:
    if len(xs) == 0:
        return []
    size = 1 << (len(xs) - 1).bit_length()
    pad = np.concatenate([xs, np.repeat(xs[:1], size - len(xs), axis=0)])
    E, G, Hs, Ts, steps = map(np.asarray, _kernel(V, "point", _build_point_data, (pad,))(pad))
    out = []
    for i, x in enumerate(xs):
        H = 0.5 * (Hs[i] + Hs[i].T)
        lam_h = np.linalg.eigvalsh(H)
        amin, amax = np.abs(lam_h).min(), np.abs(lam_h).max()
        # Kantorovich ratio: a Lipschitz bound of the Hessian along the Newton step times the
        # step, over the smallest eigenvalue; < ½ where Newton converges quadratically
        h = np.linalg.norm(Ts[i], 2) * steps[i] / amin if amin > 0 else np.inf
        degenerate = amin <= DEGENERATE_RTOL * max(1.0, amax) or h > KANTOROVICH_H
        if metric is None:
            lam, vec = np.linalg.eigh(H)
        else:  # eigenpairs of G⁻¹H: the generalised problem H v = λ G v (same inertia as H)
            Gx = np.asarray(metric.matrix(jnp.asarray(x)))
            lam, vec = eigh(H, 0.5 * (Gx + Gx.T))
            vec = vec / np.linalg.norm(vec, axis=0)
        index = int(np.sum(lam_h < 0))
        kind = {0: "minimum", V.dim: "maximum"}.get(index, "saddle")
        out.append(CriticalPoint(
            x=np.asarray(x, dtype=float), energy=float(E[i]), index=index,
            kind="degenerate" if degenerate else kind,
            eigenvalues=lam, eigenvectors=vec, residual=float(np.linalg.norm(G[i])),
            extra={"newton_step": float(steps[i]), "kantorovich": float(h)},
        ))  # fmt: skip
    return out


def _check_options(V: Potential, tol: Any, metric: Any, max_iter: Any) -> float:
    from ..metric import Metric

    t = float(tol) if isinstance(tol, (int, float, np.floating)) else -1.0
    if not (math.isfinite(t) and t > 0) or isinstance(tol, bool):
        raise ScenarioError(f"tol: expected a positive number like 1e-10, got {tol!r}.", key="tol")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        msg = f"max_iter: expected a positive integer such as 100, got {max_iter!r}."
        raise ScenarioError(msg, key="max_iter")
    if metric is not None and not isinstance(metric, Metric):
        msg = (
            f"metric: expected a steepest Metric (e.g. Preconditioned(M)) or None, got {metric!r}."
        )
        raise ScenarioError(msg, key="metric")
    if metric is not None:
        metric.check_dim(V.dim)
    return t


def critical_points(
    V: Potential,
    bounds: Any = None,
    *,
    n_starts: int | None = None,
    seed: int = 0,
    tol: float = 1e-10,
    metric: Any = None,
    max_iter: int = 100,
    client: Any = None,
) -> CriticalPointSet:
    """All critical points (∇V = 0) of ``V`` in a box, classified and sorted by energy.

    Args:
        V: the potential.
        bounds: the box, one (low, high) pair per coordinate; default ``V.plot_bounds``.
        n_starts: Newton starts per round; default 256·dim rounded up to a power of two.
        seed: seed of the scrambled Sobol starts.
        tol: each point is polished to |∇V| ≤ tol.
        metric: classify with the eigenvalues of G⁻¹∇²V (the points and indices do not change).
        max_iter: Newton iterations per start and phase.
        client: a ``distributed.Client`` or a scheduler address: each round's starts run as
            tasks on that cluster (same result). None runs in-process.

    Examples:
        >>> import steepest as st
        >>> pts = critical_points(st.potentials.get("himmelblau"))
        >>> pts.counts
        {'minimum': 4, 'saddle': 4, 'maximum': 1, 'degenerate': 0}
    """
    require_potential(V, "critical_points")
    box = _check_bounds(bounds, V.dim) or V.plot_bounds
    tol = _check_options(V, tol, metric, max_iter)
    if n_starts is None:
        n_starts = 1 << max(8, math.ceil(math.log2(256 * V.dim)))
    if isinstance(n_starts, bool) or not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        msg = f"n_starts: expected a positive integer such as 512, got {n_starts!r}."
        raise ScenarioError(msg, key="n_starts")
    lo, hi = np.array(box, dtype=float).T
    width = hi - lo
    diam = float(np.linalg.norm(width))
    sobol = qmc.Sobol(V.dim, scramble=True, rng=np.random.default_rng(seed))
    m = max(0, (int(n_starts) - 1).bit_length())
    first = lo + width * sobol.random(1 << m)[:n_starts]

    roots = np.empty((0, V.dim))
    errs = np.empty(0)
    info: dict[str, Any] = {"n_starts": int(n_starts), "new_per_round": [], "compiles": 0}
    c0 = COMPILE_COUNT["n"]
    with client_for(client) as cl:
        for rnd in range(MAX_ROUNDS + 1):
            # round 0: plain Newton; round 1: the same starts deflated by what round 0 found (as in
            # Farrell et al.); later rounds: fresh Sobol starts, deflated
            starts = first if rnd < 2 else lo + width * sobol.random(1 << m)[:n_starts]
            near, mask = _nearest_roots(roots, starts, width)
            x, gn, step, conv, finite = _search(V, starts, near, mask, lo, hi, tol, max_iter, cl)
            if rnd == 0 and not finite.any():
                raise ScenarioError(
                    f"V is not finite (NaN or inf) at any of the {n_starts} starts in the box "
                    f"{list(map(list, box))}; check the formula or choose bounds where it is "
                    "defined.",
                    key="bounds",
                )
            inside = np.all((x >= lo - 1e-9 * diam) & (x <= hi + 1e-9 * diam), axis=1)
            keep = conv & inside
            # dedupe: two points are one if closer than the box-scale tolerance plus their Newton
            # error estimates (large at degenerate points, where Newton converges only linearly),
            # capped so that points a thousandth of the box apart are never merged
            rad = np.clip(np.nan_to_num(10 * step, nan=0.0), 1e-6 * diam, 1e-3 * diam)
            new = 0
            for i in np.flatnonzero(keep)[np.argsort(gn[keep], kind="stable")]:
                if len(roots) and np.any(np.linalg.norm(roots - x[i], axis=1) <= rad[i] + errs):
                    continue
                roots, errs = np.vstack([roots, x[i]]), np.append(errs, rad[i])
                new += 1
            info["new_per_round"].append(new)
            if rnd >= 1 and new == 0:
                break
    info["compiles"] = COMPILE_COUNT["n"] - c0
    points = _classify_batch(V, roots, metric)
    points.sort(key=lambda p: (p.energy, tuple(p.x)))
    return CriticalPointSet(points, V.dim, box, info)


def classify(
    V: Potential, x: Any, *, tol: float = 1e-10, metric: Any = None, max_iter: int = 100
) -> CriticalPoint:
    """Polish ``x`` to a critical point of ``V`` by Newton and classify it.

    Raises:
        ScenarioError: ``x`` does not have V's dimension.
        ConvergenceError: Newton does not reach |∇V| ≤ tol (the message says how far it got).
    """
    require_potential(V, "classify")
    try:
        x0 = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        x0 = np.empty(0)
    if x0.shape != (V.dim,) or not np.all(np.isfinite(x0)):
        got = x0.tolist() if 0 < x0.size <= 8 else f"shape {x0.shape}"
        msg = f"x: {V.name!r} has dimension {V.dim}, got {got}; pass {V.dim} finite coordinates."
        raise ScenarioError(msg, key="x")
    tol = _check_options(V, tol, metric, max_iter)
    lo, hi = np.array(V.plot_bounds, dtype=float).T
    # a box centred on x, twice the plot box: it sizes the trust region and bounds the roaming
    none = np.zeros((1, DEFLATE_K, V.dim)), np.zeros((1, DEFLATE_K), bool)  # no deflation
    xs, gn, _, conv, _ = _search(V, x0[None], *none, x0 - (hi - lo), x0 + (hi - lo), tol, max_iter)
    if not conv[0]:
        raise ConvergenceError(
            f"classify: Newton from {x0.tolist()} stopped at {xs[0].tolist()} with "
            f"|∇V| = {gn[0]:.3g} > tol = {tol:g}; start closer to a critical point or raise tol."
        )
    return _classify_batch(V, xs[:1], metric)[0]
