"""Nudged elastic band with improved tangents and a climbing image.

The band is a chain of images R_0 … R_{n−1} between two minima. Each moving image feels the true
force perpendicular to the path and the spring force along it,

    F_i = −∇V(R_i)|_⊥ + k (|R_{i+1} − R_i| − |R_i − R_{i−1}|) τ_i,

with the improved tangent τ_i of Henkelman & Jónsson (J. Chem. Phys. 113 (2000) 9978): the
direction to the higher neighbour, or an energy-weighted bisection at extrema. The climbing image
(Henkelman, Uberuaga & Jónsson, J. Chem. Phys. 113 (2000) 9901) — the highest one — feels no
spring and the parallel force inverted, F = −∇V + 2(∇V·τ)τ, so it climbs to the saddle.

These forces are not the gradient of any function, so the optimisers must not rely on one:
by default ODE12r (Makri, Ortner & Kermode, J. Chem. Phys. 150 (2019) 094109), an adaptive
Euler integrator of the force with error control and step rejection, whose spring forces along
the path are preconditioned by the Newton step of the spring chain (so that the spring constant
does not slow it down), Anderson-accelerated (Walker & Ni, SIAM J. Numer. Anal. 49 (2011)
1715) once the band is near the path; or FIRE (Bitzek et al., Phys. Rev. Lett. 97 (2006)
170201); or L-BFGS with safeguards (a cap on every image's displacement, a reset whenever the
step does not go along the force, updates only when the curvature condition holds). All images
are evaluated in one batched, compiled call; a force call is one image's energy and gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from ..landscape.critical_point import CriticalPoint
from ._common import (
    Counter,
    as_point,
    check_count,
    check_positive,
    descend,
    energies_forces,
    polish,
    polish_minimum,
)
from .path import Path

OPTIMIZERS = ("ode", "fire", "lbfgs")


def improved_tangents(X: np.ndarray, E: np.ndarray) -> np.ndarray:
    """Henkelman–Jónsson tangents at the interior images (rows 1 … n−2), unit length."""
    tp = X[2:] - X[1:-1]
    tm = X[1:-1] - X[:-2]
    Ep, Ei, Em = E[2:], E[1:-1], E[:-2]
    up = (Ep > Ei) & (Ei > Em)
    down = (Ep < Ei) & (Ei < Em)
    dmax = np.maximum(np.abs(Ep - Ei), np.abs(Em - Ei))[:, None]
    dmin = np.minimum(np.abs(Ep - Ei), np.abs(Em - Ei))[:, None]
    mixed = np.where((Ep > Em)[:, None], tp * dmax + tm * dmin, tp * dmin + tm * dmax)
    tau = np.where(up[:, None], tp, np.where(down[:, None], tm, mixed))
    norm = np.linalg.norm(tau, axis=1, keepdims=True)
    return tau / np.where(norm > 0, norm, 1.0)


def neb_forces(
    X: np.ndarray, E: np.ndarray, G: np.ndarray, k: float, climb: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """The NEB force on every interior image, and the tangents."""
    tau = improved_tangents(X, E)
    g = G[1:-1]
    gpar = np.sum(g * tau, axis=1, keepdims=True)
    dp = np.linalg.norm(X[2:] - X[1:-1], axis=1, keepdims=True)
    dm = np.linalg.norm(X[1:-1] - X[:-2], axis=1, keepdims=True)
    F = -(g - gpar * tau) + k * (dp - dm) * tau
    if climb is not None:
        c = climb - 1
        F[c] = -g[c] + 2.0 * gpar[c] * tau[c]
    return F, tau


def _group_norm(F: np.ndarray, per_atom: int) -> np.ndarray:
    """Largest force per image: over groups of ``per_atom`` coordinates (ASE's fmax) or whole."""
    n, d = F.shape
    if per_atom and d % per_atom == 0 and per_atom < d:
        return np.linalg.norm(F.reshape(n, d // per_atom, per_atom), axis=2).max(axis=1)
    return np.linalg.norm(F, axis=1)


def neb(
    V: Potential,
    a: Any,
    b: Any,
    n_images: int = 9,
    *,
    climb: bool = True,
    spring: float | None = None,
    optimizer: str = "ode",
    fmax: float = 0.01,
    max_iter: int = 5000,
    images: Any = None,
    polish_endpoints: bool = True,
    verify: bool = True,
) -> Path:
    """The minimum energy path from ``a`` to ``b`` by (climbing-image) nudged elastic band.

    Args:
        V: the energy.
        a, b: the end states, near minima; they are polished to the minima first (Newton, or a
            descent and then Newton), and ``Path.endpoint_shift`` says how far each moved.
        n_images: images including both endpoints (≥ 3).
        climb: turn the highest image into a climbing image (CI-NEB).
        spring: the spring constant k; default (V_max − V_min) / L² of the first band, so that
            springs and true forces are of one scale.
        optimizer: ``"ode"`` (default; ODE12r with the springs preconditioned, then Anderson
            acceleration near the path: the fewest force calls on Müller–Brown), ``"fire"``
            or ``"lbfgs"`` (with safeguards; it can run away with weak springs, ``spring`` ≲ 20
            on Müller–Brown).
        fmax: converged when every moving image's force (climbing one included) is ≤ fmax;
            for a potential with ``params["coords_per_atom"] = 3`` the largest per-atom force,
            as in ASE.
        max_iter: the iteration budget; running out of it returns ``converged=False``.
        images: an initial band ``(n_images, dim)`` instead of the straight line (its ends are
            replaced by the polished minima).
        polish_endpoints: polish ``a`` and ``b`` (else they are used as given).
        verify: follow the saddle's unstable manifold down both ways (``Path.connects``).

    Returns:
        A :class:`Path`.

    Examples:
        >>> import steepest as st
        >>> p = st.paths.neb(st.potentials.get("double-well"), [-1, 0.1], [1, 0], n_images=7)
        >>> p.converged, round(p.barrier_forward, 8), p.saddle.x.round(8).tolist()
        (True, 1.0, [0.0, 0.0])
    """
    if not isinstance(V, Potential):
        raise ScenarioError(f"neb: expected a steepest.Potential, got {V!r}.", key="V")
    n = check_count(n_images, "n_images", 3)
    fmax = check_positive(fmax, "fmax")
    max_iter = check_count(max_iter, "max_iter", 1)
    if optimizer not in OPTIMIZERS:
        raise ScenarioError(
            f"optimizer: expected one of {', '.join(OPTIMIZERS)}, got {optimizer!r}.",
            key="optimizer",
        )
    counter = Counter()
    A, B, shift = _endpoints(V, a, b, polish_endpoints, counter)
    X = _initial_band(V, A, B, n, images)
    E, G = energies_forces(V, X, counter)
    if spring is None:
        L = float(np.sum(np.linalg.norm(np.diff(X, axis=0), axis=1)))
        spring = max(float(E.max() - E.min()), 1e-12) / max(L * L, 1e-300)
    k = check_positive(spring, "spring")
    per_atom = int(V.params.get("coords_per_atom", 0) or 0)
    run = {"fire": _fire, "lbfgs": _lbfgs, "ode": _ode}[optimizer]
    X, E, G, F, tau, it, fnow, conv = run(V, X, E, G, k, climb, fmax, max_iter, per_atom, counter)
    return _finish(
        V,
        "neb",
        X,
        E,
        tau,
        counter,
        it,
        conv,
        fnow,
        climb,
        shift,
        verify,
        {"spring": k, "optimizer": optimizer, "fmax": fmax, "n_images": n},
    )


def _endpoints(V, a, b, do_polish, counter):
    pa, pb = as_point(V, a, "from"), as_point(V, b, "to")
    shift = (0.0, 0.0)
    if do_polish:
        ca, sa = polish_minimum(V, pa, counter, "from")
        cb, sb = polish_minimum(V, pb, counter, "to")
        pa, pb, shift = ca.x, cb.x, (sa, sb)
    scale = max(float(np.linalg.norm(pa - pb)), 1e-300)
    if np.linalg.norm(pa - pb) <= 1e-8 * max(1.0, float(np.linalg.norm(pa))):
        raise ScenarioError(
            f"from/to: both ends lead to the same minimum {np.round(pa, 6).tolist()}; give "
            "points in two different basins.",
            key="to",
        )
    del scale
    return pa, pb, shift


def _initial_band(V, A, B, n, images):
    if images is None:
        t = np.linspace(0.0, 1.0, n)[:, None]
        return (1 - t) * A + t * B
    X = np.array(images, dtype=float)
    if X.shape != (n, V.dim) or not np.all(np.isfinite(X)):
        raise ScenarioError(
            f"images: expected a finite array of shape ({n}, {V.dim}), got {X.shape}.",
            key="images",
        )
    X[0], X[-1] = A, B
    return X


def _state(V, X, E, G, k, climb, per_atom):
    c = int(np.argmax(E[1:-1])) + 1 if climb else None
    F, tau = neb_forces(X, E, G, k, c)
    return F, tau, float(_group_norm(F, per_atom).max())


def _fire(V, X, E, G, k, climb, fmax, max_iter, per_atom, counter):
    """FIRE on the moving images (Bitzek et al. 2006, the parameters ASE uses), with the time
    step scaled to the band's stiffest curvature, measured by a secant on the first step."""
    F, tau, fnow = _state(V, X, E, G, k, climb, per_atom)
    spacing = float(np.mean(np.linalg.norm(np.diff(X, axis=0), axis=1)))
    maxstep = 0.2 * spacing
    v = np.zeros_like(F)
    dt, dtmax, alpha, n_pos = None, None, 0.1, 0
    it = 0
    while fnow > fmax and it < max_iter:
        it += 1
        if dt is None:  # a first small steepest-descent step measures the curvature
            step = F / max(float(np.abs(F).max()), 1e-300) * 0.01 * spacing
        else:
            P = float(np.sum(F * v))
            if P > 0:
                fn, vn = np.linalg.norm(F), np.linalg.norm(v)
                v = (1 - alpha) * v + alpha * F / max(fn, 1e-300) * vn
                if n_pos > 5:
                    dt = min(dt * 1.1, dtmax)
                    alpha *= 0.99
                n_pos += 1
            else:
                v[:] = 0.0
                dt *= 0.5
                alpha, n_pos = 0.1, 0
            v = v + dt * F
            step = dt * v
            big = np.linalg.norm(step, axis=1).max()
            if big > maxstep:
                step *= maxstep / big
        X1 = X.copy()
        X1[1:-1] += step
        E1, G1 = energies_forces(V, X1[1:-1], counter)
        E1 = np.concatenate([[E[0]], E1, [E[-1]]])
        G1 = np.concatenate([G[:1], G1, G[-1:]])
        if dt is None:
            dg = np.linalg.norm(G1[1:-1] - G[1:-1], axis=1)
            dx = np.maximum(np.linalg.norm(step, axis=1), 1e-300)
            lam = max(float(np.max(dg / dx)), k)
            dtmax = 1.0 / np.sqrt(lam)  # a few steps per period of the stiffest mode
            dt = 0.1 * dtmax
        X, E, G = X1, E1, G1
        F, tau, fnow = _state(V, X, E, G, k, climb, per_atom)
    return X, E, G, F, tau, it, fnow, fnow <= fmax


def _lbfgs(V, X, E, G, k, climb, fmax, max_iter, per_atom, counter, memory: int = 20):
    """L-BFGS on the NEB force field (−F plays the gradient), safeguarded: every image moves at
    most ``maxstep``; a direction not along the force resets the memory; updates need sᵀy > 0."""
    F, tau, fnow = _state(V, X, E, G, k, climb, per_atom)
    spacing = float(np.mean(np.linalg.norm(np.diff(X, axis=0), axis=1)))
    maxstep = 0.2 * spacing
    S: list[np.ndarray] = []
    Y: list[np.ndarray] = []
    gamma = None
    it = 0
    while fnow > fmax and it < max_iter:
        it += 1
        g = -F.ravel()
        q = g.copy()
        alphas = []
        for s, y in zip(reversed(S), reversed(Y), strict=True):
            rho = 1.0 / float(y @ s)
            al = rho * float(s @ q)
            alphas.append((rho, al))
            q -= al * y
        h0 = gamma if gamma is not None else 0.01 * spacing / max(float(np.abs(g).max()), 1e-300)
        r = h0 * q
        for (s, y), (rho, al) in zip(zip(S, Y, strict=True), reversed(alphas), strict=True):
            be = rho * float(y @ r)
            r += s * (al - be)
        d = -r
        if float(d @ g) >= 0:  # not along the force: forget the curvature pairs
            S.clear()
            Y.clear()
            d = -h0 * g
        step = d.reshape(F.shape)
        big = np.linalg.norm(step, axis=1).max()
        if big > maxstep:
            step *= maxstep / big
        X1 = X.copy()
        X1[1:-1] += step
        E1, G1 = energies_forces(V, X1[1:-1], counter)
        E1 = np.concatenate([[E[0]], E1, [E[-1]]])
        G1 = np.concatenate([G[:1], G1, G[-1:]])
        F1, tau1, f1 = _state(V, X1, E1, G1, k, climb, per_atom)
        s = step.ravel()
        y = (-F1.ravel()) - g
        sy = float(s @ y)
        if sy > 1e-12 * float(np.linalg.norm(s) * np.linalg.norm(y)):
            S.append(s)
            Y.append(y)
            if len(S) > memory:
                S.pop(0)
                Y.pop(0)
            gamma = sy / float(y @ y)
        X, E, G, F, tau, fnow = X1, E1, G1, F1, tau1, f1
    return X, E, G, F, tau, it, fnow, fnow <= fmax


def _band_eval(V, X, step, E, G, k, climb, per_atom, counter):
    """The band with the moving images displaced by ``step``: energies, gradients and forces
    (one force call per moving image)."""
    X1 = X.copy()
    X1[1:-1] += step
    E1, G1 = energies_forces(V, X1[1:-1], counter)
    E1 = np.concatenate([[E[0]], E1, [E[-1]]])
    G1 = np.concatenate([G[:1], G1, G[-1:]])
    F1, tau1, f1 = _state(V, X1, E1, G1, k, climb, per_atom)
    return X1, E1, G1, F1, tau1, f1


def _spring_newton(F, tau, k, c):
    """Displacements along the tangents that cancel the spring forces of the linearised chain
    (ends and climbing image, row ``c`` of F or None, held): k (2d_i − d_{i−1} − d_{i+1}) =
    F_i·τ_i on each run of images between them, a tridiagonal solve."""
    m = len(F)
    fpar = np.sum(F * tau, axis=1)
    d = np.zeros(m)
    bounds = [-1, *([c] if c is not None else []), m]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        j = hi - lo - 1
        if j <= 0:
            continue
        M = 2.0 * np.eye(j) - np.eye(j, k=1) - np.eye(j, k=-1)
        d[lo + 1 : hi] = np.linalg.solve(k * M, fpar[lo + 1 : hi])
    return d


def _ode(V, X, E, G, k, climb, fmax, max_iter, per_atom, counter, rtol=0.2, omega=0.5, memory=5):
    """ODE12r (Makri, Ortner & Kermode, J. Chem. Phys. 150 (2019) 094109; ASE's ``ode12r``)
    while the band is far from the path, then Anderson acceleration of the same step.

    ODE12r: Euler steps X + h P(F) with h chosen from a first/second-order error estimate and
    a secant extrapolation, a step accepted only if the residual (the largest image force)
    shrinks or, within the error tolerance, grows at most twofold; a rejected step is counted
    and retried shorter. The preconditioner P keeps the perpendicular (and climbing) forces and
    replaces the spring forces along the path by ``w`` ≤ ``omega`` times the Newton step of the
    spring chain, so weak or stiff springs cost the same; ``w`` shrinks with every rejection
    (else a bad spring step could not be shortened) and recovers on acceptance.

    Anderson acceleration (Walker & Ni, SIAM J. Numer. Anal. 49 (2011) 1715), once the
    residual is below a fifth of the first band's: near the path the step map x ↦ x + hP(x)
    is nearly linear, and Anderson mixing of its last ``memory`` steps is then GMRES on it,
    so the slow modes (the images of weak curvature, which a single h must not overshoot on
    the stiff ones) converge superlinearly instead of at ODE12r's linear rate. Safeguards: a
    step whose residual more than doubles is rejected; a new climbing image empties the
    memory; two steps without a new lowest residual, or a rejection, return to ODE12r, and
    Anderson resumes only below half the residual it had reached."""
    C1, C2, hmin = 1e-2, 2.0, 1e-10
    spacing = float(np.mean(np.linalg.norm(np.diff(X, axis=0), axis=1)))
    maxstep = 2.0 * spacing  # no image jumps more than half a spacing in one step
    w = omega

    def direction(F, tau, E, h):
        c = int(np.argmax(E[1:-1])) if climb else None
        d = _spring_newton(F, tau, k, c)
        fpar = np.sum(F * tau, axis=1, keepdims=True)
        P = F - fpar * tau + (w / h) * d[:, None] * tau
        if c is not None:
            P[c] = F[c]
        return P

    F, tau, fnow = _state(V, X, E, G, k, climb, per_atom)
    h = max(0.5 * rtol**0.5 / max(fnow, 1e-300), hmin)
    switch = 0.2 * fnow  # Anderson below this residual
    anderson, fbest, stall, top = False, np.inf, 0, None
    xs: list[np.ndarray] = []  # Anderson's history: moving images and their steps h·P
    gs: list[np.ndarray] = []
    it = 0
    while fnow > fmax and it < max_iter:
        it += 1
        P = direction(F, tau, E, h)
        if anderson:
            c = int(np.argmax(E[1:-1]))
            if c != top:  # another map: the old differences do not describe it
                xs.clear()
                gs.clear()
            top = c
            x, g = X[1:-1].ravel(), h * P.ravel()
            xs, gs = [*xs, x][-memory - 1 :], [*gs, g][-memory - 1 :]
            step = g.copy()
            if len(xs) > 1:
                dX = np.diff(np.array(xs), axis=0).T
                dG = np.diff(np.array(gs), axis=0).T
                gamma = np.linalg.lstsq(dG, g, rcond=None)[0]
                step -= (dX + dG) @ gamma
            step = step.reshape(P.shape)
        else:
            step = h * P
        big = float(np.linalg.norm(step, axis=1).max())
        if big > maxstep:
            step *= maxstep / big
        X1, E1, G1, F1, tau1, f1 = _band_eval(V, X, step, E, G, k, climb, per_atom, counter)
        ok = bool(np.all(np.isfinite(F1)))
        if anderson:
            accept = ok and f1 <= C2 * fnow
            if accept:
                X, E, G, F, tau, fnow = X1, E1, G1, F1, tau1, f1
                fbest, stall = (fnow, 0) if fnow < fbest else (fbest, stall + 1)
            if not accept or stall >= 2:
                anderson = False
                switch = 0.5 * min(switch, fbest)
                xs.clear()
                gs.clear()
            continue
        P1 = direction(F1, tau1, E1, h)
        err = float(np.abs(0.5 * h * (P1 - P)).max())
        accept = ok and (f1 <= fnow * (1 - C1 * h) or (f1 <= C2 * fnow and err <= rtol))
        y = (P - P1).ravel()
        h_ls = h * float(P.ravel() @ y) / (float(y @ y) + 1e-10) if ok else np.inf
        if not np.isfinite(h_ls) or h_ls < hmin:
            h_ls = np.inf
        h_err = h * 0.5 * np.sqrt(rtol / err) if ok and err > 0 else 4 * h
        if accept:
            X, E, G, F, tau, fnow = X1, E1, G1, F1, tau1, f1
            h = max(0.25 * h, min(4 * h, h_err, h_ls))
            w = min(omega, 2.0 * w)
            if fnow <= switch:
                anderson, fbest, stall, top = True, fnow, 0, None
        else:
            h = max(0.1 * h, min(0.25 * h, h_err, h_ls))
            w *= 0.25
        if h <= hmin:
            break
    return X, E, G, F, tau, it, fnow, fnow <= fmax


def _finish(V, method, X, E, tau, counter, it, conv, fnow, climb, shift, verify, info) -> Path:
    tangents = np.zeros_like(X)
    tangents[1:-1] = tau
    # every interior local maximum of the energy along the band, refined by Newton
    maxima = [i for i in range(1, len(E) - 1) if E[i] >= E[i - 1] and E[i] >= E[i + 1]]
    top = int(np.argmax(E[1:-1])) + 1
    saddles: list[CriticalPoint] = []
    saddle: CriticalPoint | None = None
    for i in sorted(set(maxima) | {top}):
        try:
            cp = polish(V, X[i], counter)
        except Exception:
            continue
        if cp.kind == "saddle" and cp.index == 1:
            if all(np.linalg.norm(cp.x - s.x) > 1e-6 for s in saddles):
                saddles.append(cp)
            if i == top:
                saddle = cp
    if saddle is None and saddles:
        saddle = max(saddles, key=lambda s: s.energy)
    connects: tuple[CriticalPoint, CriticalPoint] | None = None
    if verify and saddle is not None:
        v = saddle.eigenvectors[:, 0]
        eps = 1e-3 * max(float(np.linalg.norm(X[-1] - X[0])), 1e-12)
        rate = abs(float(saddle.eigenvalues[0]))
        aside = Counter()  # the check is not part of the optimisation's cost
        ends = [
            descend(V, saddle.x + sgn * eps * v, aside, rate=rate, max_step=20 * eps)
            for sgn in (1.0, -1.0)
        ]
        info["verify_force_calls"] = aside.force_calls
        lo, hi = ends
        if lo is not None and hi is not None and lo.kind == hi.kind == "minimum":
            if np.linalg.norm(lo.x - X[0]) > np.linalg.norm(hi.x - X[0]):
                lo, hi = hi, lo
            connects = (lo, hi)
    top_e = saddle.energy if saddle is not None else float(E.max())
    return Path(
        images=X,
        energies=E,
        tangents=tangents,
        saddle=saddle,
        saddles=sorted(saddles, key=lambda s: float(np.linalg.norm(s.x - X[0]))),
        barrier_forward=float(top_e - E[0]),
        barrier_backward=float(top_e - E[-1]),
        force_calls=counter.force_calls,
        hessian_calls=counter.hessian_calls,
        iterations=it,
        converged=bool(conv),
        max_force=float(fnow),
        connects=connects,
        endpoint_shift=(float(shift[0]), float(shift[1])),
        method=method,
        info={**info, "climb": bool(climb)},
    )
