"""Rotationally symmetric Ricci flow on S³ (and on S¹ × S²): round shrinking and neck pinches.

A metric g = ds² + ψ(s)² g_{S²} on S³ (s the arc length from pole to pole, ψ(0) = ψ(L) = 0)
moves under Ricci flow g_t = −2 Ric by (Angenent & Knopf, Math. Res. Lett. 11 (2004) 493–518)

    ψ_t = ψ_ss − (1 − ψ_s²)/ψ,      with [∂_t, ∂_s] = −2(ψ_ss/ψ) ∂_s,

because lengths change: ∂_t(ds) = 2(ψ_ss/ψ) ds. Sectional curvatures: K_rad = −ψ_ss/ψ on the
planes containing ∂_s, K_tan = (1 − ψ_s²)/ψ² on the S² planes; R = 4K_rad + 2K_tan. A round
sphere of radius r shrinks as r² = r0² − 4t; a cylinder R × S² of radius ψ as ψ² = ψ0² − 2t; a
dumbbell whose neck is thin enough pinches there (a Type-I neck pinch, ψ_min² ≈ 2(T − t)) while
its bulbs stay large; a nearly round sphere shrinks to a round point (Hamilton 1982).

The profile is kept on a uniform grid in normalised arc length σ = s/L ∈ [0, 1], so the grid
follows the metric (no clustering of points where lengths grow): at fixed σ,

    ψ_t = ψ_ss − (1 − ψ_s²)/ψ − ψ_s (J(s) − σ J(L)),    L_t = J(L),    J(s) = ∫₀ˢ 2ψ_ss/ψ ds′,

(the last term is the diffeomorphism that keeps σ uniform). Cell centres σ_j = (j + ½)/N with
odd reflection at the poles (ψ ↦ −ψ, so ψ_s is continuous through them) or periodic wrap for
S¹ × S². Time: the two-stage L-stable Rosenbrock method ROS2 (Verwer, Spee, Blom & Hundsdorfer,
SIAM J. Sci. Comput. 20 (1999) 1456–1480), second order, with the exact Jacobian (jax.jacfwd)
and the step τ = min(step, step_fraction / max|K|): the flow's own time scale.

Energy: Ricci flow is the gradient flow of Perelman's λ(g), the least eigenvalue of −4Δ + R,
which never decreases (Perelman 2002, §2); the flow reports −λ (non-increasing) at every saved
step, computed from the warped Sturm–Liouville problem −4ψ⁻²(ψ²φ_s)_s + Rφ = λφ.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import lu_factor, lu_solve

from .._core.errors import FlowDiverged, ScenarioError
from .record import GeometricSolution, non_increasing

_RUNNING, _PINCHED, _SHRUNK, _NONFINITE, _MAX_STEPS, _STALLED = 0, 1, 2, 3, 4, 5
_GAMMA = 1 + 1 / np.sqrt(2)


def _ghost(psi, periodic):
    if periodic:
        return jnp.concatenate([psi[-1:], psi, psi[:1]])
    return jnp.concatenate([-psi[:1], psi, -psi[-1:]])


def _derivatives(psi, L, periodic):
    """ψ_s at the faces, ψ_ss and ψ_s² at the cells (grid spacing L/N)."""
    N = psi.shape[0]
    ds = L / N
    g = _ghost(psi, periodic)
    face = (g[1:] - g[:-1]) / ds  # N + 1 faces
    pss = (face[1:] - face[:-1]) / ds
    ps2 = face[1:] * face[:-1]  # even through the poles, O(ds²)
    ps = 0.5 * (face[1:] + face[:-1])
    return face, ps, pss, ps2, ds


def curvatures(psi, L, periodic=False):
    """(K_rad, K_tan, R) at the cells."""
    _, _, pss, ps2, _ = _derivatives(psi, L, periodic)
    krad = -pss / psi
    ktan = (1 - ps2) / psi**2
    return krad, ktan, 4 * krad + 2 * ktan


def _rhs(y, periodic):
    psi, L = y[:-1], y[-1]
    N = psi.shape[0]
    _, ps, pss, ps2, ds = _derivatives(psi, L, periodic)
    q = 2 * pss / psi
    Jf = jnp.concatenate([jnp.zeros(1, y.dtype), jnp.cumsum(q) * ds])  # J at the faces
    Jc = Jf[:-1] + 0.5 * q * ds
    sigma = (jnp.arange(N) + 0.5) / N
    dpsi = pss - (1 - ps2) / psi - ps * (Jc - sigma * Jf[-1])
    return jnp.concatenate([dpsi, Jf[-1:]])


@partial(jax.jit, static_argnames=("periodic",))
def _run(y0, save_times, step, step_fraction, pinch_ratio, shrink_ratio, max_steps, *, periodic):
    f = partial(_rhs, periodic=periodic)
    jac = jax.jacfwd(f)
    n = y0.shape[0]
    eye = jnp.eye(n, dtype=y0.dtype)
    psi_max0 = jnp.max(y0[:-1])

    def kmax(y):
        kr, kt, _ = curvatures(y[:-1], y[-1], periodic)
        return jnp.max(jnp.maximum(jnp.abs(kr), jnp.abs(kt)))

    def neck(psi):
        # the thinnest interior local minimum of ψ (∞ when ψ has none: no neck)
        inner = psi[1:-1]
        is_min = (inner < psi[:-2]) & (inner <= psi[2:])
        if periodic:
            return jnp.min(psi)
        return jnp.min(jnp.where(is_min, inner, jnp.inf))

    def ros2(y, tau):
        lu = lu_factor(eye - _GAMMA * tau * jac(y))
        k1 = lu_solve(lu, f(y))
        k2 = lu_solve(lu, f(y + tau * k1) - 2 * k1)
        return y + tau * (1.5 * k1 + 0.5 * k2)

    def advance(state, t_save):
        def cond(s):
            return (s["status"] == _RUNNING) & (s["t"] < t_save)

        def body(s):
            tau = jnp.minimum(step, step_fraction / kmax(s["y"]))
            last = t_save - s["t"] <= 1.01 * tau
            tau = jnp.where(last, t_save - s["t"], tau)
            y_new = ros2(s["y"], tau)
            psi = y_new[:-1]
            finite = jnp.all(jnp.isfinite(y_new)) & jnp.all(psi > 0)
            pmax = jnp.max(psi)
            status = jnp.select(
                [
                    ~finite,
                    # a neck thinner than pinch_ratio · max ψ, or than three cells (beyond
                    # that the grid no longer resolves its curvature 1/ψ² and the run is over)
                    (neck(psi) < pinch_ratio * pmax)
                    | (neck(psi) < (0 if periodic else 3) * y_new[-1] / psi.shape[0]),
                    pmax < shrink_ratio * psi_max0,
                    tau < 1e-14 * (1 + s["t"]),
                    s["n"] + 1 >= max_steps,
                ],
                [jnp.int32(k) for k in (_NONFINITE, _PINCHED, _SHRUNK, _STALLED, _MAX_STEPS)],
                jnp.int32(_RUNNING),
            )
            return {
                "y": jnp.where(finite, y_new, s["y"]),
                "t": jnp.where(finite, jnp.where(last, t_save, s["t"] + tau), s["t"]),
                "n": s["n"] + 1,
                "status": status,
            }

        state = jax.lax.while_loop(cond, body, state)
        return state, state

    init = {
        "y": y0,
        "t": jnp.zeros((), y0.dtype),
        "n": jnp.zeros((), jnp.int32),
        "status": jnp.zeros((), jnp.int32),
    }
    _, out = jax.lax.scan(advance, init, save_times)
    return out


def perelman_lambda(psi: np.ndarray, L: float, periodic: bool = False) -> float:
    """λ(g): the least eigenvalue of −4Δ + R on the warped metric (cell-centred, Neumann poles)."""
    from scipy.linalg import eigh_tridiagonal

    psi = np.asarray(psi, dtype=float)
    N = len(psi)
    ds = L / N
    _, _, R = (np.asarray(a) for a in curvatures(jnp.asarray(psi), L, periodic))
    w = psi**2 * ds  # ∝ volume of each cell (4π dropped)
    s = 1 / np.sqrt(w)
    if periodic:  # S¹ × S²: the faces wrap round, a small dense symmetric problem
        from scipy.linalg import eigh

        wf = 0.5 * (psi**2 + np.roll(psi, -1) ** 2) / ds  # face j + ½
        A = np.diag(R * w + 4 * wf + 4 * np.roll(wf, 1))
        j = np.arange(N)
        A[j, (j + 1) % N] -= 4 * wf
        A[(j + 1) % N, j] -= 4 * wf
        return float(eigh(s[:, None] * A * s[None, :], eigvals_only=True)[0])
    wf = 0.5 * (psi[1:] ** 2 + psi[:-1] ** 2) / ds  # interior faces; the poles carry ψ² = 0
    diag = R * w
    diag[:-1] += 4 * wf
    diag[1:] += 4 * wf
    off = -4 * wf
    vals = eigh_tridiagonal(
        diag * s * s, off * s[:-1] * s[1:], eigvals_only=True, select="i", select_range=(0, 0)
    )
    return float(np.asarray(vals).ravel()[0])


# -- initial profiles --------------------------------------------------------------------------


def round_profile(s: Any, radius: float = 1.0) -> np.ndarray:
    """ψ = r sin(s/r): the round S³ of radius r (length πr)."""
    return radius * np.sin(np.asarray(s) / radius)


def dumbbell_profile(s: Any, neck: float = 0.2, width: float = 0.3) -> np.ndarray:
    """ψ = sin s · (1 − (1 − neck) e^{−((s − π/2)/width)²}) on [0, π]: two bulbs and a thin neck."""
    s = np.asarray(s, dtype=float)
    return np.sin(s) * (1 - (1 - neck) * np.exp(-(((s - np.pi / 2) / width) ** 2)))


def ricci_flow_s3(
    profile: Any = "round",
    *,
    n: int = 200,
    length: float | None = None,
    periodic: bool = False,
    t1: float | None = None,
    step: float = 1e-3,
    step_fraction: float = 0.02,
    n_save: int = 40,
    pinch_ratio: float = 0.02,
    shrink_ratio: float = 0.1,
    max_steps: int = 2_000_000,
) -> GeometricSolution:
    """Ricci flow of a rotationally symmetric metric ds² + ψ(s)² g_{S²} on S³ (or S¹ × S²).

    Args:
        profile: ``"round"``, ``"dumbbell"``, ``"near-round"`` (sin s (1 + 0.2 sin²s cos s)), a
            callable ψ(s) on [0, length], or ``n`` values at the cell centres.
        n: grid cells in arc length.
        length: the pole-to-pole length L (default π), or the period of S¹ × S².
        periodic: S¹ × S² (no poles) instead of S³.
        t1: end time (default 1).
        step, step_fraction: τ = min(step, step_fraction / max|K|).
        n_save: saved frames, equally spaced in time.
        pinch_ratio: stop (``pinched``) once a neck is thinner than this fraction of max ψ.
        shrink_ratio: stop (``shrunk``) once max ψ falls below this fraction of its start.
        max_steps: a hard cap on the number of steps.

    Returns:
        a :class:`GeometricSolution` with energy −λ(g) (Perelman),
        frames the profiles ψ, and diagnostics ``length`` L, ``psi_max``, ``neck`` (thinnest
        interior minimum of ψ), ``volume`` (4π∫ψ² ds), ``K_max``, ``K_min`` and ``pinching``
        (min K / max K over all sectional curvatures).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 8:
        raise ScenarioError(f"n: expected an integer number of cells ≥ 8, got {n!r}.", key="n")
    L0 = np.pi if length is None else float(length)
    if not (np.isfinite(L0) and L0 > 0):
        raise ScenarioError(f"length: expected a positive length, got {length!r}.", key="length")
    s = (np.arange(n) + 0.5) / n * L0
    named = {
        "round": lambda s: round_profile(s, L0 / np.pi),
        "dumbbell": lambda s: dumbbell_profile(s * np.pi / L0) * L0 / np.pi,
        "near-round": lambda s: np.sin(s) * (1 + 0.2 * np.sin(s) ** 2 * np.cos(s)),
    }
    if isinstance(profile, str):
        if profile not in named:
            raise ScenarioError(
                f"profile: unknown profile {profile!r}; use {', '.join(named)}, a function of s "
                "or an array.",
                key="profile",
            )
        psi0 = named[profile](s)
    elif callable(profile):
        psi0 = np.asarray(profile(s), dtype=float)
    else:
        psi0 = np.asarray(profile, dtype=float)
    if psi0.shape != (n,) or not np.all(np.isfinite(psi0)) or np.any(psi0 <= 0):
        raise ScenarioError(
            f"profile: expected {n} finite positive radii ψ at the cell centres, got shape "
            f"{psi0.shape}; ψ must stay positive between the poles.",
            key="profile",
        )
    if not periodic:
        ds = L0 / n
        slope = psi0[0] / (0.5 * ds)
        if abs(slope - 1) > 0.05:
            raise ScenarioError(
                f"profile: a smooth metric on S³ needs ψ_s = 1 at the poles (ψ ≈ s), but "
                f"ψ(s)/s = {slope:.3g} near s = 0; a cone point would form.",
                key="profile",
            )
    t1 = 1.0 if t1 is None else float(t1)
    save_times = np.linspace(0, t1, n_save + 1)[1:]
    y0 = np.concatenate([psi0, [L0]])
    t_wall = time.perf_counter()
    out = jax.device_get(
        _run(
            jnp.asarray(y0),
            jnp.asarray(save_times),
            float(step),
            float(step_fraction),
            float(pinch_ratio),
            float(shrink_ratio),
            int(max_steps),
            periodic=bool(periodic),
        )
    )
    wall = time.perf_counter() - t_wall
    status = np.asarray(out["status"])
    stopped = np.nonzero(status != _RUNNING)[0]
    last = int(stopped[0]) if len(stopped) else len(status) - 1
    code = int(status[last])
    Y = np.concatenate([y0[None], out["y"][: last + 1]])
    t = np.concatenate([[0.0], out["t"][: last + 1]])
    psi, Ls = Y[:, :-1], Y[:, -1]
    diag: dict[str, list] = {k: [] for k in ("neck", "volume", "kmax", "kmin", "lam")}
    for p, L in zip(psi, Ls, strict=True):
        kr, kt, _ = (np.asarray(a) for a in curvatures(jnp.asarray(p), L, periodic))
        inner = p[1:-1]
        mins = inner[(inner < p[:-2]) & (inner <= p[2:])]
        diag["neck"].append(float(p.min()) if periodic else float(mins.min(initial=np.inf)))
        diag["volume"].append(float(4 * np.pi * np.sum(p**2) * L / n))
        allk = np.concatenate([kr, kt])
        diag["kmax"].append(float(allk.max()))
        diag["kmin"].append(float(allk.min()))
        diag["lam"].append(perelman_lambda(p, L, periodic))
    energy = -np.array(diag["lam"])
    diagnostics = {
        "length": Ls,
        "psi_max": psi.max(axis=1),
        "neck": np.array(diag["neck"]),
        "volume": np.array(diag["volume"]),
        "K_max": np.array(diag["kmax"]),
        "K_min": np.array(diag["kmin"]),
        "pinching": np.array(diag["kmin"]) / np.array(diag["kmax"]),
    }
    checks = {
        "radii_positive": bool(np.all(psi > 0)),
        "perelman_lambda_non_decreasing": non_increasing(energy, 1e-8),
    }
    name, message = {
        _RUNNING: ("done", f"reached t1 = {t1:g}"),
        _PINCHED: (
            "pinched",
            f"a neck pinched (ψ_neck = {diag['neck'][-1]:.3g}, below {pinch_ratio:g}·max ψ or "
            f"three cells) at t = {t[-1]:.6g} while the bulbs kept radius {psi[-1].max():.3g}",
        ),
        _SHRUNK: (
            "shrunk",
            f"max ψ fell below {shrink_ratio:g} of its start at t = {t[-1]:.6g}: shrinking to a "
            "point",
        ),
        _STALLED: ("stalled", f"the step fell to round-off at t = {t[-1]:.6g}: a singularity"),
        _MAX_STEPS: ("max-steps", f"stopped after max_steps = {max_steps} steps"),
        _NONFINITE: ("non-finite", f"a step after t = {t[-1]:.6g} was not finite"),
    }[code]
    sol = GeometricSolution(
        flow="ricci-s1xs2" if periodic else "ricci-s3",
        energy_name="−λ(g), Perelman's least eigenvalue of −4Δ + R",
        t=t,
        energy=energy,
        frames=psi,
        diagnostics=diagnostics,
        status=name,
        message=message,
        checks=checks,
        stats={"steps": int(np.asarray(out["n"])[last]), "wall_time_s": wall, "cells": n},
        settings=dict(n=n, length=L0, periodic=periodic, t1=t1, step=step),
        final=psi[-1],
        extra={"sigma": (np.arange(n) + 0.5) / n},
    )
    if code == _NONFINITE:
        raise FlowDiverged(
            f"Ricci flow on S³: {message}; lower step_fraction or use more cells.",
            x=psi[-1],
            t=float(t[-1]),
            reason="non-finite",
            solution=sol,
        )
    return sol
