"""Ricci flow of a surface metric g = e^{2u} g₀ in its conformal class (sphere, torus, …).

On a surface Ric = K g, so Ricci flow g_t = −2K g keeps the conformal class and moves only the
conformal factor: u_t = −K = e^{−2u}(Δ₀u − K₀). The normalised flow u_t = K̄ − K (K̄ = 2πχ/A)
keeps the area. Both are gradient flows in L²(dA) (Hamilton, Contemp. Math. 71 (1988) 237–262;
Chow, J. Differential Geom. 33 (1991) 325–334; Struwe, Comment. Math. Helv. 77 (2002)):

    E_U(u) = ½∫|∇₀u|² dA₀ + ∫K₀ u dA₀                       (δE_U = ∫K φ dA),
    E_N(u) = E_U(u) − πχ log(∫e^{2u} dA₀ / A₀)              (δE_N = ∫(K − K̄) φ dA).

Gauss–Bonnet gives dA/dt = −2∫K dA = −4πχ: a round sphere loses area at 8π and vanishes at
A₀/(8π); the normalised flow drives K to the constant 4π/A on S² and to 0 on a torus.

Discretisation on a triangle mesh of g₀: the cotangent Laplacian L, vertex areas M and
K₀_i = (angle defect)_i / M_i, so that the discrete curvature K_i = e^{−2u_i}(K₀_i + (Lu)_i/M_i)
satisfies Σ K_i e^{2u_i} M_i = Σ defects = 2πχ exactly. The step works with the area factor
w = e^{2u}, whose flow w_t = −2(K₀ + M⁻¹Lu) + 2K̄w is linear in the time derivative; linearising
u = ½ log w about wⁿ gives one SPD solve per step for y = (wⁿ⁺¹ − wⁿ)/wⁿ,

    (M Wⁿ (1/τ − 2K̄) + L) y = −2(defect + L uⁿ) + 2K̄ M wⁿ,

and summing its rows shows Aⁿ⁺¹ = Aⁿ − 4πχτ (unnormalised) and Aⁿ⁺¹ = Aⁿ (normalised) exactly,
whatever τ. The step is capped at ``step_fraction`` of the time to extinction A/(4πχ).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._core.errors import FlowDiverged, ScenarioError
from .cotan import angle_defects, laplacian, vertex_areas
from .meshes import TriMesh
from .record import GeometricSolution, non_increasing


def conformal_curvature(mesh: TriMesh, u: Any, *, lengths: Any = None) -> np.ndarray:
    """K_i = e^{−2u_i}(K₀_i + (L u)_i / M_i) of the metric e^{2u} g₀ on the mesh's metric g₀."""
    u = np.asarray(u, dtype=float)
    M = vertex_areas(mesh, lengths)
    return np.exp(-2 * u) * (angle_defects(mesh, lengths) + laplacian(mesh, lengths) @ u) / M


def ricci_flow_surface(
    mesh: TriMesh,
    u0: Any = None,
    *,
    normalized: bool = False,
    t1: float | None = None,
    step: float | None = None,
    n_save: int = 20,
    step_fraction: float = 0.01,
    stop_area: float = 0.01,
    tol: float | None = None,
    lengths: Any = None,
) -> GeometricSolution:
    """Ricci flow of e^{2u} g₀ on a closed mesh (g₀ its induced metric, or ``lengths``).

    Args:
        mesh: a closed :class:`TriMesh` (its embedding gives g₀ unless ``lengths`` are given).
        u0: the initial conformal factor at the vertices (default 0: g = g₀).
        normalized: the area-preserving flow u_t = K̄ − K (else u_t = −K).
        t1: end time (default: 0.99 of the extinction time A/(4πχ) when χ > 0, else 1).
        step: the largest step (default t1/200).
        n_save: saved frames, equally spaced in time.
        step_fraction: the step never exceeds this fraction of A/(4π|χ|).
        stop_area: the unnormalised flow stops once A < stop_area · A(0).
        tol: stop (``converged``) once max|K − K̄| falls below.
        lengths: ``(F, 3)`` edge lengths of g₀ (opposite each corner) for an abstract metric.

    Returns:
        a :class:`GeometricSolution` whose energy is E_U or E_N, frames the conformal factors u,
        and diagnostics ``area``, ``gauss_bonnet_error`` (ΣK_i e^{2u_i}M_i − 2πχ), ``K_min``,
        ``K_max``, ``K_mean`` (= 2πχ/A) and ``K_deviation`` (max|K − K̄|).
    """
    if not isinstance(mesh, TriMesh):
        raise ScenarioError("mesh: expected a TriMesh (see steepest.geometry.meshes).", key="mesh")
    if not mesh.is_closed:
        raise ScenarioError(
            "mesh: Ricci flow of a conformal factor here is for closed surfaces; this mesh has "
            f"{len(mesh.boundary_loops)} boundary loop(s); flatten a disk with "
            "discrete_ricci_flow.",
            key="mesh",
        )
    n = mesh.n_vertices
    u = np.zeros(n) if u0 is None else np.array(u0, dtype=float)
    if u.shape != (n,) or not np.all(np.isfinite(u)):
        raise ScenarioError(
            f"u0: expected {n} finite values (one per vertex), got shape {u.shape}.", key="u0"
        )
    L = laplacian(mesh, lengths).tocsc()
    M = vertex_areas(mesh, lengths)
    defect = angle_defects(mesh, lengths)
    chi = mesh.euler_characteristic
    two_pi_chi = 2 * np.pi * chi
    A0 = float(M @ np.exp(2 * u))
    T_ext = A0 / (2 * two_pi_chi) if (chi > 0 and not normalized) else np.inf
    if t1 is None:
        t1 = 0.99 * T_ext if np.isfinite(T_ext) else 1.0
    t1 = _positive(t1, "t1")
    step = t1 / 200 if step is None else _positive(step, "step")
    A_ref = float(M.sum())

    def curvature(u):
        return np.exp(-2 * u) * (defect + L @ u) / M

    def energy(u):
        e = 0.5 * u @ (L @ u) + defect @ u
        if normalized:
            e -= 0.5 * two_pi_chi * np.log(float(M @ np.exp(2 * u)) / A_ref)
        return float(e)

    rec: dict[str, list] = {
        k: [] for k in ("t", "E", "A", "gb", "kmin", "kmax", "kbar", "dev", "u")
    }

    def save(t, u):
        w = np.exp(2 * u)
        K = curvature(u)
        A = float(M @ w)
        rec["t"].append(t)
        rec["E"].append(energy(u))
        rec["A"].append(A)
        rec["gb"].append(float(np.sum(K * w * M)) - two_pi_chi)
        rec["kmin"].append(float(K.min()))
        rec["kmax"].append(float(K.max()))
        rec["kbar"].append(two_pi_chi / A)
        rec["dev"].append(float(np.max(np.abs(K - two_pi_chi / A))))
        rec["u"].append(u.copy())

    save(0.0, u)
    save_times = list(np.linspace(0, t1, n_save + 1)[1:])
    t, k, steps = 0.0, 0, 0
    status, message = "done", f"reached t1 = {t1:g}"
    t_wall = time.perf_counter()
    while k < len(save_times):
        w = np.exp(2 * u)
        A = float(M @ w)
        kbar = two_pi_chi / A if normalized else 0.0
        tau = step
        if chi != 0:
            tau = min(tau, step_fraction * A / (2 * abs(two_pi_chi)))
        last = save_times[k] - t <= 1.01 * tau
        if last:
            tau = save_times[k] - t
        for _ in range(30):  # halve the step if w would lose positivity (never seen in tests)
            mat = sp.diags(M * w * (1 / tau - 2 * kbar)) + L
            rhs = -2 * (defect + L @ u) + 2 * kbar * M * w
            y = spla.spsolve(mat.tocsc(), rhs)
            if np.all(np.isfinite(y)) and np.min(y) > -0.5:
                break
            tau, last = tau / 2, False
        else:
            status, message = "non-finite", f"no step from t = {t:.6g} kept the metric positive"
            break
        u = u + 0.5 * np.log1p(y)
        t = save_times[k] if last else t + tau
        steps += 1
        if last:
            save(t, u)
            k += 1
        dev = np.max(np.abs(curvature(u) - two_pi_chi / float(M @ np.exp(2 * u))))
        if tol is not None and dev < tol:
            if not last:
                save(t, u)
            status, message = "converged", f"max|K − K̄| = {dev:.3g} < tol at t = {t:.6g}"
            break
        if not normalized and float(M @ np.exp(2 * u)) < stop_area * A0:
            if not last:
                save(t, u)
            status = "stopped-before-extinction"
            message = (
                f"stopped at t = {t:.6g} with area below {stop_area:g}·A(0), before extinction "
                f"at A(0)/(4πχ) = {T_ext:.6g}"
            )
            break
    wall = time.perf_counter() - t_wall
    tt = np.array(rec["t"])
    areas = np.array(rec["A"])
    E = np.array(rec["E"])
    expected_A = np.full_like(tt, A0) if normalized else A0 - 2 * two_pi_chi * tt
    checks = {
        "energy_non_increasing_at_saves": non_increasing(E, 1e-10),
        "gauss_bonnet_1e-10": bool(np.max(np.abs(rec["gb"])) < 1e-10),
        ("area_conserved" if normalized else "area_rate_is_4pi_chi"): bool(
            np.max(np.abs(areas - expected_A)) < 1e-9 * A0
        ),
    }
    sol = GeometricSolution(
        flow="normalized-ricci" if normalized else "ricci",
        energy_name="E_N = ½∫|∇u|² + ∫K₀u − πχ log(A/A₀)" if normalized else "E_U = ½∫|∇u|² + ∫K₀u",
        t=tt,
        energy=E,
        frames=np.array(rec["u"]),
        diagnostics={
            "area": areas,
            "gauss_bonnet_error": np.array(rec["gb"]),
            "K_min": np.array(rec["kmin"]),
            "K_max": np.array(rec["kmax"]),
            "K_mean": np.array(rec["kbar"]),
            "K_deviation": np.array(rec["dev"]),
        },
        status=status,
        message=message,
        checks=checks,
        stats={
            "steps": steps,
            "wall_time_s": wall,
            "euler_characteristic": chi,
            "extinction_time": T_ext,
            "vertices": n,
        },
        settings=dict(normalized=normalized, t1=t1, step=step, n_save=n_save, tol=tol),
        final=u,
        extra={"faces": mesh.faces, "vertices": mesh.vertices},
    )
    if status == "non-finite":
        raise FlowDiverged(
            f"Ricci flow: {message}; use a smaller step.",
            x=u,
            t=t,
            step=steps,
            reason="non-finite",
            solution=sol,
        )
    return sol


def _positive(v: Any, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v <= 0:
        raise ScenarioError(f"{key}: expected a positive number, got {v!r}.", key=key)
    return float(v)
