"""Discrete Ricci (Yamabe) flow on triangle meshes, and conformal flattening of disk-like meshes.

A discrete conformal factor u at the vertices rescales every edge, l_ij = e^{(u_i + u_j)/2} l⁰_ij
(Luo, Commun. Contemp. Math. 6 (2004) 765–780). The angle defects K_i(u) (2π − Σθ at interior,
π − Σθ at boundary vertices) satisfy Gauss–Bonnet Σ K_i = 2πχ for every u, and
∂K/∂u = L(u), the cotangent Laplacian of the current lengths (positive semi-definite; −L in the
sign convention where the Laplacian is negative). The flow u_t = K̄ − K towards a target
curvature K̄ (Σ K̄ = 2πχ) is the gradient flow of the convex energy of Springborn, Schröder &
Pinkall (ACM Trans. Graph. 27 (2008) 77, eq. (8); Bobenko, Pinkall & Springborn, Geom. Topol.
19 (2015) 2155–2215), written here with λ̃ = 2 log l,

    E(u) = Σ_faces 2 f(λ̃_jk, λ̃_ki, λ̃_ij) + Σ_i (c_i − π n_i − K̄_i) u_i,
    f(x, y, z) = ½(αx + βy + γz) + Л(α) + Л(β) + Л(γ),

(α, β, γ the angles opposite the edges x, y, z; Л Milnor's Lobachevsky function; n_i the number
of faces at i; c_i = 2π inside, π on the boundary), so that ∂E/∂u_i = K_i − K̄_i and the Hessian
is L. Triangles whose lengths break the triangle inequality get the angles (π, 0, 0), which keeps
E convex and C¹ (BPS 2015, §4). Newton's method with an Armijo line search on E (the flow's
limit, step = None) or implicit Euler steps of the flow (E + |u − uⁿ|²/2τ, Hessian L + I/τ)
converge from any start.

Conformal flattening: K̄ = 0 at interior vertices, and on the boundary either u = 0 (boundary
edge lengths kept) or a circle-like target K̄_i = 2π ℓ_i/P (ℓ_i half the two boundary edges at i,
P the perimeter). The flat metric is then laid out in the plane triangle by triangle
(:func:`layout`).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.special import zeta

from .._core.errors import ConvergenceError, ScenarioError
from .cotan import CotanAssembler
from .meshes import TriMesh, face_edge_lengths
from .record import GeometricSolution, non_increasing

_ZETA_TERMS = np.array([zeta(2 * k) / (k * (2 * k + 1)) for k in range(1, 41)])


def clausen2(x: Any) -> np.ndarray:
    """Clausen's function Cl₂(x) = −∫₀ˣ log|2 sin(t/2)| dt = Σ sin(kx)/k².

    Reduced to (−π, π] and summed as x − x log|x| + Σ_k ζ(2k) x^{2k+1} / (k(2k+1)(2π)^{2k})
    (Abramowitz & Stegun 27.8.2), 40 terms: round-off accuracy.
    """
    x = np.asarray(x, dtype=float)
    y = np.mod(x + np.pi, 2 * np.pi) - np.pi
    with np.errstate(divide="ignore", invalid="ignore"):
        out = y - y * np.log(np.abs(y))
    out = np.where(y == 0, 0.0, out)
    q = (y / (2 * np.pi)) ** 2
    term = y.copy()
    for c in _ZETA_TERMS:
        term = term * q
        out = out + c * term
    return out


def lobachevsky(theta: Any) -> np.ndarray:
    """Milnor's Lobachevsky function Л(θ) = −∫₀^θ log|2 sin t| dt = ½ Cl₂(2θ)."""
    return 0.5 * clausen2(2 * np.asarray(theta, dtype=float))


def _angles(ell: np.ndarray) -> np.ndarray:
    """Corner angles from opposite lengths ``(F, 3)``; (π, 0, 0) where a triangle degenerates."""
    l2 = ell**2
    s = -np.sort(-ell, axis=1)
    a, b, c = s[:, 0], s[:, 1], s[:, 2]
    q = (a + (b + c)) * (c - (a - b)) * (c + (a - b)) * (a + (b - c))
    ok = q > 0
    area4 = np.sqrt(np.where(ok, q, 1.0))  # 4·area (Kahan's Heron)
    ang = np.arctan2(area4[:, None], np.roll(l2, -1, axis=1) + np.roll(l2, 1, axis=1) - l2)
    if not ok.all():
        bad = ~ok
        longest = np.argmax(ell[bad], axis=1)
        deg = np.zeros((int(bad.sum()), 3))
        deg[np.arange(len(deg)), longest] = np.pi
        ang[bad] = deg
    return ang


class _Metric:
    """A mesh with base lengths l⁰ and the functions of u: lengths, angles, K, E, L."""

    def __init__(self, mesh: TriMesh, lengths: Any | None):
        self.mesh = mesh
        F = mesh.faces
        self.l0 = face_edge_lengths(mesh.vertices, F) if lengths is None else np.asarray(lengths)
        self.asm = CotanAssembler(mesh)
        n = mesh.n_vertices
        self.n_faces_at = np.bincount(F.ravel(), minlength=n)
        self.c = np.where(mesh.boundary_vertices, np.pi, 2 * np.pi)
        # corner k is opposite the edge (k+1, k+2)
        self.ea, self.eb = np.roll(F, -1, axis=1), np.roll(F, 1, axis=1)

    def lengths(self, u):
        return self.l0 * np.exp(0.5 * (u[self.ea] + u[self.eb]))

    def angles(self, u):
        return _angles(self.lengths(u))

    def curvature(self, u):
        ang = self.angles(u)
        theta = np.bincount(self.mesh.faces.ravel(), ang.ravel(), self.mesh.n_vertices)
        return self.c - theta

    def energy(self, u, target):
        ell = self.lengths(u)
        ang = _angles(ell)
        lam = 2 * np.log(ell)
        f = 0.5 * np.sum(ang * lam, axis=1) + np.sum(lobachevsky(ang), axis=1)
        return float(2 * f.sum() + np.dot(self.c - np.pi * self.n_faces_at - target, u))

    def hessian(self, u):
        ang = self.angles(u)
        with np.errstate(divide="ignore"):
            cot = np.where((ang > 1e-12) & (ang < np.pi - 1e-12), 1 / np.tan(ang), 0.0)
        return self.asm.laplacian(cot)


def layout(mesh: TriMesh, lengths: np.ndarray) -> np.ndarray:
    """Plane coordinates ``(V, 2)`` realising ``lengths`` ``(F, 3)`` (a flat metric on a disk).

    Breadth-first over faces: the first face is placed with its first edge on the x-axis, every
    next face across a shared edge gets its third vertex by intersecting two circles, on the side
    that keeps the faces' orientation.
    """
    F = mesh.faces
    n = mesh.n_vertices
    uv = np.full((n, 2), np.nan)
    he = {}
    for f in range(len(F)):
        for k in range(3):
            he[(F[f, k], F[f, (k + 1) % 3])] = f
    placed = np.zeros(len(F), bool)
    a, b, c = F[0]
    lab, lbc, lca = lengths[0, 2], lengths[0, 0], lengths[0, 1]
    uv[a] = (0.0, 0.0)
    uv[b] = (lab, 0.0)
    uv[c] = _third(uv[a], uv[b], lca, lbc)
    placed[0] = True
    queue = deque([0])
    while queue:
        f = queue.popleft()
        for k in range(3):
            i, j = F[f, k], F[f, (k + 1) % 3]
            g = he.get((j, i))
            if g is None or placed[g]:
                continue
            kk = int(np.nonzero(F[g] == j)[0][0])  # in g the edge runs j → i, then the third
            o = F[g, (kk + 2) % 3]
            # lengths of g: opposite corner m is lengths[g, m]; |j o| is opposite i, |o i| opp. j
            l_jo = lengths[g, (kk + 1) % 3]
            l_oi = lengths[g, kk]
            p = _third(uv[j], uv[i], l_jo, l_oi)
            if np.any(np.isnan(uv[o])):
                uv[o] = p
            placed[g] = True
            queue.append(g)
    return uv


def _third(p, q, l_rp, l_qr):
    """The point r left of p → q with |r − p| = l_rp and |r − q| = l_qr."""
    d = q - p
    L = np.hypot(*d)
    x = (l_rp**2 - l_qr**2 + L**2) / (2 * L)
    y = np.sqrt(max(l_rp**2 - x**2, 0.0))
    e = d / L
    return p + x * e + y * np.array([-e[1], e[0]])


def discrete_ricci_flow(
    mesh: TriMesh,
    target: Any = "flat",
    *,
    boundary: str = "fixed",
    step: float | None = None,
    u0: Any = None,
    tol: float = 1e-11,
    max_iter: int = 200,
    lengths: Any = None,
) -> GeometricSolution:
    """Drive the angle defects of a mesh to a target by the discrete Ricci (Yamabe) flow.

    Args:
        mesh: a :class:`TriMesh` (closed, or with boundary).
        target: ``"flat"`` (K̄ = 0 inside; on the boundary see ``boundary``) or an array of K̄
            per vertex with Σ K̄ = 2πχ (entries at ``fixed`` boundary vertices are ignored).
        boundary: ``"fixed"`` (u = 0 on the boundary: boundary lengths kept) or ``"circle"``
            (K̄_i = 2π ℓ_i / P on the boundary).
        step: None for Newton on E (each saved step one Newton iterate), or τ for implicit
            Euler steps of u_t = K̄ − K (each solved by Newton).
        u0: the initial conformal factor (default 0).
        tol: stop once max |K − K̄| over the free vertices falls below.
        max_iter: the most Newton iterates (or flow steps).
        lengths: ``(F, 3)`` base lengths l⁰ (default: those of the embedding).

    Returns:
        a :class:`GeometricSolution` with energy E(u), frames the iterates u, diagnostics
        ``curvature_error`` (max|K − K̄|), ``gauss_bonnet_error`` (ΣK − 2πχ), ``interior_angle_
        sum_error`` (max |Σθ − 2π| inside) and, for a flat target on a disk, ``extra["uv"]``:
        the flattened vertex positions, with ``stats["layout_length_error"]``.
    """
    if not isinstance(mesh, TriMesh):
        raise ScenarioError("mesh: expected a TriMesh (see steepest.geometry.meshes).", key="mesh")
    if boundary not in ("fixed", "circle"):
        raise ScenarioError(
            f"boundary: unknown boundary rule {boundary!r}; use 'fixed' or 'circle'.",
            key="boundary",
        )
    met = _Metric(mesh, lengths)
    n = mesh.n_vertices
    bnd = mesh.boundary_vertices
    chi = mesh.euler_characteristic
    if isinstance(target, str):
        if target != "flat":
            raise ScenarioError(
                f"target: expected 'flat' or curvatures per vertex, got {target!r}.", key="target"
            )
        if mesh.is_closed:
            raise ScenarioError(
                "target: a closed surface cannot be flat unless χ = 0; give target curvatures "
                "with Σ K̄ = 2πχ.",
                key="target",
            )
        Kt = np.zeros(n)
    else:
        Kt = np.array(target, dtype=float)
        if Kt.shape != (n,) or not np.all(np.isfinite(Kt)):
            raise ScenarioError(f"target: expected {n} finite curvatures.", key="target")
    fixed = bnd if (boundary == "fixed" and not mesh.is_closed) else np.zeros(n, bool)
    if boundary == "circle" and not mesh.is_closed and isinstance(target, str):
        loop = mesh.boundary_loops[0]
        P3 = mesh.vertices
        seg = np.linalg.norm(P3[np.roll(loop, -1)] - P3[loop], axis=1)
        ell = 0.5 * (seg + np.roll(seg, 1))
        Kt[loop] = 2 * np.pi * ell / seg.sum()
    if not fixed.any() and abs(Kt.sum() - 2 * np.pi * chi) > 1e-9:
        raise ScenarioError(
            f"target: the target curvatures sum to {Kt.sum():.6g}, but Gauss–Bonnet needs "
            f"Σ K̄ = 2πχ = {2 * np.pi * chi:.6g}.",
            key="target",
        )
    free = ~fixed
    u = np.zeros(n) if u0 is None else np.array(u0, dtype=float)
    # on a closed surface E(u + c) = E(u) (a global scaling): Newton steps keep the mean of u
    closed_gauge = not fixed.any()

    def full_energy(v, un):
        e = met.energy(v, Kt)
        if step is not None:
            e += np.sum((v - un)[free] ** 2) / (2 * step)
        return e

    frames, E, err, gb, ang_err = [], [], [], [], []

    def record(u):
        K = met.curvature(u)
        frames.append(u.copy())
        E.append(met.energy(u, Kt))
        err.append(float(np.max(np.abs(K - Kt)[free])))
        gb.append(float(K.sum() - 2 * np.pi * chi))
        inner = ~bnd
        ang_err.append(float(np.max(np.abs(K[inner]))) if inner.any() else 0.0)

    record(u)
    status, message = "max-iterations", f"stopped after max_iter = {max_iter}"
    t_wall = time.perf_counter()
    idx = np.nonzero(free)[0]
    for _it in range(max_iter):
        if err[-1] < tol:
            status, message = "converged", f"max|K − K̄| = {err[-1]:.2e} < tol = {tol:g}"
            break
        un = u.copy()
        # one Newton solve per Newton iterate (a flow step may take several)
        for _inner in range(50):
            g = (met.curvature(u) - Kt)[idx]
            if step is not None:
                g = g + (u - un)[idx] / step
            H = met.hessian(u)[idx][:, idx]
            if step is not None:
                H = H + sp.identity(len(idx)) / step
            elif closed_gauge:
                H = H + sp.identity(len(idx)) * 1e-12 * abs(H.diagonal()).max()
            d = -spla.spsolve(H.tocsc(), g)
            if closed_gauge:
                d -= d.mean()
            e0 = full_energy(u, un)
            slope = float(g @ d)
            # near the solution the predicted decrease falls below the round-off of E itself,
            # and Armijo on E alone would halve good Newton steps; there a step is accepted when
            # it lowers the residual instead
            roundoff = 64 * np.finfo(float).eps * max(abs(e0), 1.0)
            g_norm = float(np.max(np.abs(g)))
            s = 1.0
            while s > 1e-12:
                v = u.copy()
                v[idx] += s * d
                if full_energy(v, un) <= e0 + 1e-4 * s * slope:
                    break
                if -s * slope <= roundoff:
                    gv = (met.curvature(v) - Kt)[idx]
                    if step is not None:
                        gv = gv + (v - un)[idx] / step
                    if float(np.max(np.abs(gv))) < g_norm:
                        break
                s *= 0.5
            u = v
            if step is None or np.max(np.abs(g)) < tol:
                break
        record(u)
    wall = time.perf_counter() - t_wall
    if status != "converged" and err[-1] < tol:
        status, message = "converged", f"max|K − K̄| = {err[-1]:.2e} < tol = {tol:g}"
    ell = met.lengths(u)
    extra: dict[str, Any] = {"faces": mesh.faces, "vertices": mesh.vertices, "target": Kt}
    stats: dict[str, Any] = {"iterations": len(frames) - 1, "wall_time_s": wall}
    if isinstance(target, str) and chi == 1:
        uv = layout(mesh, ell)
        laid = face_edge_lengths(np.column_stack([uv, np.zeros(n)]), mesh.faces)
        P = uv[mesh.faces]
        cross = (P[:, 1, 0] - P[:, 0, 0]) * (P[:, 2, 1] - P[:, 0, 1]) - (
            P[:, 1, 1] - P[:, 0, 1]
        ) * (P[:, 2, 0] - P[:, 0, 0])
        extra["uv"] = uv
        stats["layout_length_error"] = float(np.max(np.abs(laid - ell) / ell))
        stats["layout_flipped_faces"] = int(np.sum(cross <= 0))
    diagnostics = {
        "curvature_error": np.array(err),
        "gauss_bonnet_error": np.array(gb),
        "interior_angle_sum_error": np.array(ang_err),
    }
    checks = {
        "energy_non_increasing": non_increasing(E, 1e-12),
        "gauss_bonnet_1e-10": bool(np.max(np.abs(gb)) < 1e-10),
        "converged": status == "converged",
    }
    if "uv" in extra:
        checks["layout_consistent_1e-8"] = stats["layout_length_error"] < 1e-8
        checks["layout_no_flipped_faces"] = stats["layout_flipped_faces"] == 0
    sol = GeometricSolution(
        flow="discrete-ricci",
        energy_name="Springborn–Schröder–Pinkall energy E(u) (∇E = K − K̄)",
        t=np.arange(len(frames), dtype=float) * (step if step is not None else 1.0),
        energy=np.array(E),
        frames=np.array(frames),
        diagnostics=diagnostics,
        status=status,
        message=message,
        checks=checks,
        stats=stats,
        settings=dict(boundary=boundary, step=step, tol=tol, max_iter=max_iter),
        final=u,
        extra=extra,
    )
    if status != "converged" and step is None:
        raise ConvergenceError(
            f"discrete Ricci flow: Newton reached max|K − K̄| = {err[-1]:.3g} after {max_iter} "
            f"iterations (tol {tol:g}); the target may not be realisable — check Σ K̄ = 2πχ.",
            result=sol,
        )
    return sol
