"""Shared pieces of the path and saddle searches: batched forces, counted; polishing; checks."""

from __future__ import annotations

import math
import weakref
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core.errors import ConvergenceError, ScenarioError
from ..energy.potential import Potential
from ..landscape.critical_point import KINDS, CriticalPoint

_KERNELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Counter:
    """Counts single-image energy-and-force evaluations (what ASE calls force calls)."""

    def __init__(self) -> None:
        self.force_calls = 0
        self.hessian_calls = 0


def _kernel(V: Potential, name: str, build):
    per = _KERNELS.setdefault(V, {})
    if name not in per:
        per[name] = build()
    return per[name]


def energies_forces(V: Potential, X: np.ndarray, counter: Counter) -> tuple[np.ndarray, np.ndarray]:
    """(V, ∇V) at every row of ``X`` in one compiled, vmapped call; counted per row."""
    f = _kernel(V, "band", lambda: jax.jit(jax.vmap(V._value_and_grad)))
    E, G = f(jnp.asarray(X, dtype=jnp.float64))
    counter.force_calls += len(X)
    return np.asarray(E, dtype=float), np.asarray(G, dtype=float)


def hvp(V: Potential, x: np.ndarray, v: np.ndarray, counter: Counter) -> np.ndarray:
    """∇²V(x)·v: by forward-mode autodiff, or by a central difference of forces when V's
    gradient has no derivative (a calculator), at two force calls."""
    try:
        f = _kernel(V, "hvp", lambda: jax.jit(lambda x, v: jax.jvp(V._grad, (x,), (v,))[1]))
        out = np.asarray(f(jnp.asarray(x), jnp.asarray(v)), dtype=float)
        counter.force_calls += 1  # a JVP of the gradient costs about one more gradient
        return out
    except Exception:
        d = 1e-4 * max(1.0, float(np.linalg.norm(x))) / max(float(np.linalg.norm(v)), 1e-300)
        _, G = energies_forces(V, np.stack([x + d * v, x - d * v]), counter)
        return (G[0] - G[1]) / (2 * d)


def fd_step(V: Potential, x: np.ndarray) -> float:
    """The step of V's finite-difference Hessian: ``V.fd_step`` when V has one (a calculator),
    else the one :func:`hessian` uses."""
    h = getattr(V, "fd_step", None)
    if isinstance(h, (int, float)) and h > 0:
        return float(h)
    return 1e-4 * max(1.0, float(np.linalg.norm(x)))


def hessian(V: Potential, x: np.ndarray, counter: Counter) -> np.ndarray:
    """The Hessian by autodiff, or by central differences of forces (2·dim force calls)."""
    try:
        H = np.asarray(V.hessian(jnp.asarray(x)), dtype=float)
        if not np.all(np.isfinite(H)):
            raise ValueError
        counter.hessian_calls += 1
    except Exception:
        n = len(x)
        d = fd_step(V, x)
        E = np.eye(n) * d
        _, G = energies_forces(V, np.concatenate([x + E, x - E]), counter)
        H = ((G[:n] - G[n:]) / (2 * d)).T
    return 0.5 * (H + H.T)


def _classify_with(
    V: Potential, x: np.ndarray, energy: float, H: np.ndarray, residual: float, extra=None
) -> CriticalPoint:
    lam, Q = np.linalg.eigh(H)
    tol = 1e-8 * max(1.0, float(np.max(np.abs(lam))))
    index = int(np.sum(lam < -tol))
    if np.any(np.abs(lam) <= tol):
        kind = "degenerate"
    elif index == 0:
        kind = "minimum"
    elif index == len(x):
        kind = "maximum"
    else:
        kind = "saddle"
    assert kind in KINDS
    return CriticalPoint(x, float(energy), index, kind, lam, Q, residual, dict(extra or {}))


#: gradient tolerance of the refinement on potentials whose Hessian is a finite difference of
#: forces (calculators): their forces carry noise and the FD Hessian an O(h²) error, so |∇V| at
#: round-off (the 1e-10 of autodiff potentials) is neither reachable in general nor meaningful
FD_GTOL = 1e-6
#: the largest |∇V| accepted as a critical point when the refinement stalls above FD_GTOL (the
#: forces' noise floor); above it the refinement fails
FD_FLOOR = 1e-3
#: the first Hessian is reused for the final classification when the Hessian's estimated change
#: over the refinement's displacement is below this fraction of its smallest |eigenvalue|
FD_REUSE_RTOL = 1e-3


def fd_hessian_potential(V: Potential) -> bool:
    """True when V's Hessian costs force calls (finite differences of a calculator's forces),
    e.g. an :class:`~steepest.paths.ase.AsePotential`; such potentials are refined by
    :func:`refine_quasi_newton`, autodiff ones by the exact Newton search."""
    return bool(getattr(V, "hessian_by_differences", False))


def polish(V: Potential, x: np.ndarray, counter: Counter, *, tol: float = 1e-10) -> CriticalPoint:
    """The critical point near ``x``, classified. Potentials with an autodiff Hessian: the
    library's safeguarded Newton search (:func:`~steepest.landscape.classify`) to |∇V| ≤ ``tol``.
    Potentials whose Hessian costs force calls (calculators) or has none:
    :func:`refine_quasi_newton` (one finite-difference Hessian, then updated)."""
    x = np.asarray(x, dtype=float)
    if not fd_hessian_potential(V):
        try:
            from ..landscape.critical import classify

            cp = classify(V, x, tol=tol)
            counter.hessian_calls += 1
            return cp
        except ConvergenceError:
            raise
        except ScenarioError:
            raise
        except Exception:
            pass
    return refine_quasi_newton(V, x, counter)


def _bofill(B: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bofill's update (Bofill 1994): φ·SR1 + (1 − φ)·PSB with φ = (ξᵀs)²/(|ξ|²|s|²), ξ = y − Bs;
    symmetric, and free to keep or change the signs of eigenvalues (a saddle's negative one)."""
    xi = y - B @ s
    ss, xs, xx = float(s @ s), float(xi @ s), float(xi @ xi)
    if ss <= 0 or xx <= 1e-300:
        return B
    sr1_phi = (xs / (xx * ss)) * np.outer(xi, xi)  # φ · ξξᵀ/(ξᵀs), finite when ξᵀs → 0
    phi = xs * xs / (xx * ss)
    psb = (np.outer(xi, s) + np.outer(s, xi)) / ss - (xs / (ss * ss)) * np.outer(s, s)
    B = B + sr1_phi + (1.0 - phi) * psb
    return 0.5 * (B + B.T)


def _prfo_step(B: np.ndarray, g: np.ndarray, order: int) -> tuple[np.ndarray, float]:
    """The partitioned rational-function step (Baker, J. Comput. Chem. 7 (1986) 385): uphill
    along the ``order`` lowest modes of B, downhill along the others; Newton's step near a
    critical point of that index. Returns the step and its predicted energy change."""
    b, U = np.linalg.eigh(B)
    F = U.T @ g
    step = np.zeros_like(g)
    if order > 0:  # maximise: the largest root of each uphill mode's 2×2 RFO matrix
        bu, Fu = b[:order], F[:order]
        lam_p = 0.5 * bu + np.sqrt(0.25 * bu * bu + Fu * Fu)
        step[:order] = -Fu / np.where(np.abs(bu - lam_p) > 1e-300, bu - lam_p, 1e-300)
    if order < len(g):  # minimise: the lowest root of the augmented Hessian of the others
        bd, Fd = b[order:], F[order:]
        n = len(bd)
        A = np.zeros((n + 1, n + 1))
        A[:n, :n] = np.diag(bd)
        A[:n, n] = A[n, :n] = Fd
        lam_n = float(np.linalg.eigvalsh(A)[0])
        den = bd - lam_n
        step[order:] = -Fd / np.where(np.abs(den) > 1e-300, den, 1e-300)
    dE = float(F @ step + 0.5 * step @ (b * step))
    return U @ step, dE


def refine_quasi_newton(
    V: Potential,
    x: np.ndarray,
    counter: Counter,
    *,
    gtol: float = FD_GTOL,
    max_iter: int = 100,
) -> CriticalPoint:
    """Refine ``x`` to a critical point of V with few force calls, for potentials whose Hessian
    is a finite difference of forces (2·dim force calls each).

    One Hessian H₀ at ``x`` fixes the target Morse index k (its number of negative
    eigenvalues); then partitioned rational-function steps (P-RFO: uphill along the k lowest
    modes, downhill along the rest; Newton's step near the critical point) on a Hessian kept
    up to date by Bofill's update, within a trust radius, one force call per step. Stops at
    |∇V| ≤ ``gtol``, or, when |∇V| stops decreasing (the forces' noise floor) after a fresh
    Hessian, at the best point if its |∇V| ≤ :data:`FD_FLOOR`. The classification uses H₀
    again when the Hessian's estimated change from its point to the result (from the
    gradients: ½T[Δx, Δx] ≈ ∇V(x*) − ∇V(x₀) − H₀Δx) is below :data:`FD_REUSE_RTOL` of its
    smallest |eigenvalue|, else a fresh Hessian at the result; ``extra`` says which.

    Raises:
        ConvergenceError: neither stop is reached within ``max_iter`` steps.
    """
    x = np.asarray(x, dtype=float)
    E, G = energies_forces(V, x[None], counter)
    e, g = float(E[0]), G[0]
    H = hessian(V, x, counter)
    n_hess, xH, gH, HH = 1, x.copy(), g.copy(), H.copy()
    lam = np.linalg.eigvalsh(H)
    order = int(np.sum(lam < 0))
    B = H.copy()
    gn = float(np.linalg.norm(g))
    best = (gn, x, e, g)
    scale = max(1.0, float(np.linalg.norm(x)))
    h = fd_step(V, x)
    trust = None  # the first step is taken whole: H₀ is exact up to the difference's error
    stalled, refreshed, steps, stop = 0, False, 0, None
    while True:
        if gn <= gtol:
            stop = "gtol"
            break
        if steps >= max_iter:
            break
        if stalled >= 3:
            if refreshed:
                stop = "noise floor"
                break
            # the model may be stale rather than the forces noisy: a fresh Hessian first
            gn, x, e, g = best
            B = hessian(V, x, counter)
            n_hess, xH, gH, HH = n_hess + 1, x.copy(), g.copy(), B.copy()
            refreshed, stalled = True, 0
        s, _ = _prfo_step(B, g, order)
        sn = float(np.linalg.norm(s))
        if not np.isfinite(sn):
            break
        if trust is None:
            trust = max(sn, 1e-12 * scale)
        if sn > trust:
            s, sn = s * (trust / sn), trust
        E1, G1 = energies_forces(V, (x + s)[None], counter)
        steps += 1
        e1, g1 = float(E1[0]), G1[0]
        if not (np.isfinite(e1) and np.all(np.isfinite(g1))):
            trust = 0.25 * sn
            stalled += 1
            continue
        y = g1 - g
        pred = g + B @ s
        if sn >= 0.1 * h:  # shorter steps: y is the forces' noise more than curvature
            B1 = _bofill(B, s, y)
            if np.linalg.norm(B1 - B) <= np.linalg.norm(B):  # else not a trustworthy secant
                B = B1
        g1n = float(np.linalg.norm(g1))
        good = float(np.linalg.norm(g1 - pred)) <= 0.5 * max(gn, 1e-300)
        if g1n < gn:  # accept: |∇V| fell
            if good and sn >= 0.99 * trust:
                trust *= 2.0
            elif not good:
                trust = max(0.5 * sn, 1e-12 * scale)
            x, e, g = x + s, e1, g1
            if g1n < 0.9 * best[0]:
                stalled = 0
            else:
                stalled += 1
            gn = g1n
            if gn < best[0]:
                best = (gn, x, e, g)
        else:  # reject: keep x, learn from the pair, shrink the trust region
            trust = max(0.25 * sn, 1e-12 * scale)
            stalled += sn <= 10 * h  # a long step may just be too long; a short one, noise
    gn, x, e, g = best
    if stop is None or (stop == "noise floor" and gn > FD_FLOOR):
        raise ConvergenceError(
            f"refine: quasi-Newton from {np.round(xH, 6).tolist()} stopped after {steps} steps "
            f"at |∇V| = {gn:.3g} > {gtol:g}; start closer to a critical point."
        )
    D = x - xH
    lamH = np.linalg.eigvalsh(HH)
    dn = float(np.linalg.norm(D))
    change = 2.0 * float(np.linalg.norm(g - gH - HH @ D)) / dn if dn > 0 else 0.0
    if dn <= 0.1 * h or change <= FD_REUSE_RTOL * float(np.abs(lamH).min()):
        H, how = HH, "reused"
    else:
        H, how = hessian(V, x, counter), "fresh"
        n_hess += 1
    extra = {
        "refine": "quasi-newton (P-RFO, Bofill update, finite-difference Hessian)",
        "refine_stop": stop,
        "refine_steps": steps,
        "refine_gtol": gtol,
        "hessians": n_hess,
        "hessian": how,
        "hessian_shift": dn,
        "hessian_change_estimate": change,
    }
    return _classify_with(V, x, e, H, gn, extra)


def as_point(V: Potential, x: Any, key: str) -> np.ndarray:
    try:
        p = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        p = np.empty(0)
    if p.shape != (V.dim,) or not np.all(np.isfinite(p)):
        got = p.tolist() if 0 < p.size <= 8 else f"shape {p.shape}"
        raise ScenarioError(
            f"{key}: expected {V.dim} finite coordinates for {V.name!r}, got {got}.", key=key
        )
    return p


def polish_minimum(
    V: Potential, x: np.ndarray, counter: Counter, key: str
) -> tuple[CriticalPoint, float]:
    """The minimum ``x`` lies in: Newton when ``x`` is already in its quadratic basin, else a
    descent (BFGS on V) first. Refuses a point that polishes to a saddle or a maximum.

    Returns the minimum and how far it is from ``x``.
    """
    cp: CriticalPoint | None = None
    try:
        cp = polish(V, x, counter)
        ok = cp.kind == "minimum"
    except (ConvergenceError, np.linalg.LinAlgError):
        ok = False
    if not ok:
        from scipy.optimize import minimize

        def fun(z):
            E, G = energies_forces(V, z[None], counter)
            return float(E[0]), G[0]

        r = minimize(fun, x, jac=True, method="BFGS", options={"gtol": 1e-8, "maxiter": 2000})
        try:
            cp = polish(V, r.x, counter)
        except ConvergenceError:
            cp = None
        if cp is None or cp.kind != "minimum":
            what = "no critical point" if cp is None else f"a {cp.kind} (index {cp.index})"
            raise ScenarioError(
                f"{key}: {np.round(x, 6).tolist()} does not lead to a minimum of {V.name!r} (it "
                f"polishes to {what}); give a point inside a minimum's basin.",
                key=key,
            )
    assert cp is not None  # ok, or the descent above found a minimum
    return cp, float(np.linalg.norm(cp.x - x))


def descend(
    V: Potential,
    x: np.ndarray,
    counter: Counter,
    *,
    rate: float = 1.0,
    max_step: float = math.inf,
    max_iter: int = 20000,
) -> CriticalPoint | None:
    """Walk down from ``x`` by gradient descent with an Armijo backtracking step (starting at
    1/``rate``, the curvature scale, and never longer than ``max_step``), so it stays close to
    the gradient flow's path; stop when |∇V| is a thousandth of the largest seen, then polish
    by Newton. None if it does not settle."""
    a = 1.0 / max(rate, 1e-300)
    E, G = energies_forces(V, x[None], counter)
    e, g = float(E[0]), G[0]
    gmax = float(np.linalg.norm(g))
    for _ in range(max_iter):
        gn = float(np.linalg.norm(g))
        gmax = max(gmax, gn)
        if gn <= 1e-3 * gmax and gmax > 0:
            break
        a = min(a, max_step / max(gn, 1e-300))
        E1, G1 = energies_forces(V, (x - a * g)[None], counter)
        if np.isfinite(E1[0]) and E1[0] <= e - 1e-4 * a * gn * gn:
            x, e, g = x - a * g, float(E1[0]), G1[0]
            a *= 1.5
        else:
            a *= 0.5
    try:
        return polish(V, x, counter)
    except (ConvergenceError, ScenarioError):
        return None


def check_count(n: Any, key: str, low: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < low:
        raise ScenarioError(f"{key}: expected an integer ≥ {low}, got {n!r}.", key=key)
    return int(n)


def check_positive(v: Any, key: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        f = math.nan
    if isinstance(v, bool) or not (0 < f < math.inf):
        raise ScenarioError(f"{key}: expected a positive number, got {v!r}.", key=key)
    return f
